//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// brokenTemplate is the scaffold's Deployment template with pods that never
// become Ready (kwok's stages read the annotation) and a short progress
// deadline: the deployment controller itself declares the rollout failed.
func brokenTemplate(t *testing.T, s *scenario) {
	t.Helper()
	const path = "apps/myapp/per-color/deployment.yaml"
	tmpl := gitopstest.Files(t, s.authURL, "main", "apps/myapp")["per-color/deployment.yaml"]
	edited := strings.Replace(tmpl, "spec:\n  replicas: 1\n", "spec:\n  replicas: 1\n  progressDeadlineSeconds: 5\n", 1)
	edited = strings.Replace(edited, "  template:\n    metadata:\n      labels:\n", "  template:\n    metadata:\n      annotations:\n        kubetest.bgrender.dev/ready: \"false\"\n      labels:\n", 1)
	if edited == tmpl || strings.Count(edited, "kubetest.bgrender.dev/ready") != 1 || !strings.Contains(edited, "progressDeadlineSeconds: 5") {
		t.Fatalf("the scaffold's template changed shape; edit it here too:\n%s", tmpl)
	}
	gitopstest.Seed(t, s.authURL, "main", map[string]string{path: edited}, "myapp: a template whose pods never become Ready")
}

// stuckRollout deploys v1 with the broken template and checks that wait
// stops well before its timeout with the controller's own words for the
// Deployment's ProgressDeadlineExceeded, and that nothing was promoted.
func stuckRollout(t *testing.T, s *scenario, want ...string) {
	t.Helper()
	brokenTemplate(t, s)
	s.bg(0, "deploy", "--version", "v1", "--no-wait")
	start := time.Now()
	stderr := s.bgFail("wait", "--timeout", "3m")
	took := time.Since(start)
	t.Logf("wait stopped after %s:\n%s", took.Round(time.Millisecond), stderr)
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("wait's error lacks %q:\n%s", w, stderr)
		}
	}
	if took > 2*time.Minute {
		t.Errorf("wait took %s: it waited for its timeout instead of the controller's verdict", took)
	}
	// The failed wait changed nothing: v1 is still under test, nothing live.
	var st statusJSON
	if err := json.Unmarshal([]byte(s.bg(0, "-o", "json", "status")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Active != nil || st.Test == nil || st.Test.Version != "v1" {
		t.Errorf("status after the stuck rollout: %+v", st)
	}
}

// TestStuckRolloutArgoCD: pods that never become Ready make the deployment
// controller report ProgressDeadlineExceeded; Argo CD calls the app
// Degraded, and bgrender's wait stops with its message.
func TestStuckRolloutArgoCD(t *testing.T) {
	s := argoCDScenario(t)
	stuckRollout(t, s, "Degraded", `Deployment "myapp-blue" exceeded its progress deadline`)
}

// TestStuckRolloutFlux: the same under Flux, whose health check sees the
// Deployment fail and marks the Kustomization not Ready; bgrender adds why,
// in the deployment controller's words.
func TestStuckRolloutFlux(t *testing.T) {
	s := fluxScenario(t, true)
	stuckRollout(t, s, "HealthCheckFailed", "Deployment default/myapp-blue: ProgressDeadlineExceeded: ")
}

// TestStuckDeletionArgoCD: a finalizer that never clears keeps the
// decommissioned color's Deployment deleting, and Argo CD reports the app
// OutOfSync and the Deployment "Pending deletion" for as long as it stays.
// wait reads the live object, names the finalizer, and stops once the
// deletion has lasted --stuck-deletion instead of running into its timeout.
func TestStuckDeletionArgoCD(t *testing.T) { stuckDeletion(t, argoCDScenario(t)) }

// TestStuckDeletionFlux is the same under Flux.
func TestStuckDeletionFlux(t *testing.T) { stuckDeletion(t, fluxScenario(t, true)) }

func stuckDeletion(t *testing.T, s *scenario) {
	t.Helper()
	for _, v := range []string{"v1", "v2"} {
		s.bg(0, "deploy", "--version", v, "--no-wait")
		s.bg(0, "wait")
		s.bg(0, "promote", "--force", "--reason", "no smoke checks in this test")
		s.bg(0, "wait")
	}
	// blue runs v1, the standby: hold its deletion with a finalizer nobody
	// clears, then decommission it.
	patch := []byte(`{"metadata":{"finalizers":["e2e.bgrender.dev/hold"]}}`)
	if _, err := s.cluster.Dynamic.Resource(deploymentsGVR).Namespace("default").Patch(context.Background(), "myapp-blue", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	s.bg(0, "decommission")
	start := time.Now()
	stderr := s.bgFail("wait", "--timeout", "3m", "--stuck-deletion", "15s")
	t.Logf("wait (%s):\n%s", time.Since(start).Round(time.Second), stderr)
	for _, want := range []string{"DeletionStuck", "Deployment default/myapp-blue has been deleting for", "held by finalizer e2e.bgrender.dev/hold"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("wait does not say %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "timed out") || time.Since(start) > 2*time.Minute {
		t.Errorf("wait ran into its timeout instead of stopping on the stuck deletion")
	}
}
