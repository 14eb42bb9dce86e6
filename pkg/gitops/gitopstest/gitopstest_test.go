package gitopstest_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	git "github.com/go-git/go-git/v5"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

func TestHelpers(t *testing.T) {
	dir, fileURL := gitopstest.NewRemote(t, "main")
	if h := gitopstest.Head(t, fileURL, "main"); !h.IsZero() {
		t.Fatalf("Head of an empty remote = %s", h)
	}
	first := gitopstest.Seed(t, fileURL, "main", map[string]string{"apps/a/s.yaml": "a\n", "README.md": "r\n"}, "first\n\nKey: v\n")
	second := gitopstest.Seed(t, fileURL, "main", map[string]string{"apps/b/s.yaml": "b\n"}, "second\n")

	for name, url := range map[string]string{"file": fileURL, "path": dir, "http": gitopstest.ServeHTTP(t, dir, "u", "p")} {
		t.Run(name, func(t *testing.T) {
			if name == "http" {
				url = url[:len("http://")] + "u:p@" + url[len("http://"):]
			}
			if got := gitopstest.Head(t, url, "main"); got != second {
				t.Errorf("Head = %s, want %s", got, second)
			}
			log := gitopstest.Log(t, url, "main")
			if len(log) != 2 || log[0].Hash != second || log[1].Hash != first || log[1].Trailers[0].Key != "Key" {
				t.Errorf("Log = %+v", log)
			}
			if got := gitopstest.Files(t, url, first.String(), "apps"); !reflect.DeepEqual(got, map[string]string{"a/s.yaml": "a\n"}) {
				t.Errorf("Files(first, apps) = %v", got)
			}
			if got := gitopstest.Paths(gitopstest.Files(t, url, "main", "")); !reflect.DeepEqual(got, []string{"README.md", "apps/a/s.yaml", "apps/b/s.yaml"}) {
				t.Errorf("Files(main) paths = %v", got)
			}
			if got := gitopstest.Files(t, url, "main", "nope"); len(got) != 0 {
				t.Errorf("Files(nope) = %v", got)
			}
			if gitopstest.TreeHash(t, url, first.String(), "apps/a") != gitopstest.TreeHash(t, url, "main", "apps/a") {
				t.Errorf("apps/a tree changed between commits that did not touch it")
			}

			co := gitopstest.Clone(t, url)
			data, err := os.ReadFile(filepath.Join(co, "apps", "b", "s.yaml"))
			if err != nil || string(data) != "b\n" {
				t.Errorf("clone worktree: %q, %v", data, err)
			}
			repo, err := git.PlainOpen(co)
			if err != nil {
				t.Fatal(err)
			}
			wt, _ := repo.Worktree()
			if st, err := wt.Status(); err != nil || !st.IsClean() {
				t.Errorf("clone status: %v, %v", st, err)
			}
			if rc, err := repo.Remote("origin"); err != nil || rc.Config().URLs[0] != url {
				t.Errorf("origin = %v, %v", rc, err)
			}
		})
	}
}
