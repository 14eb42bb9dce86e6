//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/state"
)

// TestHooksArgoCD and TestHooksFlux release with two afterDeploy hooks, run
// as Jobs by the real Job controller (kwok plays the kubelet: a pod exits 1
// when its command has the argument kubetest-exit-1, else 0): first both
// pass and the release goes live with them in its evidence; then the test
// hook fails and the release is aborted, the failure quoted and recorded.
func TestHooksArgoCD(t *testing.T) { hooksScenario(t, argoCDScenario(t)) }
func TestHooksFlux(t *testing.T)   { hooksScenario(t, fluxScenario(t, false)) }

func hooksScenario(t *testing.T, s *scenario) {
	t.Helper()
	hooks := func(ping string) {
		cfg := gitopstest.Files(t, s.authURL, "main", "apps/myapp")["bgrender.yaml"]
		if i := strings.Index(cfg, "hooks:\n"); i >= 0 {
			cfg = cfg[:i]
		}
		cfg += "hooks:\n- {name: migrate, when: afterDeploy, command: [npm, run, migrate]}\n- {name: ping, when: afterDeploy, command: [" + ping + "], activeDeadlineSeconds: 60}\n"
		gitopstest.Seed(t, s.authURL, "main", map[string]string{"apps/myapp/bgrender.yaml": cfg}, "myapp: hooks")
	}
	gw := []string{"--gateway-url", s.traffic.GatewayURL, "--poll-interval", "200ms"}
	hooks("npm, run, ping")
	s.bg(0, append([]string{"release", "--version", "v1"}, gw...)...)
	st, err := state.Parse(state.FileName, []byte(gitopstest.Files(t, s.authURL, "main", "apps/myapp")[state.FileName]))
	if err != nil {
		t.Fatal(err)
	}
	if st.Active == nil || st.Active.Promotion == nil || st.Active.Promotion.Evidence == nil || strings.Join(st.Active.Promotion.Evidence.Hooks, ",") != "migrate#1,ping#1" {
		t.Fatalf("v1's evidence does not name its hooks: %+v", st.Active)
	}
	s.assertCluster("after release v1 with hooks")

	hooks("npm, run, ping, kubetest-exit-1")
	stderr := s.bgFail(append([]string{"release", "--version", "v2"}, gw...)...)
	t.Logf("release v2:\n%s", stderr)
	for _, want := range []string{"hook ping failed", "aborted"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("release v2 does not say %q", want)
		}
	}
	s.assertCluster("after v2's failed hook")
	log := gitopstest.Log(t, s.authURL, "main")
	found := false
	for _, c := range log[:6] {
		if strings.Contains(c.Message, "hook ping failed") {
			found = true
		}
	}
	if !found {
		t.Errorf("no commit records the failed hook")
	}
}
