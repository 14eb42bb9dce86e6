package gitops_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// seedFiles is the env repo every test starts from: three apps and a file at
// the root.
var seedFiles = map[string]string{
	"README.md":                           "env repo\n",
	"apps/a/bgrender-state.yaml":          "a: 1\n",
	"apps/a/overlays/blue/deploy.yaml":    "blue: 1\n",
	"apps/a/overlays/blue/old.yaml":       "stale\n",
	"apps/a/overlays/green/deploy.yaml":   "green: 1\n",
	"apps/b/bgrender-state.yaml":          "b: 1\n",
	"apps/b/overlays/blue/deploy.yaml":    "blue: b\n",
	"apps/c/bgrender-state.yaml":          "c: 1\n",
	"apps/c/overlays/green/deploy.yaml":   "green: c\n",
	"apps/c/overlays/green/service.yaml":  "svc: c\n",
	"apps/a-b/bgrender-state.yaml":        "ab: 1\n",
	"apps/a.b/bgrender-state.yaml":        "a.b: 1\n",
	"apps/a/overlays/blue-x/deploy.yaml":  "bx: 1\n",
	"apps/a/overlays/blue.x/deploy.yaml":  "b.x: 1\n",
	"apps/a/overlays/blue/sub/extra.yaml": "extra\n",
}

func seed(t *testing.T) (dir, url string, head plumbing.Hash) {
	t.Helper()
	dir, url = gitopstest.NewRemote(t, "main")
	head = gitopstest.Seed(t, url, "main", seedFiles, "seed")
	return dir, url, head
}

func author(minute int) gitops.Signature {
	return gitops.Signature{Name: "Test", Email: "test@example.com", When: time.Date(2025, 3, 4, 5, minute, 0, 0, time.FixedZone("", 3600))}
}

// mode is one way of reaching the env repo.
type mode struct {
	name string
	// repo returns what to pass as Options.Repo for the remote at dir/url.
	repo func(t *testing.T, dir, url string) string
	// pushes: Apply pushes to the remote (else it commits to repo itself).
	pushes bool
}

var modes = []mode{
	{name: "file URL", pushes: true, repo: func(t *testing.T, dir, url string) string { return url }},
	{name: "http depth 1", pushes: true, repo: func(t *testing.T, dir, url string) string { return gitopstest.ServeHTTP(t, dir, "", "") }},
	{name: "local checkout", pushes: true, repo: func(t *testing.T, dir, url string) string { return gitopstest.Clone(t, url) }},
	{name: "local bare", pushes: false, repo: func(t *testing.T, dir, url string) string { return dir }},
}

func open(t *testing.T, o gitops.Options) *gitops.Repo {
	t.Helper()
	r, err := gitops.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open(%s): %v", o.Repo, err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func appChange(minute int) gitops.Change {
	return gitops.Change{
		Dir: "apps/a",
		Files: map[string][]byte{
			"bgrender-state.yaml":       []byte("a: 2\n"),
			"overlays/blue/deploy.yaml": []byte("blue: 2\n"),
			"overlays/blue/new.yaml":    []byte("new\n"),
		},
		Replace: []string{"overlays/blue"},
		Message: gitops.FormatMessage("a: deploy 2 to blue", "Deploys version 2.", []gitops.Trailer{
			{Key: "Bgrender-App", Value: "a"},
			{Key: "Bgrender-Transition", Value: "deploy"},
		}),
		Author: author(minute),
	}
}

