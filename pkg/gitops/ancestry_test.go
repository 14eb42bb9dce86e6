package gitops_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// ancestryRepo is an env repo with a history made for Acceptable:
//
//	main:  c0 ─ c1 (ours) ─ c2 (other app) ─ c3 (our state file) ─ c4 (our overlay) ─ c5 (c4 reverted) ─ merge
//	other:  └─ s1 (on another branch) ─────────────────────────────────────────────────────────────────┘
type ancestryRepo struct {
	dir, url                   string
	c0, c1, c2, c3, c4, c5, s1 string
	merge                      string // parents c5 and s1, with s1's tree
}

const vsOriginal = "kind: VirtualService\nweight: 100\n"

func newAncestryRepo(t *testing.T) ancestryRepo {
	t.Helper()
	var a ancestryRepo
	a.dir, a.url = gitopstest.NewRemote(t, "main")
	seed := func(branch string, files map[string]string, msg string) string {
		t.Helper()
		return gitopstest.Seed(t, a.url, branch, files, msg).String()
	}
	a.c0 = seed("main", map[string]string{
		"apps/myapp/bgrender-state.yaml":           "phase: live\n",
		"apps/myapp/overlays/virtualservice.yaml":  vsOriginal,
		"apps/myapp/overlays/blue/deployment.yaml": "image: v1\n",
		"apps/other/bgrender-state.yaml":           "phase: live\n",
		"apps/other/overlays/blue/deployment.yaml": "image: o1\n",
		"README.md": "env\n",
		"apps/myapp-two/overlays/blue/deployment.yaml": "image: t1\n",
	}, "seed")
	a.c1 = seed("main", map[string]string{"apps/myapp/overlays/blue/deployment.yaml": "image: v2\n", "apps/myapp/bgrender-state.yaml": "phase: deployed\n"}, "myapp: deploy v2")
	a.c2 = seed("main", map[string]string{"apps/other/overlays/blue/deployment.yaml": "image: o2\n", "apps/myapp-two/overlays/blue/deployment.yaml": "image: t2\n"}, "other: deploy o2")
	a.c3 = seed("main", map[string]string{"apps/myapp/bgrender-state.yaml": "phase: deployed\nverified: true\n"}, "myapp: record verification")
	a.c4 = seed("main", map[string]string{"apps/myapp/overlays/virtualservice.yaml": "kind: VirtualService\nweight: 0\n"}, "myapp: shift traffic")
	a.c5 = seed("main", map[string]string{"apps/myapp/overlays/virtualservice.yaml": vsOriginal}, "myapp: revert traffic")

	st := filesystem.NewStorage(osfs.New(a.dir), cache.NewObjectLRUDefault())
	defer st.Close()
	setBranch(t, st, "other", plumbing.NewHash(a.c0))
	a.s1 = seed("other", map[string]string{"apps/side/x.yaml": "side\n"}, "side branch")
	a.merge = writeCommit(t, st, "main", gitopstest.TreeHash(t, a.url, a.s1, "."), plumbing.NewHash(a.c5), plumbing.NewHash(a.s1)).String()
	return a
}

func setBranch(t *testing.T, st *filesystem.Storage, branch string, h plumbing.Hash) {
	t.Helper()
	if err := st.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), h)); err != nil {
		t.Fatalf("set branch %s: %v", branch, err)
	}
}

// writeCommit writes a commit with the given tree and parents and points
// branch at it.
func writeCommit(t *testing.T, st *filesystem.Storage, branch string, tree plumbing.Hash, parents ...plumbing.Hash) plumbing.Hash {
	t.Helper()
	a := gitopstest.Author()
	sig := object.Signature{Name: a.Name, Email: a.Email, When: a.When}
	c := &object.Commit{Author: sig, Committer: sig, Message: "merge\n", TreeHash: tree, ParentHashes: parents}
	o := st.NewEncodedObject()
	if err := c.Encode(o); err != nil {
		t.Fatal(err)
	}
	h, err := st.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	setBranch(t, st, branch, h)
	return h
}

