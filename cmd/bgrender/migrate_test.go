package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/forge/forgetest"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// legacyApp seeds apps/myapp on the remote with an app dir in the layout
// from before snapshots (testdata/legacy/second-deploy: v1 live in blue, 2.0
// under test in green, the template in base/deployment/).
func legacyApp(t *testing.T, url string) {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join("..", "..", "testdata", "legacy", "second-deploy")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files["apps/myapp/"+filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gitopstest.Seed(t, url, "main", files, "an app from before snapshots")
}

// TestMigrate: an app in the old layout is told to migrate by every
// transition and by check; migrate moves it in one commit that changes no
// built object (nothing restarts) and that check --base accepts in a pull
// request; after it, the cycle goes on.
func TestMigrate(t *testing.T) {
	t.Parallel()
	dir, url := gitopstest.NewRemote(t, "main")
	legacyApp(t, url)
	e := newEnvOn(t, url, "apps/myapp")
	before := e.built()
	head := e.head()
	r := e.run(1, "promote", "--force", "--reason", "x")
	if !strings.Contains(r.stderr, "the layout from before per-color snapshots") || !strings.Contains(r.stderr, "bgrender --app apps/myapp migrate") {
		t.Errorf("promote on the old layout:\n%s", r.stderr)
	}
	c := mustBG(t, 1, "--repo", url, "check", "--all")
	if !strings.Contains(c.stdout, "migrate") {
		t.Errorf("check on the old layout:\n%s", c.stdout)
	}
	if e.head() != head {
		t.Fatal("a refused transition moved the remote")
	}

	// As a pull request first: check --base accepts the migrate commit.
	gitIn(t, dir, "branch", "migrate-pr", "main")
	mustBG(t, 0, "--repo", url, "--branch", "migrate-pr", "--app", "apps/myapp", "migrate")
	mustBG(t, 0, "--repo", url, "--branch", "migrate-pr", "check", "--all", "--base", "main")

	r = e.run(0, "migrate")
	if !strings.Contains(r.stdout, "migrate to per-color snapshots (no object changes)") {
		t.Errorf("migrate:\n%s", r.stdout)
	}
	after := e.built()
	if len(after) != len(before) {
		t.Fatalf("migrate changed the objects: %d before, %d after", len(before), len(after))
	}
	for k, n := range before {
		a, _ := after[k].String()
		b, _ := n.String()
		if a != b {
			t.Errorf("%s changed:\n%s\nwas\n%s", k, a, b)
		}
	}
	files := gitopstest.Files(t, url, "main", "apps/myapp")
	for _, p := range []string{"per-color/deployment.yaml", "overlays/blue/snapshot/workload-patch.yaml", "overlays/green/snapshot/template/deployment.yaml"} {
		if _, ok := files[p]; !ok {
			t.Errorf("%s is missing after migrate", p)
		}
	}
	if _, ok := files["base/deployment/deployment.yaml"]; ok {
		t.Error("base/deployment/ is still there")
	}
	// The routes stay bound to the gateway alone, as they were; the note
	// says how to bind them to the mesh too.
	if !strings.Contains(files["bgrender.yaml"], "bind: gateway") || !strings.Contains(r.stdout, "Set it to both") {
		t.Errorf("bgrender.yaml after migrate:\n%s\noutput:\n%s", files["bgrender.yaml"], r.stdout)
	}
	mustBG(t, 0, "--repo", url, "check", "--all")
	e.run(1, "migrate") // once is enough
	e.run(0, "promote", "--force", "--reason", "after the move")
	e.run(0, "rollback")
	mustBG(t, 0, "--repo", url, "check", "--all")
}

// TestMigratePR: migrate --pr is proposed on a branch of its own, not on the
// branch of the app's last transition (whose pull request it would update).
func TestMigratePR(t *testing.T) {
	t.Parallel()
	_, url := gitopstest.NewRemote(t, "main")
	legacyApp(t, url)
	e := newEnvOn(t, url, "apps/myapp")
	setenv(t, "GITHUB_TOKEN", "forge-tok3n")
	srv := forgetest.New(t, "github", "acme/env", "forge-tok3n")
	head := e.head()
	r := e.run(0, "-o", "json", "migrate", "--pr", "--forge", "github", "--forge-url", srv.URL, "--forge-repo", "acme/env")
	var out transitionResult
	decodeJSON(t, r.stdout, &out)
	if out.PR == nil || out.PR.Branch != "bgrender/myapp/migrate" {
		t.Fatalf("migrate --pr: %+v", out.PR)
	}
	if prs := srv.PRs(); len(prs) != 1 || prs[0].Head != "bgrender/myapp/migrate" || !strings.Contains(prs[0].Title, "migrate") {
		t.Errorf("pull requests: %+v", prs)
	}
	if e.head() != head {
		t.Error("migrate --pr moved main")
	}
}
