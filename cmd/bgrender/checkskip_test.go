package main

import (
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestPRCheckSkipsOnRealApps: on two apps teams brought (testdata's
// podinfo, with its HPA, PDB and ConfigMap, released into both colors,
// and reviews, adopted), a pull request's check checks the app it changes
// and skips the other with the reason; a change that adds objects (an app
// dir copied under a new name, rendering podinfo's objects again) checks
// both and finds the collision.
func TestPRCheckSkipsOnRealApps(t *testing.T) {
	t.Parallel()
	e := podinfoBothColors(t)
	seedPlainApp(t, e.url, "reviews")
	(&env{t: t, url: e.url, app: "apps/reviews", branch: "main"}).run(0, "init", "--adopt", "--name", "reviews", "--image", "docker.io/istio/examples-bookinfo-reviews-v1", "--host", "reviews.example.com")
	mustBG(t, 0, "--repo", e.url, "check", "--all")
	dir := strings.TrimPrefix(e.url, "file://")
	main := gitopstest.Files(t, e.url, "main", "apps/podinfo")

	// The template scaled: only podinfo is checked.
	scaled := strings.Replace(main["per-color/deployment.yaml"], "replicas: 2", "replicas: 3", 1)
	if scaled == main["per-color/deployment.yaml"] {
		t.Fatal("podinfo's template has no replicas: 2 to change")
	}
	hostileBranch(t, dir, e.url, "pr-scale", map[string]string{"apps/podinfo/per-color/deployment.yaml": scaled})
	r := mustBG(t, 0, "--repo", e.url, "--branch", "pr-scale", "check", "--all", "--base", "main")
	if !strings.Contains(r.stdout, "ok    apps/podinfo\n") || !strings.Contains(r.stdout, "skip  1 app dir(s) apps/reviews (unchanged from main") {
		t.Fatalf("a change to podinfo:\n%s", r.stdout)
	}

	// A copy of podinfo's dir under another name renders podinfo's
	// objects: no app is skipped, and both are told.
	copied := map[string]string{}
	for p, b := range main {
		copied["apps/podinfo-copy/"+p] = b
	}
	hostileBranch(t, dir, e.url, "pr-copy", copied)
	r = mustBG(t, 1, "--repo", e.url, "--branch", "pr-copy", "check", "--all", "--base", "main")
	if strings.Contains(r.stdout, "skip ") || !strings.Contains(r.stdout, "FAIL  apps/podinfo\n") || !strings.Contains(r.stdout, "is also rendered by apps/podinfo-copy") {
		t.Fatalf("a copy of podinfo:\n%s", r.stdout)
	}
}
