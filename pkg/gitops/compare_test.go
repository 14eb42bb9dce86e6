package gitops_test

import (
	"context"
	"os/exec"
	"slices"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestChangedPaths: the files that differ between two branches' heads,
// added and changed ones, and none of those that are the same (a file
// written again unchanged included).
func TestChangedPaths(t *testing.T) {
	ctx := context.Background()
	dir, url := gitopstest.NewRemote(t, "main")
	gitopstest.Seed(t, url, "main", map[string]string{"apps/a/x": "1", "apps/a/y": "1", "apps/b/x": "1", "README.md": "r"}, "base")
	if out, err := exec.Command("git", "-C", dir, "branch", "pr", "main").CombinedOutput(); err != nil {
		t.Fatalf("git branch: %v\n%s", err, out)
	}
	gitopstest.Seed(t, url, "pr", map[string]string{"apps/a/y": "2", "apps/c/new": "n", "README.md": "r"}, "pr")
	open := func(b string) *gitops.Repo {
		r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: b, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	got, err := gitops.ChangedPaths(ctx, open("main"), open("pr"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"apps/a/y", "apps/c/new"}; !slices.Equal(got, want) {
		t.Fatalf("ChangedPaths = %v, want %v", got, want)
	}
	if same, _ := gitops.ChangedPaths(ctx, open("main"), open("main")); len(same) != 0 {
		t.Fatalf("a head against itself: %v", same)
	}
}
