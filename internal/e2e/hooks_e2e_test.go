//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/state"
)

// TestHooksArgoCD and TestHooksFlux release with a beforeDeploy migration
// and an afterDeploy test hook, run as Jobs by the real Job controller
// (kwok plays the kubelet: a pod exits 1 when its command has the argument
// kubetest-exit-1, else 0). First both pass and the release goes live with
// the test hook in its evidence; then the migration fails: the new color
// never gets a pod and the release is aborted; then the test hook fails:
// aborted too, the failure quoted and recorded.
func TestHooksArgoCD(t *testing.T) { hooksScenario(t, argoCDScenario(t)) }
func TestHooksFlux(t *testing.T)   { hooksScenario(t, fluxScenario(t, false)) }

func hooksScenario(t *testing.T, s *scenario) {
	t.Helper()
	hooks := func(migrate, ping string) {
		cfg := gitopstest.Files(t, s.authURL, "main", "apps/myapp")["bgrender.yaml"]
		if i := strings.Index(cfg, "hooks:\n"); i >= 0 {
			cfg = cfg[:i]
		}
		cfg += "hooks:\n- {name: migrate, when: beforeDeploy, command: [" + migrate + "]}\n- {name: ping, when: afterDeploy, command: [" + ping + "], activeDeadlineSeconds: 60}\n"
		gitopstest.Seed(t, s.authURL, "main", map[string]string{"apps/myapp/bgrender.yaml": cfg}, "myapp: hooks")
	}
	gw := []string{"--gateway-url", s.traffic.GatewayURL, "--poll-interval", "200ms"}
	failedRelease := func(version, want string) {
		t.Helper()
		stderr := s.bgFail(append([]string{"release", "--version", version}, gw...)...)
		for _, w := range []string{want, "aborted", "failed"} {
			if !strings.Contains(stderr, w) {
				t.Errorf("release %s does not say %q:\n%s", version, w, stderr)
			}
		}
		s.assertCluster("after " + version + "'s failed hook")
	}

	hooks("npm, run, migrate", "npm, run, ping")
	s.bg(0, append([]string{"release", "--version", "v1"}, gw...)...)
	st, err := state.Parse(state.FileName, []byte(gitopstest.Files(t, s.authURL, "main", "apps/myapp")[state.FileName]))
	if err != nil {
		t.Fatal(err)
	}
	if st.Active == nil || st.Active.Promotion == nil || st.Active.Promotion.Evidence == nil || strings.Join(st.Active.Promotion.Evidence.Hooks, ",") != "ping#1" || !st.Active.Passed("migrate") {
		t.Fatalf("v1 does not record its hooks: %+v", st.Active)
	}
	s.assertCluster("after release v1 with hooks")

	hooks("npm, run, migrate, kubetest-exit-1", "npm, run, ping")
	failedRelease("v2", "hook migrate failed")
	for _, c := range gitopstest.Log(t, s.authURL, "main")[:4] {
		if strings.Contains(c.Message, "start the pods") || strings.Contains(c.Message, "route the test route") {
			t.Errorf("v2's pods were started or routed after its migration failed: %s", c.Message)
		}
	}

	hooks("npm, run, migrate", "npm, run, ping, kubetest-exit-1")
	failedRelease("v3", "hook ping failed")
	found := false
	for _, c := range gitopstest.Log(t, s.authURL, "main")[:6] {
		if strings.Contains(c.Message, "hook ping failed") {
			found = true
		}
	}
	if !found {
		t.Errorf("no commit records the failed test hook")
	}
}
