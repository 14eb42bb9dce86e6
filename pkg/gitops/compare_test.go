package gitops_test

import (
	"context"
	"errors"
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
	gitopstest.Git(t, dir, "branch", "pr", "main")
	gitopstest.Seed(t, url, "pr", map[string]string{"apps/a/y": "2", "apps/c/new": "n", "README.md": "r"}, "pr")
	open := func(b string) *gitops.Repo {
		r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: b, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	got, err := gitops.ChangedPaths(ctx, open("main"), open("pr"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"apps/a/y", "apps/c/new"}; !slices.Equal(got, want) {
		t.Fatalf("ChangedPaths = %v, want %v", got, want)
	}
	if same, _ := gitops.ChangedPaths(ctx, open("main"), open("main"), 10); len(same) != 0 {
		t.Fatalf("a head against itself: %v", same)
	}
	if _, err := gitops.ChangedPaths(ctx, open("main"), open("pr"), 1); !errors.Is(err, gitops.ErrTooManyChanges) {
		t.Fatalf("more changes than the limit: %v", err)
	}
}
