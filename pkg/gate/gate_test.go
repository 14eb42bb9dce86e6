package gate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bgrender/bgrender/pkg/gitops"
)

// fakeHistory is a commit graph whose commits each have an app-dir tree
// (a name standing for its hash).
type fakeHistory struct {
	commits map[plumbing.Hash]gitops.Commit
	trees   map[plumbing.Hash]string
	shallow map[plumbing.Hash]bool
}

func h(name string) plumbing.Hash { return plumbing.ComputeHash(plumbing.CommitObject, []byte(name)) }

// add makes commit name with parents and the app dir's tree.
func (f *fakeHistory) add(name, tree string, parents ...string) {
	c := gitops.Commit{Hash: h(name), Message: name}
	for _, p := range parents {
		c.Parents = append(c.Parents, h(p))
	}
	f.commits[c.Hash], f.trees[c.Hash] = c, tree
}

func (f *fakeHistory) ReadCommit(_ context.Context, x plumbing.Hash) (gitops.Commit, error) {
	c, ok := f.commits[x]
	if !ok {
		return gitops.Commit{}, gitops.ErrUnknownRevision
	}
	return c, nil
}
func (f *fakeHistory) IsShallow(x plumbing.Hash) bool { return f.shallow[x] }
func (f *fakeHistory) DirHash(_ context.Context, x plumbing.Hash, _ string) (plumbing.Hash, error) {
	if f.trees[x] == "" {
		return plumbing.ZeroHash, nil
	}
	return plumbing.ComputeHash(plumbing.TreeObject, []byte(f.trees[x])), nil
}
func (f *fakeHistory) FileAt(context.Context, plumbing.Hash, string) ([]byte, bool, error) {
	return nil, false, nil
}
func (f *fakeHistory) FileHashes(context.Context, plumbing.Hash, string) (map[string]string, error) {
	return nil, nil
}

func names(cs []gitops.Commit) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Message)
	}
	return strings.Join(out, ",")
}

func TestChain(t *testing.T) {
	f := &fakeHistory{commits: map[plumbing.Hash]gitops.Commit{}, trees: map[plumbing.Hash]string{}, shallow: map[plumbing.Hash]bool{}}
	// The base: b0 - b1 - b2 (b2 changes the app).
	f.add("b0", "t0")
	f.add("b1", "t0", "b0")
	f.add("b2", "t1", "b1")
	// A branch from b1: p1 changes the app, p2 changes something else, p3 the app again.
	f.add("p1", "ta", "b1")
	f.add("p2", "ta", "p1")
	f.add("p3", "tb", "p2")
	// GitHub's merge checkout of the branch into the base (the base did not
	// touch the app since b1 in this variant: merge of b1).
	f.add("m-checkout", "tb", "b1", "p3")
	// The base merged into the branch: the merge keeps the branch's app dir.
	f.add("m-update", "tb", "p3", "b2")
	// A merge that combines app changes from both sides.
	f.add("m-both", "tc", "b2", "p3")
	f.add("m-both-off", "tc", "p3", "p-other")
	f.add("p-other", "td", "b1")
	onBase := map[plumbing.Hash]bool{h("b0"): true, h("b1"): true, h("b2"): true}
	c := &Checker{PR: f, Base: f, OnBase: Set(onBase)}
	for _, tc := range []struct {
		head, want, from, err string
	}{
		{"p3", "p1,p3", "b1", ""},
		{"m-checkout", "p1,p3", "b1", ""},
		{"m-update", "p1,p3", "b1", ""},
		{"m-both", "p1,p3", "b1", ""},
		{"m-both-off", "", "", "combines changes to the app from 2 branches"},
		{"b2", "", "b2", ""},
	} {
		t.Run(tc.head, func(t *testing.T) {
			ch, err := c.Chain(context.Background(), h(tc.head), "apps/a")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Chain = %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if names(ch.Commits) != tc.want || ch.From != h(tc.from) {
				t.Fatalf("Chain = %s from %s, want %s from %s", names(ch.Commits), ch.From, tc.want, tc.from)
			}
		})
	}
	// A branch that shares no history with the base: its root commit is
	// judged (as the app's first state), not read past.
	f.add("root-only", "tr")
	ch, err := c.Chain(context.Background(), h("root-only"), "apps/a")
	if err != nil || names(ch.Commits) != "root-only" || !ch.From.IsZero() {
		t.Fatalf("Chain of an unrelated root = %s from %s, %v", names(ch.Commits), ch.From, err)
	}
	if found := c.HandMade(context.Background(), "apps/a", ch); len(found) != 0 {
		t.Fatalf("HandMade of a root commit without a state: %v", found)
	}
	// A shallow history that ends before the base.
	f.shallow[h("p1")] = true
	if _, err := c.Chain(context.Background(), h("p3"), "apps/a"); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Chain over a shallow history = %v, want ErrTruncated", err)
	}
	delete(f.shallow, h("p1"))
	// A missing parent is a truncated history too.
	f.add("orphan-child", "tx", "never-fetched")
	if _, err := c.Chain(context.Background(), h("orphan-child"), "apps/a"); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Chain over a missing parent = %v, want ErrTruncated", err)
	}
	// A long branch is bounded.
	prev := "b1"
	for i := 0; i <= MaxChain; i++ {
		name := "long" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		f.add(name, "t-long", prev)
		prev = name
	}
	if _, err := c.Chain(context.Background(), h(prev), "apps/a"); err == nil || !strings.Contains(err.Error(), "more than 1000 commits") {
		t.Fatalf("Chain over %d commits = %v", MaxChain+1, err)
	}
}
