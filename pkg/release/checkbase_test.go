package release_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/internal/benchrepo"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
)

// appSeed is a scaffolded app's files at apps/<name>, its Gateway on host.
func appSeed(t *testing.T, name, host string) map[string]string {
	t.Helper()
	cfg := config.Default(name, "ghcr.io/acme/"+name)
	cfg.Gateway.Hosts = []string{host}
	files, err := benchrepo.Init(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for p, b := range files {
		out["apps/"+name+"/"+p] = string(b)
	}
	return out
}

// openRead opens branch of url to read, with its history, closed when the
// test ends.
func openRead(t *testing.T, url, branch string) *gitops.Repo {
	t.Helper()
	r, err := gitops.Open(context.Background(), gitops.Options{Repo: url, Branch: branch, ReadOnly: true, History: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestCheckSkipsUnchangedApps: a pull request's check skips, with the
// reason, the app dirs it leaves as on the base, and checks the ones it
// changes, the ones whose shared component it changes, and every one when
// the change makes a claim (here: a new app taking another's host) that
// an unchanged app could make too.
func TestCheckSkipsUnchangedApps(t *testing.T) {
	ctx := context.Background()
	dir, url := gitopstest.NewRemote(t, "main")
	seed := map[string]string{
		"README.md":                        "env repo\n",
		"shared/labels/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n- pairs: {team: shop}\n",
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		for p, b := range appSeed(t, n, n+".example.com") {
			seed[p] = b
		}
	}
	seed["apps/c/base/kustomization.yaml"] += "components:\n- ../../../shared/labels\n"
	gitopstest.Seed(t, url, "main", seed, "four apps, c with a shared component")

	check := func(branch string, edit map[string]string, noSkip bool) map[string]release.AppReport {
		t.Helper()
		gitopstest.Git(t, dir, "branch", "-f", branch, "main")
		gitopstest.Seed(t, url, branch, edit, "a pull request")
		pr, base := openRead(t, url, branch), openRead(t, url, "main")
		dirs, err := pr.FindDirs(ctx, config.FileName)
		if err != nil {
			t.Fatal(err)
		}
		reports, err := (&release.Checker{Builder: &render.Builder{}, NoSkip: noSkip}).Check(ctx, pr, base, dirs)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]release.AppReport{}
		for _, r := range reports {
			out[strings.TrimPrefix(r.Dir, "apps/")] = r
		}
		return out
	}
	skipped := func(reps map[string]release.AppReport) string {
		var s []string
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			if r, ok := reps[n]; ok && r.Skipped != "" {
				s = append(s, n)
			}
		}
		return strings.Join(s, ",")
	}
	scaled := strings.Replace(seed["apps/a/per-color/deployment.yaml"], "replicas: 1", "replicas: 3", 1)
	if scaled == seed["apps/a/per-color/deployment.yaml"] {
		t.Fatal("the template has no replicas: 1 to change")
	}

	reps := check("pr-a", map[string]string{"apps/a/per-color/deployment.yaml": scaled}, false)
	if got := skipped(reps); got != "b,c,d" || !reps["a"].OK || reps["a"].App != "a" {
		t.Fatalf("a change to a: skipped %q, a %+v", got, reps["a"])
	}
	if why := reps["b"].Skipped; !strings.Contains(why, "unchanged from main") || !strings.Contains(why, "nothing outside the app dirs changed") {
		t.Errorf("the reason: %q", why)
	}

	reps = check("pr-shared", map[string]string{"shared/labels/kustomization.yaml": strings.Replace(seed["shared/labels/kustomization.yaml"], "shop", "checkout", 1)}, false)
	if got := skipped(reps); got != "a,b,d" {
		t.Fatalf("a change to c's shared component: skipped %q, want all but c", got)
	}
	if why := reps["a"].Skipped; !strings.Contains(why, "nothing it reaches outside it is among the 1 files changed outside the app dirs") {
		t.Errorf("the reason: %q", why)
	}

	reps = check("pr-readme", map[string]string{"README.md": "env repo, described\n"}, false)
	if got := skipped(reps); got != "a,b,c,d" {
		t.Fatalf("a change that reaches no app: skipped %q, want all", got)
	}

	// A new app dir that takes b's host: no app is skipped, and the
	// collision with the unchanged b is found.
	hijack := appSeed(t, "e", "b.example.com")
	reps = check("pr-hijack", hijack, false)
	if got := skipped(reps); got != "" {
		t.Fatalf("a new app: skipped %q, want none", got)
	}
	for _, n := range []string{"b", "e"} {
		if r := reps[n]; r.OK || !strings.Contains(strings.Join(r.Findings, "\n"), "claims host b.example.com") {
			t.Errorf("%s: %+v, want the host collision found", n, r)
		}
	}
	if !strings.Contains(strings.Join(reps["a"].Notes, "\n"), "checked although unchanged from main: the change claims") {
		t.Errorf("a's notes do not say why it was checked: %v", reps["a"].Notes)
	}

	reps = check("pr-noskip", map[string]string{"apps/a/per-color/deployment.yaml": scaled}, true)
	if got := skipped(reps); got != "" {
		t.Fatalf("--no-skip skipped %q", got)
	}
}