func TestAcceptable(t *testing.T) {
	a := newAncestryRepo(t)
	const state = "bgrender-state.yaml"
	cases := []struct {
		name             string
		dir              string
		commit, revision string
		ignore           []string
		want             bool
		wantWhy          []string // substrings of why
	}{
		{name: "same commit", dir: "apps/myapp", commit: a.c1, revision: a.c1, want: true},
		{name: "same commit, upper case", dir: "apps/myapp", commit: a.c1, revision: strings.ToUpper(a.c1), want: true},
		{name: "descendant touching another app", dir: "apps/myapp", commit: a.c1, revision: a.c2, ignore: []string{state}, want: true},
		{name: "descendant touching a sibling with a common prefix", dir: "apps/myapp", commit: a.c1, revision: a.c2, want: true},
		{name: "descendant touching only our state file, ignored", dir: "apps/myapp", commit: a.c1, revision: a.c3, ignore: []string{state}, want: true},
		{name: "descendant touching only our state file, not ignored", dir: "apps/myapp", commit: a.c1, revision: a.c3,
			wantWhy: []string{"revision " + a.c3[:12] + " changes apps/myapp after " + a.c1[:12] + " (bgrender-state.yaml)"}},
		{name: "descendant touching our overlay", dir: "apps/myapp", commit: a.c1, revision: a.c4, ignore: []string{state},
			wantWhy: []string{"revision " + a.c4[:12] + " changes apps/myapp after " + a.c1[:12] + " (overlays/virtualservice.yaml)"}},
		{name: "descendant whose change to our overlay was reverted", dir: "apps/myapp", commit: a.c1, revision: a.c5, ignore: []string{state}, want: true},
		{name: "the overlay change is fine for the other app", dir: "apps/other", commit: a.c2, revision: a.c4, want: true},
		{name: "ancestor", dir: "apps/myapp", commit: a.c2, revision: a.c1, ignore: []string{state},
			wantWhy: []string{"revision " + a.c1[:12] + " is not a descendant of " + a.c2[:12]}},
		{name: "other branch", dir: "apps/myapp", commit: a.c1, revision: a.s1, ignore: []string{state},
			wantWhy: []string{"is not a descendant of"}},
		{name: "merge reaches the other branch through its second parent", dir: "apps/side", commit: a.s1, revision: a.merge, want: true},
		{name: "merge that brings back the old manifests", dir: "apps/myapp", commit: a.c1, revision: a.merge, ignore: []string{state},
			wantWhy: []string{"changes apps/myapp after", "overlays/blue/deployment.yaml"}},
		{name: "merge that brings back another app's old manifests", dir: "apps/other", commit: a.c2, revision: a.merge,
			wantWhy: []string{"changes apps/other after " + a.c2[:12] + " (overlays/blue/deployment.yaml)"}},
		{name: "root directory", dir: ".", commit: a.c4, revision: a.c5,
			wantWhy: []string{"changes the repository root after", "(apps/myapp/overlays/virtualservice.yaml)"}},
	}
	modes := []struct {
		name string
		opts gitops.Options
	}{
		{name: "file URL", opts: gitops.Options{Repo: a.url}},
		{name: "bare path", opts: gitops.Options{Repo: a.dir}},
		{name: "http with history", opts: gitops.Options{Repo: gitopstest.ServeHTTP(t, a.dir, "", ""), History: true}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			r := open(t, m.opts)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ok, why, err := r.Acceptable(context.Background(), tc.dir, tc.commit, tc.revision, tc.ignore...)
					if err != nil {
						t.Fatalf("Acceptable: %v", err)
					}
					if ok != tc.want {
						t.Fatalf("ok = %v, want %v (why %q)", ok, tc.want, why)
					}
					if ok && why != "" {
						t.Errorf("why = %q for an accepted revision", why)
					}
					for _, w := range tc.wantWhy {
						if !strings.Contains(why, w) {
							t.Errorf("why = %q, want it to contain %q", why, w)
						}
					}
				})
			}
		})
	}
}