func wantAppFiles() map[string]string {
	return map[string]string{
		"bgrender-state.yaml":         "a: 2\n",
		"overlays/blue/deploy.yaml":   "blue: 2\n",
		"overlays/blue/new.yaml":      "new\n",
		"overlays/green/deploy.yaml":  "green: 1\n",
		"overlays/blue-x/deploy.yaml": "bx: 1\n",
		"overlays/blue.x/deploy.yaml": "b.x: 1\n",
	}
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir, url, seeded := seed(t)
			repo := m.repo(t, dir, url)
			r := open(t, gitops.Options{Repo: repo, Push: true})
			if r.Head() != seeded || r.Branch() != "main" {
				t.Fatalf("Head, Branch = %s, %s; want %s, main", r.Head(), r.Branch(), seeded)
			}
			before, err := r.ReadDir(ctx, "apps/a")
			if err != nil {
				t.Fatal(err)
			}
			if got := len(before); got != 7 {
				t.Errorf("ReadDir(apps/a) has %d files, want 7: %v", got, before)
			}

			res, err := r.Apply(ctx, appChange(1))
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if res.Parent != seeded || res.Pushed != m.pushes || res.Commit.IsZero() || r.Head() != res.Commit {
				t.Errorf("Apply = %+v, Head %s; want parent %s, pushed %v", res, r.Head(), seeded, m.pushes)
			}

			// Where the commit landed: the remote, or the local bare repo.
			target := url
			if !m.pushes {
				target = dir
			}
			if got := gitopstest.Head(t, target, "main"); got != res.Commit {
				t.Fatalf("branch is at %s, want %s", got, res.Commit)
			}
			if got := gitopstest.Files(t, target, "main", "apps/a"); !reflect.DeepEqual(got, wantAppFiles()) {
				t.Errorf("apps/a after Apply:\n got %v\nwant %v", got, wantAppFiles())
			}
			for _, d := range []string{"apps/b", "apps/c", "apps/a-b", "apps/a.b", "apps/a/overlays/green", "apps/a/overlays/blue.x"} {
				if a, b := gitopstest.TreeHash(t, target, seeded.String(), d), gitopstest.TreeHash(t, target, res.Commit.String(), d); a != b || a.IsZero() {
					t.Errorf("tree %s changed: %s -> %s", d, a, b)
				}
			}
			if got := gitopstest.Files(t, target, "main", "README.md"); len(got) != 0 {
				t.Errorf("README.md read as a directory: %v", got)
			}
			log := gitopstest.Log(t, target, "main")
			if len(log) != 2 || log[1].Hash != seeded {
				t.Fatalf("log = %v, want the commit on top of the seed", log)
			}
			c := log[0]
			if c.Message != appChange(1).Message || c.Author.Name != "Test" || !c.Author.When.Equal(author(1).When) {
				t.Errorf("commit = %+v", c)
			}
			wantTrailers := []gitops.Trailer{{Key: "Bgrender-App", Value: "a"}, {Key: "Bgrender-Transition", Value: "deploy"}}
			if !reflect.DeepEqual(c.Trailers, wantTrailers) {
				t.Errorf("trailers = %v, want %v", c.Trailers, wantTrailers)
			}
			after, err := r.ReadDir(ctx, "apps/a")
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(wantAppFiles()) || string(after["overlays/blue/new.yaml"]) != "new\n" {
				t.Errorf("ReadDir after Apply = %v", after)
			}

			if m.name == "local checkout" {
				assertClean(t, repo)
				if got := gitopstest.Head(t, repo, "main"); got != res.Commit {
					t.Errorf("local main at %s, want %s", got, res.Commit)
				}
				data, err := os.ReadFile(filepath.Join(repo, "apps/a/overlays/blue/new.yaml"))
				if err != nil || string(data) != "new\n" {
					t.Errorf("worktree new.yaml = %q, %v", data, err)
				}
				if _, err := os.Stat(filepath.Join(repo, "apps/a/overlays/blue/old.yaml")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("worktree old.yaml still there: %v", err)
				}
				if _, err := os.Stat(filepath.Join(repo, "apps/a/overlays/blue/sub")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("emptied directory still there: %v", err)
				}
				st, _ := git.PlainOpen(repo)
				ref, err := st.Reference(plumbing.NewRemoteReferenceName("origin", "main"), true)
				if err != nil || ref.Hash() != res.Commit {
					t.Errorf("origin/main = %v, %v; want %s", ref, err, res.Commit)
				}
			}

			// The same change again changes nothing.
			again := appChange(2)
			if _, err := r.Apply(ctx, again); !errors.Is(err, gitops.ErrNoChange) {
				t.Errorf("second Apply: %v, want ErrNoChange", err)
			}
			if got := gitopstest.Head(t, target, "main"); got != res.Commit {
				t.Errorf("ErrNoChange moved the branch to %s", got)
			}
		})
	}
}

// assertClean checks a checkout with go-git's full status, which gitops
// itself never computes.
func assertClean(t *testing.T, checkout string) {
	t.Helper()
	repo, err := git.PlainOpen(checkout)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	st, err := wt.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsClean() {
		t.Errorf("checkout not clean:\n%s", st)
	}
}

