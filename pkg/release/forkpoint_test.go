package release

import (
	"context"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestForkAncestry: for a branch made from the base's head, the commits
// above that head are not on the base and the head is, without reading the
// base's history; anything else, and a branch the base moved past, is
// answered from the whole history.
func TestForkAncestry(t *testing.T) {
	ctx := context.Background()
	dir, url := gitopstest.NewRemote(t, "main")
	var mains []plumbing.Hash
	for i := range 3 {
		mains = append(mains, gitopstest.Seed(t, url, "main", map[string]string{"f": string(rune('a' + i))}, "main"))
	}
	gitopstest.Git(t, dir, "branch", "pr", "main")
	pr1 := gitopstest.Seed(t, url, "pr", map[string]string{"g": "1"}, "pr 1")
	pr2 := gitopstest.Seed(t, url, "pr", map[string]string{"g": "2"}, "pr 2")
	open := func(b string) *gitops.Repo {
		r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: b, ReadOnly: true, History: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	pr, base := open("pr"), open("main")
	a, err := newForkAncestry(ctx, pr, base)
	if err != nil {
		t.Fatal(err)
	}
	on := func(h plumbing.Hash) bool {
		t.Helper()
		ok, err := a.Contains(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !on(mains[2]) || on(pr2) || on(pr1) {
		t.Fatal("the base's head is on the base, the branch's commits are not")
	}
	if a.full != nil {
		t.Fatal("the base's history was read for a branch made from its head")
	}
	if !on(mains[0]) || a.full == nil {
		t.Fatal("an older base commit: read from the whole history")
	}

	// The base moves on: the branch no longer reaches its head.
	moved := gitopstest.Seed(t, url, "main", map[string]string{"f": "z"}, "main moves")
	a, err = newForkAncestry(ctx, pr, open("main"))
	if err != nil {
		t.Fatal(err)
	}
	if !on(mains[2]) || on(pr1) || !on(moved) || a.full == nil {
		t.Fatal("a branch behind the base: answered from the whole history")
	}
}
