package gitops_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestReadOnlyRemoteTracking opens a base branch that a CI checkout has only
// as origin/BRANCH, and refuses to commit on it.
func TestReadOnlyRemoteTracking(t *testing.T) {
	_, url, head := seed(t)
	checkout := gitopstest.Clone(t, url)
	// A CI checkout of a pull request branch: the base exists only as origin/base.
	if _, err := open(t, gitops.Options{Repo: url, Push: true}).Propose(context.Background(),
		gitops.Change{Files: map[string][]byte{"x": []byte("1\n")}, Message: "base branch\n", Author: author(1)}, "base"); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = checkout
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git("fetch", "origin", "base:refs/remotes/origin/base")
	baseHead := gitopstest.Head(t, url, "base")

	if _, err := gitops.Open(context.Background(), gitops.Options{Repo: checkout, Branch: "base"}); !errors.Is(err, gitops.ErrBranchNotFound) {
		t.Fatalf("Open without ReadOnly = %v, want ErrBranchNotFound", err)
	}
	for _, b := range []string{"base", "origin/base"} {
		r := open(t, gitops.Options{Repo: checkout, Branch: b, ReadOnly: true})
		if r.Head() != baseHead {
			t.Fatalf("ReadOnly %s: head %s, want %s", b, r.Head(), baseHead)
		}
		_, err := r.Apply(context.Background(), gitops.Change{Dir: "apps/a", Files: map[string][]byte{"f": []byte("x\n")}, Message: "m\n", Author: author(1)})
		if err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("Apply on a read-only repo = %v, want a refusal", err)
		}
	}
	// A local branch still wins over a remote-tracking one.
	r := open(t, gitops.Options{Repo: checkout, Branch: "main", ReadOnly: true})
	if r.Head() != head {
		t.Fatalf("main: head %s, want %s", r.Head(), head)
	}
}

// TestDirHash compares an app dir's tree across commits and repositories.
func TestDirHash(t *testing.T) {
	dir, url, head := seed(t)
	ctx := context.Background()
	r := open(t, gitops.Options{Repo: url, Push: true})
	res, err := r.Apply(ctx, gitops.Change{Dir: "apps/b", Files: map[string][]byte{"bgrender-state.yaml": []byte("b: 2\n")}, Message: "b\n", Author: author(1)})
	if err != nil {
		t.Fatal(err)
	}
	other := open(t, gitops.Options{Repo: dir})
	hash := func(r *gitops.Repo, c plumbing.Hash, d string) plumbing.Hash {
		t.Helper()
		h, err := r.DirHash(ctx, c, d)
		if err != nil {
			t.Fatalf("DirHash(%s, %s): %v", c, d, err)
		}
		return h
	}
	if a0, a1 := hash(r, head, "apps/a"), hash(other, res.Commit, "apps/a"); a0 != a1 || a0.IsZero() {
		t.Fatalf("apps/a: %s before, %s after an unrelated commit; want equal, non-zero", a0, a1)
	}
	if b0, b1 := hash(r, head, "apps/b"), hash(r, res.Commit, "apps/b"); b0 == b1 {
		t.Fatalf("apps/b: unchanged hash %s after a change", b0)
	}
	if h := hash(r, head, "apps/none"); !h.IsZero() {
		t.Fatalf("missing dir: %s, want zero", h)
	}
}

// TestReadOnlyDetached reads a detached HEAD, and a base branch in a fresh
// CI checkout that has no local branch at all, only origin/*.
func TestReadOnlyDetached(t *testing.T) {
	_, url, head := seed(t)
	ws := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = ws
		cmd.Env = []string{"HOME=" + ws, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "PATH=/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git("init", "-q")
	git("remote", "add", "origin", url)
	git("fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
	git("checkout", "-q", "--detach", head.String())

	if _, err := gitops.Open(context.Background(), gitops.Options{Repo: ws}); err == nil || !strings.Contains(err.Error(), "detached") {
		t.Fatalf("Open of a detached HEAD without ReadOnly = %v, want a refusal", err)
	}
	r := open(t, gitops.Options{Repo: ws, ReadOnly: true})
	if r.Head() != head || r.Branch() != "HEAD" {
		t.Fatalf("detached: head %s on %q, want %s on HEAD", r.Head(), r.Branch(), head)
	}
	files, err := r.ReadDir(context.Background(), "apps/a")
	if err != nil || string(files["bgrender-state.yaml"]) != "a: 1\n" {
		t.Fatalf("ReadDir on a detached HEAD: %v %q", err, files["bgrender-state.yaml"])
	}
	for _, b := range []string{"main", "origin/main"} {
		if r := open(t, gitops.Options{Repo: ws, Branch: b, ReadOnly: true}); r.Head() != head {
			t.Fatalf("%s in a checkout without local branches: head %s, want %s", b, r.Head(), head)
		}
	}
}

// TestCommitTrailer reads one trailer of a commit read back from history;
// a repeated key gives its last value.
func TestCommitTrailer(t *testing.T) {
	c := gitops.Commit{Trailers: gitops.ParseTrailers("a: rollback\n\nBgrender-App: a\nBgrender-Release: r-1\nBgrender-Release: r-2\n")}
	for key, want := range map[string]string{"Bgrender-App": "a", "Bgrender-Release": "r-2", "Bgrender-Color": ""} {
		if got := c.Trailer(key); got != want {
			t.Errorf("Trailer(%q) = %q, want %q", key, got, want)
		}
	}
}