func TestApplyReplaceAndPaths(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		change  gitops.Change
		want    map[string]string // files under apps/a afterwards
		wantErr string
	}{
		{
			name:   "replace whole dir",
			change: gitops.Change{Dir: "apps/a", Files: map[string][]byte{"only.yaml": []byte("x")}, Replace: []string{"."}},
			want:   map[string]string{"only.yaml": "x"},
		},
		{
			name:   "replace a file and a missing path",
			change: gitops.Change{Dir: "apps/a", Replace: []string{"overlays/blue/old.yaml", "nope/none"}},
			want: func() map[string]string {
				m := seedApp()
				delete(m, "overlays/blue/old.yaml")
				return m
			}(),
		},
		{
			name:   "file becomes directory when replaced",
			change: gitops.Change{Dir: "apps/a", Files: map[string][]byte{"bgrender-state.yaml/x": []byte("x")}, Replace: []string{"bgrender-state.yaml"}},
			want: func() map[string]string {
				m := seedApp()
				delete(m, "bgrender-state.yaml")
				m["bgrender-state.yaml/x"] = "x"
				return m
			}(),
		},
		{
			name:   "new app dir with dotted path in root-relative form",
			change: gitops.Change{Dir: "./apps/./new/", Files: map[string][]byte{"s.yaml": []byte("n")}},
			want:   seedApp(),
		},
		{
			name:   "replace through a file is a no-op",
			change: gitops.Change{Dir: "apps/a", Files: map[string][]byte{"n.yaml": []byte("n")}, Replace: []string{"bgrender-state.yaml/x"}},
			want: func() map[string]string {
				m := seedApp()
				m["n.yaml"] = "n"
				return m
			}(),
		},
		{name: "escape", change: gitops.Change{Dir: "apps/a", Files: map[string][]byte{"../b/x": nil}}, wantErr: "leaves its directory"},
		{name: "absolute", change: gitops.Change{Dir: "/apps/a", Files: map[string][]byte{"x": nil}}, wantErr: "absolute"},
		{name: "dot git", change: gitops.Change{Dir: "apps/a", Files: map[string][]byte{".git/config": nil}}, wantErr: ".git"},
		{name: "file over dir", change: gitops.Change{Dir: "apps/a", Files: map[string][]byte{"overlays": nil}}, wantErr: "is a directory"},
		{name: "dir over file", change: gitops.Change{Dir: "README.md/x", Files: map[string][]byte{"y": nil}}, wantErr: "is a file"},
		{name: "no author", change: gitops.Change{Dir: "apps/a", Files: map[string][]byte{"y": nil}, Author: gitops.Signature{}}, wantErr: "author"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url, _ := seed(t)
			r := open(t, gitops.Options{Repo: url, Push: true})
			c := tt.change
			c.Message = "test\n"
			if c.Author == (gitops.Signature{}) && tt.name != "no author" {
				c.Author = author(0)
			}
			_, err := r.Apply(ctx, c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Apply error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := gitopstest.Files(t, url, "main", "apps/a"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("apps/a:\n got %v\nwant %v", got, tt.want)
			}
			if got := gitopstest.Files(t, url, "main", "apps/b"); len(got) != 2 {
				t.Errorf("apps/b changed: %v", got)
			}
		})
	}
}

func seedApp() map[string]string {
	m := map[string]string{}
	for p, c := range seedFiles {
		if rest, ok := strings.CutPrefix(p, "apps/a/"); ok {
			m[rest] = c
		}
	}
	return m
}

func TestPushRace(t *testing.T) {
	ctx := context.Background()
	for _, m := range modes {
		if !m.pushes {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			dir, url, seeded := seed(t)
			loser := m.repo(t, dir, url)
			var indexBefore []byte
			if m.name == "local checkout" {
				indexBefore = readIndex(t, loser)
			}
			r2 := open(t, gitops.Options{Repo: loser, Push: true})
			r1 := open(t, gitops.Options{Repo: url, Push: true})

			won, err := r1.Apply(ctx, appChange(1))
			if err != nil {
				t.Fatal(err)
			}
			c := appChange(2)
			c.Dir = "apps/b"
			_, err = r2.Apply(ctx, c)
			if !errors.Is(err, gitops.ErrPushRejected) {
				t.Fatalf("second Apply: %v, want ErrPushRejected", err)
			}
			if got := gitopstest.Head(t, url, "main"); got != won.Commit {
				t.Errorf("remote at %s after the rejected push, want %s", got, won.Commit)
			}
			if r2.Head() != seeded {
				t.Errorf("loser's Head moved to %s", r2.Head())
			}
			if m.name == "local checkout" {
				if got := gitopstest.Head(t, loser, "main"); got != seeded {
					t.Errorf("local branch at %s, want it restored to %s", got, seeded)
				}
				if !bytes.Equal(readIndex(t, loser), indexBefore) {
					t.Errorf("index changed")
				}
				if got := gitopstest.Files(t, loser, "main", "apps/b"); got["bgrender-state.yaml"] != "b: 1\n" {
					t.Errorf("local apps/b = %v", got)
				}
				data, _ := os.ReadFile(filepath.Join(loser, "apps/b/bgrender-state.yaml"))
				if string(data) != "b: 1\n" {
					t.Errorf("worktree file changed: %q", data)
				}
				if _, err := os.Stat(filepath.Join(loser, "apps/b/overlays/blue/new.yaml")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("worktree got a new file: %v", err)
				}
				assertClean(t, loser)
			}

			// Re-opened (a checkout with Refresh, which fetches), the
			// loser's retry succeeds on top of the winner.
			r3 := open(t, gitops.Options{Repo: loser, Push: true, Refresh: true})
			res, err := r3.Apply(ctx, c)
			if err != nil || res.Parent != won.Commit {
				t.Fatalf("retry = %+v, %v; want parent %s", res, err, won.Commit)
			}
			if m.name == "local checkout" {
				// The checkout is brought forward over the winner's commit too.
				if got := gitopstest.Head(t, loser, "main"); got != res.Commit || len(res.LocalBehind) != 0 {
					t.Errorf("local branch at %s (behind for %v), want %s", got, res.LocalBehind, res.Commit)
				}
				data, _ := os.ReadFile(filepath.Join(loser, "apps/a/overlays/blue/new.yaml"))
				if string(data) != "new\n" {
					t.Errorf("the winner's file in the worktree: %q", data)
				}
				assertClean(t, loser)
			}
		})
	}
}