func TestAcceptableUnknownRevision(t *testing.T) {
	a := newAncestryRepo(t)
	ctx := context.Background()
	httpURL := gitopstest.ServeHTTP(t, a.dir, "", "")
	r := open(t, gitops.Options{Repo: httpURL, History: true})

	// A commit pushed after Open is not in the in-memory clone.
	later := gitopstest.Seed(t, a.url, "main", map[string]string{"apps/other/x.yaml": "x\n"}, "later").String()
	ok, why, err := r.Acceptable(ctx, "apps/myapp", a.merge, later, "bgrender-state.yaml")
	if ok || !errors.Is(err, gitops.ErrUnknownRevision) {
		t.Fatalf("Acceptable(later) = %v, %v; want false, ErrUnknownRevision", ok, err)
	}
	if want := "revision " + later[:12] + " is unknown: not on branch main"; !strings.Contains(why, want) {
		t.Errorf("why = %q, want it to contain %q", why, want)
	}
	// Re-opened, the same question has an answer.
	r2 := open(t, gitops.Options{Repo: httpURL, History: true})
	if ok, why, err := r2.Acceptable(ctx, "apps/myapp", a.merge, later, "bgrender-state.yaml"); !ok || err != nil {
		t.Fatalf("after re-open: Acceptable = %v, %q, %v; want true", ok, why, err)
	}

	// A hash no repository has, on a repo read in place.
	r3 := open(t, gitops.Options{Repo: a.url})
	missing := strings.Repeat("ab", 20)
	if ok, _, err := r3.Acceptable(ctx, "apps/myapp", a.c1, missing); ok || !errors.Is(err, gitops.ErrUnknownRevision) {
		t.Errorf("Acceptable(missing revision) = %v, %v; want false, ErrUnknownRevision", ok, err)
	}
	if ok, why, err := r3.Acceptable(ctx, "apps/myapp", missing, a.c1); ok || !errors.Is(err, gitops.ErrUnknownRevision) || !strings.Contains(why, "commit abababababab is unknown") {
		t.Errorf("Acceptable(missing commit) = %v, %q, %v; want false, ErrUnknownRevision", ok, why, err)
	}
}

func TestAcceptableErrors(t *testing.T) {
	a := newAncestryRepo(t)
	ctx := context.Background()
	r := open(t, gitops.Options{Repo: a.url})
	cases := []struct {
		name, dir, commit, revision string
		ignore                      []string
		want                        string
	}{
		{name: "abbreviated revision", dir: "apps/myapp", commit: a.c1, revision: a.c2[:7], want: "is not a full 40-hex commit hash"},
		{name: "malformed commit", dir: "apps/myapp", commit: "main", revision: a.c2, want: `commit "main" is not a full 40-hex commit hash`},
		{name: "not hex", dir: "apps/myapp", commit: a.c1, revision: strings.Repeat("g", 40), want: "is not a full 40-hex commit hash"},
		{name: "directory leaves the repo", dir: "../x", commit: a.c1, revision: a.c2, want: "leaves its directory"},
		{name: "ignored file leaves the directory", dir: "apps/myapp", commit: a.c1, revision: a.c2, ignore: []string{"../other/x"}, want: "leaves its directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, _, err := r.Acceptable(ctx, tc.dir, tc.commit, tc.revision, tc.ignore...)
			if ok || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Acceptable = %v, %v; want an error containing %q", ok, err, tc.want)
			}
			if errors.Is(err, gitops.ErrUnknownRevision) {
				t.Errorf("error %v wraps ErrUnknownRevision; it is a malformed input", err)
			}
		})
	}

	t.Run("depth-1 clone", func(t *testing.T) {
		r := open(t, gitops.Options{Repo: gitopstest.ServeHTTP(t, a.dir, "", "")})
		_, _, err := r.Acceptable(ctx, "apps/myapp", a.c1, a.merge)
		if !errors.Is(err, gitops.ErrUnknownRevision) && !errors.Is(err, gitops.ErrHistoryTruncated) {
			t.Fatalf("Acceptable on a depth-1 clone: %v; want ErrUnknownRevision or ErrHistoryTruncated", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		r, err := gitops.Open(ctx, gitops.Options{Repo: a.url})
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		if _, _, err := r.Acceptable(ctx, "apps/myapp", a.c1, a.c2); err == nil {
			t.Fatal("Acceptable on a closed Repo: no error")
		}
	})
}