func readIndex(t *testing.T, checkout string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(checkout, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLocalCheckoutAheadIsRejected(t *testing.T) {
	ctx := context.Background()
	_, url, seeded := seed(t)
	checkout := gitopstest.Clone(t, url)
	// A local commit that was never pushed.
	local := open(t, gitops.Options{Repo: checkout})
	c := appChange(1)
	if _, err := local.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	local.Close()
	r := open(t, gitops.Options{Repo: checkout, Push: true})
	c.Dir = "apps/c"
	if _, err := r.Apply(ctx, c); !errors.Is(err, gitops.ErrPushRejected) {
		t.Fatalf("Apply: %v, want ErrPushRejected", err)
	}
	if got := gitopstest.Head(t, url, "main"); got != seeded {
		t.Errorf("remote moved to %s", got)
	}
	assertClean(t, checkout)
}

func TestCheckClean(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		dirty func(t *testing.T, checkout string)
		dir   string
		want  []string
	}{
		{name: "clean", dirty: func(*testing.T, string) {}, dir: "apps/a"},
		{
			name: "modified and untracked",
			dirty: func(t *testing.T, co string) {
				write(t, co, "apps/a/bgrender-state.yaml", "a: changed\n")
				write(t, co, "apps/a/overlays/untracked.yaml", "u\n")
				write(t, co, "apps/b/elsewhere.yaml", "not under dir\n")
				write(t, co, "apps/a/debug.log", "ignored\n")
				write(t, co, ".gitignore", "*.log\n")
			},
			dir:  "apps/a",
			want: []string{"apps/a/bgrender-state.yaml", "apps/a/overlays/untracked.yaml"},
		},
		{
			name: "deleted and mode changed",
			dirty: func(t *testing.T, co string) {
				if err := os.Remove(filepath.Join(co, "apps/c/overlays/green/service.yaml")); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(filepath.Join(co, "apps/c/bgrender-state.yaml"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			dir:  "apps/c",
			want: []string{"apps/c/bgrender-state.yaml", "apps/c/overlays/green/service.yaml"},
		},
		{
			name: "staged only",
			dirty: func(t *testing.T, co string) {
				repo, err := git.PlainOpen(co)
				if err != nil {
					t.Fatal(err)
				}
				wt, _ := repo.Worktree()
				write(t, co, "apps/b/bgrender-state.yaml", "b: staged\n")
				if _, err := wt.Add("apps/b/bgrender-state.yaml"); err != nil {
					t.Fatal(err)
				}
				write(t, co, "apps/b/bgrender-state.yaml", "b: 1\n")
			},
			dir:  "apps/b",
			want: []string{"apps/b/bgrender-state.yaml"},
		},
		{
			name: "root",
			dirty: func(t *testing.T, co string) {
				write(t, co, "apps/b/elsewhere.yaml", "x\n")
			},
			dir:  ".",
			want: []string{"apps/b/elsewhere.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url, _ := seed(t)
			co := gitopstest.Clone(t, url)
			tt.dirty(t, co)
			r := open(t, gitops.Options{Repo: co})
			err := r.CheckClean(ctx, tt.dir)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckClean: %v", err)
				}
				return
			}
			var de *gitops.DirtyError
			if !errors.As(err, &de) {
				t.Fatalf("CheckClean: %v, want a *DirtyError", err)
			}
			if !reflect.DeepEqual(de.Paths, tt.want) {
				t.Errorf("dirty paths = %v, want %v", de.Paths, tt.want)
			}
		})
	}

	t.Run("no-op for URLs and bare repos", func(t *testing.T) {
		dir, url, _ := seed(t)
		for _, repo := range []string{url, dir} {
			if err := open(t, gitops.Options{Repo: repo}).CheckClean(ctx, "apps/a"); err != nil {
				t.Errorf("CheckClean(%s): %v", repo, err)
			}
		}
	})
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLastChange(t *testing.T) {
	ctx := context.Background()
	dir, url, seeded := seed(t)
	msgA := gitops.FormatMessage("a: promote", "", []gitops.Trailer{{Key: "Bgrender-App", Value: "a"}})
	touchA := gitopstest.Seed(t, url, "main", map[string]string{"apps/a/bgrender-state.yaml": "a: 9\n"}, msgA)
	gitopstest.Seed(t, url, "main", map[string]string{"apps/b/bgrender-state.yaml": "b: 9\n"}, "b\n")
	touchC := gitopstest.Seed(t, url, "main", map[string]string{"apps/c/x.yaml": "c\n"}, "c\n")
	httpURL := gitopstest.ServeHTTP(t, dir, "", "")

	tests := []struct {
		name     string
		opts     gitops.Options
		dir      string
		want     plumbing.Hash
		wantErr  error
		trailers []gitops.Trailer
	}{
		{name: "file URL, older commit", opts: gitops.Options{Repo: url}, dir: "apps/a", want: touchA, trailers: []gitops.Trailer{{Key: "Bgrender-App", Value: "a"}}},
		{name: "file URL, head commit", opts: gitops.Options{Repo: url}, dir: "apps/c", want: touchC},
		{name: "file URL, root commit", opts: gitops.Options{Repo: url}, dir: "apps/a-b", want: seeded},
		{name: "file URL, never existed", opts: gitops.Options{Repo: url}, dir: "apps/zzz", wantErr: gitops.ErrNotFound},
		{name: "local bare path", opts: gitops.Options{Repo: dir}, dir: "apps/a/overlays", want: seeded},
		{name: "http with history", opts: gitops.Options{Repo: httpURL, History: true}, dir: "apps/a", want: touchA, trailers: []gitops.Trailer{{Key: "Bgrender-App", Value: "a"}}},
		{name: "http depth 1", opts: gitops.Options{Repo: httpURL}, dir: "apps/a", want: touchC, wantErr: gitops.ErrHistoryTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := open(t, tt.opts)
			c, err := r.LastChange(ctx, tt.dir)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LastChange(%s): %v, want %v", tt.dir, err, tt.wantErr)
			}
			if c.Hash != tt.want {
				t.Errorf("LastChange(%s) = %s, want %s", tt.dir, c.Hash, tt.want)
			}
			if !reflect.DeepEqual(c.Trailers, tt.trailers) {
				t.Errorf("trailers = %v, want %v", c.Trailers, tt.trailers)
			}
		})
	}

	t.Run("empty repo", func(t *testing.T) {
		_, url := gitopstest.NewRemote(t, "main")
		if _, err := open(t, gitops.Options{Repo: url}).LastChange(ctx, "apps/a"); !errors.Is(err, gitops.ErrEmptyRepo) {
			t.Errorf("LastChange on an empty repo: %v, want ErrEmptyRepo", err)
		}
	})
}

func TestEmptyRemote(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		initBranch string
		optBranch  string
		http       bool
		wantBranch string
	}{
		{name: "file URL", initBranch: "main", wantBranch: "main"},
		{name: "file URL, HEAD names trunk", initBranch: "trunk", wantBranch: "trunk"},
		{name: "file URL, branch given", initBranch: "main", optBranch: "env", wantBranch: "env"},
		{name: "http", initBranch: "main", http: true, wantBranch: "main"},
		{name: "http, branch given", initBranch: "main", optBranch: "env", http: true, wantBranch: "env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, url := gitopstest.NewRemote(t, tt.initBranch)
			repo := url
			if tt.http {
				repo = gitopstest.ServeHTTP(t, dir, "", "")
			}
			r := open(t, gitops.Options{Repo: repo, Branch: tt.optBranch, Push: true})
			if !r.Head().IsZero() || r.Branch() != tt.wantBranch {
				t.Fatalf("Head, Branch = %s, %q; want zero, %q", r.Head(), r.Branch(), tt.wantBranch)
			}
			files, err := r.ReadDir(ctx, "")
			if err != nil || len(files) != 0 {
				t.Fatalf("ReadDir = %v, %v", files, err)
			}
			if _, err := r.Apply(ctx, gitops.Change{Dir: ".", Message: "init\n", Author: author(0)}); !errors.Is(err, gitops.ErrNoChange) {
				t.Errorf("empty first commit: %v, want ErrNoChange", err)
			}
			res, err := r.Apply(ctx, gitops.Change{Dir: "apps/x", Files: map[string][]byte{"s.yaml": []byte("x")}, Message: "init\n", Author: author(0)})
			if err != nil {
				t.Fatalf("first Apply: %v", err)
			}
			if !res.Pushed || !res.Parent.IsZero() {
				t.Errorf("first Apply = %+v", res)
			}
			if got := gitopstest.Head(t, url, tt.wantBranch); got != res.Commit {
				t.Errorf("remote %s at %s, want %s", tt.wantBranch, got, res.Commit)
			}
			if got := gitopstest.Files(t, url, tt.wantBranch, ""); !reflect.DeepEqual(got, map[string]string{"apps/x/s.yaml": "x"}) {
				t.Errorf("files = %v", got)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir, url, _ := seed(t)
	tests := []struct {
		name    string
		opts    gitops.Options
		wantIs  error
		wantMsg string
	}{
		{name: "missing branch, file URL", opts: gitops.Options{Repo: url, Branch: "nope"}, wantIs: gitops.ErrBranchNotFound},
		{name: "missing branch, http", opts: gitops.Options{Repo: gitopstest.ServeHTTP(t, dir, "", ""), Branch: "nope"}, wantIs: gitops.ErrBranchNotFound},
		{name: "not a repo", opts: gitops.Options{Repo: t.TempDir()}, wantMsg: "repository does not exist"},
		{name: "no repo at file URL", opts: gitops.Options{Repo: "file://" + filepath.ToSlash(t.TempDir())}, wantMsg: "no git repository"},
		{name: "empty", opts: gitops.Options{}, wantMsg: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := gitops.Open(ctx, tt.opts)
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Open: %v, want %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Open: %v, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestHTTPAuthAndRedaction(t *testing.T) {
	ctx := context.Background()
	dir, _, seeded := seed(t)
	base := gitopstest.ServeHTTP(t, dir, "git", "s3cret-token")
	withUser := strings.Replace(base, "http://", "http://git:s3cret-token@", 1)

	t.Run("token", func(t *testing.T) {
		r := open(t, gitops.Options{Repo: base, Auth: gitops.Auth{Token: "s3cret-token"}, Push: true})
		if r.Head() != seeded {
			t.Fatalf("Head = %s", r.Head())
		}
		if _, err := r.Apply(ctx, appChange(1)); err != nil {
			t.Fatalf("Apply with token: %v", err)
		}
	})
	t.Run("credentials in URL are redacted", func(t *testing.T) {
		r := open(t, gitops.Options{Repo: withUser})
		if loc := r.Location(); strings.Contains(loc, "s3cret") || !strings.Contains(loc, "git:xxxxx@") {
			t.Errorf("Location() = %q", loc)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		_, err := gitops.Open(ctx, gitops.Options{Repo: strings.Replace(base, "http://", "http://git:wrong-secret@", 1)})
		if err == nil || strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("Open with a wrong password: %v", err)
		}
		_, err = gitops.Open(ctx, gitops.Options{Repo: base, Auth: gitops.Auth{Token: "wrong-secret"}})
		if err == nil || strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("Open with a wrong token: %v", err)
		}
	})
}

func TestLocation(t *testing.T) {
	dir, url, _ := seed(t)
	tests := []struct{ repo, want string }{
		{url, url},
		{dir, dir},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			r := open(t, gitops.Options{Repo: tt.repo})
			if got := r.Location(); got != tt.want {
				t.Errorf("Location() = %q, want %q", got, tt.want)
			}
			if !r.IsRemote() != (tt.repo == dir) {
				t.Errorf("IsRemote() = %v", r.IsRemote())
			}
		})
	}
}

func TestFindDirsAndReadDir(t *testing.T) {
	ctx := context.Background()
	_, url, _ := seed(t)
	gitopstest.Seed(t, url, "main", map[string]string{"bgrender-state.yaml": "root\n", "deep/er/app/bgrender-state.yaml": "d\n"}, "more\n")
	r := open(t, gitops.Options{Repo: url})
	got, err := r.FindDirs(ctx, "bgrender-state.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".", "apps/a", "apps/a-b", "apps/a.b", "apps/b", "apps/c", "deep/er/app"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FindDirs = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		dir  string
		want int
	}{{"apps/zzz", 0}, {"", 17}, {".", 17}, {"apps/c/overlays", 2}} {
		files, err := r.ReadDir(ctx, tt.dir)
		if err != nil || len(files) != tt.want {
			t.Errorf("ReadDir(%q) = %d files, %v; want %d", tt.dir, len(files), err, tt.want)
		}
	}
	if _, err := r.ReadDir(ctx, "README.md"); err == nil {
		t.Errorf("ReadDir of a file succeeded")
	}
}

func TestApplyWithoutPush(t *testing.T) {
	ctx := context.Background()
	_, url, seeded := seed(t)
	r := open(t, gitops.Options{Repo: url})
	res, err := r.Apply(ctx, appChange(1))
	if err != nil || res.Pushed || r.Head() != res.Commit {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if got := gitopstest.Head(t, url, "main"); got != seeded {
		t.Errorf("remote moved without Push: %s", got)
	}
	files, err := r.ReadDir(ctx, "apps/a")
	if err != nil || string(files["overlays/blue/new.yaml"]) != "new\n" {
		t.Errorf("ReadDir after an unpushed Apply = %v, %v", files, err)
	}
}

func TestFormatMessageAndParseTrailers(t *testing.T) {
	tests := []struct {
		name     string
		subject  string
		body     string
		trailers []gitops.Trailer
		want     string
		parsed   []gitops.Trailer
	}{
		{
			name:     "all parts",
			subject:  "app: promote",
			body:     "Line one.\n\nLine two.",
			trailers: []gitops.Trailer{{Key: "Bgrender-App", Value: "app"}, {Key: "Bgrender-Release", Value: "r1"}},
			want:     "app: promote\n\nLine one.\n\nLine two.\n\nBgrender-App: app\nBgrender-Release: r1\n",
			parsed:   []gitops.Trailer{{Key: "Bgrender-App", Value: "app"}, {Key: "Bgrender-Release", Value: "r1"}},
		},
		{name: "subject only", subject: "fix: thing", want: "fix: thing\n"},
		{
			name:     "no body",
			subject:  "s",
			trailers: []gitops.Trailer{{Key: "K", Value: "v"}},
			want:     "s\n\nK: v\n",
			parsed:   []gitops.Trailer{{Key: "K", Value: "v"}},
		},
		{
			name:     "newlines sanitised",
			subject:  "two\nlines\r\n",
			body:     "body\n\n\n",
			trailers: []gitops.Trailer{{Key: "Key With Space", Value: "a\nInjected: yes"}, {Key: "\n", Value: "dropped"}, {Key: "Empty", Value: ""}},
			want:     "two lines\n\nbody\n\nKey-With-Space: a Injected: yes\nEmpty:\n",
			parsed:   []gitops.Trailer{{Key: "Key-With-Space", Value: "a Injected: yes"}, {Key: "Empty", Value: ""}},
		},
		{
			name:    "body that looks like trailers but no trailers given",
			subject: "s",
			body:    "Not: a trailer",
			want:    "s\n\nNot: a trailer\n",
			parsed:  []gitops.Trailer{{Key: "Not", Value: "a trailer"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gitops.FormatMessage(tt.subject, tt.body, tt.trailers)
			if got != tt.want {
				t.Errorf("FormatMessage = %q, want %q", got, tt.want)
			}
			if p := gitops.ParseTrailers(got); !reflect.DeepEqual(p, tt.parsed) {
				t.Errorf("ParseTrailers = %v, want %v", p, tt.parsed)
			}
		})
	}

	for _, tt := range []struct {
		msg  string
		want []gitops.Trailer
	}{
		{"s\n\nbody\nKey: v\n", nil},
		{"Key: v\n", nil},
		{"s\r\n\r\nA: 1\r\nB-2: two words \r\n", []gitops.Trailer{{Key: "A", Value: "1"}, {Key: "B-2", Value: "two words"}}},
		{"s\n\nA: 1\n\n\n", []gitops.Trailer{{Key: "A", Value: "1"}}},
		{"", nil},
	} {
		if got := gitops.ParseTrailers(tt.msg); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseTrailers(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

func TestInitBare(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x.git")
	if err := gitops.InitBare(dir, "trunk"); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil || head.Target() != plumbing.NewBranchReferenceName("trunk") {
		t.Errorf("HEAD = %v, %v", head, err)
	}
	if err := gitops.InitBare(dir, "trunk"); err == nil {
		t.Errorf("InitBare over an existing repo succeeded")
	}
	if err := gitops.InitBare(filepath.Join(t.TempDir(), "y"), "bad..name"); err == nil {
		t.Errorf("InitBare with a bad branch name succeeded")
	}
}

// The pushed objects must be complete: everything the new commit reaches is
// on the remote (the HTTP server checks this too, as git does).
func TestPushedObjectsAreComplete(t *testing.T) {
	ctx := context.Background()
	dir, url, _ := seed(t)
	for _, repo := range []string{url, gitopstest.ServeHTTP(t, dir, "", "")} {
		r := open(t, gitops.Options{Repo: repo, Push: true})
		c := appChange(1)
		c.Dir = "apps/" + filepath.Base(repo)
		res, err := r.Apply(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		remote, err := git.PlainOpen(dir)
		if err != nil {
			t.Fatal(err)
		}
		commit, err := remote.CommitObject(res.Commit)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := object.NewCommitPreorderIter(commit, nil, nil).ForEach(func(c *object.Commit) error {
			tree, err := c.Tree()
			if err != nil {
				return err
			}
			return tree.Files().ForEach(func(f *object.File) error { n++; _, err := f.Contents(); return err })
		}); err != nil {
			t.Errorf("remote history incomplete after pushing from %s: %v", repo, err)
		}
		if n == 0 {
			t.Errorf("no files read")
		}
	}
}

func TestLocalCheckoutOtherBranch(t *testing.T) {
	ctx := context.Background()
	_, url, seeded := seed(t)
	co := gitopstest.Clone(t, url)
	repo, err := git.PlainOpen(co)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("staging"), seeded)); err != nil {
		t.Fatal(err)
	}
	r := open(t, gitops.Options{Repo: co, Branch: "staging", Push: true})
	// Not checked out: nothing to check, and the worktree is not touched.
	write(t, co, "apps/a/untracked.yaml", "u\n")
	if err := r.CheckClean(ctx, "apps/a"); err != nil {
		t.Errorf("CheckClean on a branch that is not checked out: %v", err)
	}
	if err := os.Remove(filepath.Join(co, "apps/a/untracked.yaml")); err != nil {
		t.Fatal(err)
	}
	c := appChange(1)
	// origin has no staging branch: the compare-and-swap fails.
	if _, err := r.Apply(ctx, c); !errors.Is(err, gitops.ErrPushRejected) || !strings.Contains(err.Error(), "push the branch first") {
		t.Fatalf("Apply with staging missing on origin: %v, want ErrPushRejected", err)
	}
	if got := gitopstest.Head(t, co, "staging"); got != seeded {
		t.Fatalf("staging not restored: %s", got)
	}
	remote, err := git.PlainOpen(strings.TrimPrefix(url, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("staging"), seeded)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(ctx, c); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := gitopstest.Files(t, co, "staging", "apps/a"); !reflect.DeepEqual(got, wantAppFiles()) {
		t.Errorf("staging apps/a = %v", got)
	}
	if got := gitopstest.Head(t, co, "main"); got != seeded {
		t.Errorf("main moved to %s", got)
	}
	if got := gitopstest.Head(t, url, "staging"); got != r.Head() {
		t.Errorf("origin staging at %s, want %s", got, r.Head())
	}
	assertClean(t, co)
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	_, url, _ := seed(t)
	r, err := gitops.Open(ctx, gitops.Options{Repo: url})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.ReadDir(ctx, "apps/a"); err == nil {
		t.Error("ReadDir after Close succeeded")
	}
	if _, err := r.FindDirs(ctx, "x"); err == nil {
		t.Error("FindDirs after Close succeeded")
	}
	if _, err := r.LastChange(ctx, "apps/a"); err == nil {
		t.Error("LastChange after Close succeeded")
	}
	if _, err := r.Apply(ctx, appChange(1)); err == nil {
		t.Error("Apply after Close succeeded")
	}
}

// TestFindDirVersion: the walk finds the commit that made a version of a
// dir, past later edits and commits that touch other dirs, and stops at
// the limit.
func TestFindDirVersion(t *testing.T) {
	ctx := context.Background()
	_, url := gitopstest.NewRemote(t, "main")
	v1 := gitopstest.Seed(t, url, "main", map[string]string{"apps/a/snap/x.yaml": "v1\n", "apps/a/snap/y.yaml": "y\n"}, "v1")
	gitopstest.Seed(t, url, "main", map[string]string{"apps/b/x.yaml": "b\n"}, "b")
	v2 := gitopstest.Seed(t, url, "main", map[string]string{"apps/a/snap/x.yaml": "v2\n"}, "v2")
	gitopstest.Seed(t, url, "main", map[string]string{"apps/a/snap/x.yaml": "hand edit\n"}, "edit")
	r := open(t, gitops.Options{Repo: url, History: true})
	is := func(want string) func(map[string][]byte) bool {
		return func(f map[string][]byte) bool { return string(f["x.yaml"]) == want && string(f["y.yaml"]) == "y\n" }
	}
	for _, tc := range []struct {
		want  string
		limit int
		hash  plumbing.Hash
		err   error
	}{
		{"v1\n", 10, v1, nil},
		{"v2\n", 10, v2, nil},
		{"v1\n", 2, plumbing.ZeroHash, gitops.ErrNotFound},
		{"never\n", 10, plumbing.ZeroHash, gitops.ErrNotFound},
	} {
		c, err := r.FindDirVersion(ctx, "apps/a/snap", tc.limit, is(tc.want))
		if !errors.Is(err, tc.err) || c.Hash != tc.hash {
			t.Errorf("FindDirVersion(%q, limit %d) = %s, %v; want %s, %v", tc.want, tc.limit, c.Hash, err, tc.hash, tc.err)
		}
	}
}

func TestFindRoot(t *testing.T) {
	dir := t.TempDir()
	checkout := filepath.Join(dir, "env")
	app := filepath.Join(checkout, "apps", "podinfo", "base")
	bare := filepath.Join(dir, "bare.git")
	if err := gitops.InitBare(bare, "main"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(checkout, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir, root, rel string
		ok             bool
	}{
		{checkout, checkout, ".", true},
		{app, checkout, "apps/podinfo/base", true},
		{filepath.Join(checkout, "apps"), checkout, "apps", true},
		{bare, bare, ".", true},
		{dir, dir, ".", false},
	} {
		root, rel, ok := gitops.FindRoot(tc.dir)
		if root != tc.root || rel != tc.rel || ok != tc.ok {
			t.Errorf("FindRoot(%s) = %s, %s, %v; want %s, %s, %v", tc.dir, root, rel, ok, tc.root, tc.rel, tc.ok)
		}
	}
}

// TestLocationRules: one classification of --repo values and one
// redaction, for every caller.
func TestLocationRules(t *testing.T) {
	for in, remote := range map[string]bool{
		"https://github.com/acme/env.git": true,
		"file:///srv/env.git":             true,
		"git@github.com:acme/env.git":     true,
		"github.com:acme/env.git":         true,
		"/srv/env":                        false,
		".":                               false,
		"../env":                          false,
		"apps/env":                        false,
	} {
		if got := gitops.IsRemote(in); got != remote {
			t.Errorf("IsRemote(%q) = %v, want %v", in, got, remote)
		}
	}
	for in, want := range map[string]string{
		"https://x-access-token:s3cr3t@github.com/acme/env.git": "https://github.com/acme/env.git",
		"https://s3cr3t@gitlab.com/acme/env.git":                "https://gitlab.com/acme/env.git",
		"ssh://git@example.com/acme/env.git":                    "ssh://example.com/acme/env.git",
		"git@github.com:acme/env.git":                           "git@github.com:acme/env.git",
		"/srv/env":                                              "/srv/env",
	} {
		if got := gitops.WithoutCredentials(in); got != want {
			t.Errorf("WithoutCredentials(%q) = %q, want %q", in, got, want)
		}
	}
	if got := gitops.Redacted("https://x:s3cr3t@github.com/acme/env.git"); strings.Contains(got, "s3cr3t") || !strings.Contains(got, "github.com/acme/env.git") {
		t.Errorf("Redacted = %q", got)
	}
}
