package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestPropose puts a commit on a pull request branch in every mode: the
// base branch does not move, and a second proposal replaces the first.
func TestPropose(t *testing.T) {
	const prBranch = "bgrender/a/rollback-r-1"
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir, url, head := seed(t)
			repo := m.repo(t, dir, url)
			ctx := context.Background()
			r := open(t, gitops.Options{Repo: repo, Branch: "main", Push: true})
			first, err := r.Propose(ctx, gitops.Change{Dir: "apps/a", Files: map[string][]byte{"bgrender-state.yaml": []byte("a: 2\n")}, Message: "a: rollback\n", Author: author(1)}, prBranch)
			if err != nil {
				t.Fatalf("Propose: %v", err)
			}
			if first.Parent != head || first.Pushed != m.pushes {
				t.Fatalf("Propose = %+v, want parent %s, pushed %v", first, head, m.pushes)
			}
			if got := gitopstest.Head(t, url, "main"); got != head {
				t.Fatalf("base branch moved to %s", got)
			}
			if r.Head() != head {
				t.Fatalf("Repo.Head moved to %s", r.Head())
			}
			if got := gitopstest.Head(t, url, prBranch); got != first.Commit {
				t.Fatalf("%s is at %s, want %s", prBranch, got, first.Commit)
			}
			if got := gitopstest.Files(t, url, prBranch, "apps/a")["bgrender-state.yaml"]; got != "a: 2\n" {
				t.Fatalf("state on the branch = %q", got)
			}

			// Rendering the proposal again replaces the branch (not on top of it).
			second, err := open(t, gitops.Options{Repo: repo, Branch: "main", Push: true}).Propose(ctx,
				gitops.Change{Dir: "apps/a", Files: map[string][]byte{"bgrender-state.yaml": []byte("a: 3\n")}, Message: "a: rollback again\n", Author: author(2)}, prBranch)
			if err != nil {
				t.Fatalf("second Propose: %v", err)
			}
			if second.Parent != head {
				t.Fatalf("second proposal's parent = %s, want the base head %s", second.Parent, head)
			}
			if got := gitopstest.Head(t, url, prBranch); got != second.Commit {
				t.Fatalf("%s is at %s, want %s", prBranch, got, second.Commit)
			}
			if got := gitopstest.Head(t, url, "main"); got != head {
				t.Fatalf("base branch moved to %s", got)
			}
		})
	}
}

func TestProposeRefusesBadBranches(t *testing.T) {
	_, url, head := seed(t)
	r := open(t, gitops.Options{Repo: url, Branch: "main", Push: true})
	for _, b := range []string{"main", "bad..name", "ends/", ""} {
		_, err := r.Propose(context.Background(), gitops.Change{Dir: "apps/a", Files: map[string][]byte{"x": []byte("y\n")}, Message: "m\n", Author: author(1)}, b)
		if err == nil {
			t.Fatalf("Propose to %q: no error", b)
		}
		want := fmt.Sprintf("branch %q", b) // names the bad branch
		if b == "main" {
			want = "must differ from the base branch main"
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Propose to %q: error %q does not say %q", b, err, want)
		}
	}
	if got := gitopstest.Head(t, url, "main"); got != head {
		t.Fatalf("base branch moved to %s", got)
	}
}

// TestProposeNoChange: a proposal that changes nothing is not pushed.
func TestProposeNoChange(t *testing.T) {
	_, url, _ := seed(t)
	r := open(t, gitops.Options{Repo: url, Branch: "main", Push: true})
	_, err := r.Propose(context.Background(), gitops.Change{Dir: "apps/a", Files: map[string][]byte{"bgrender-state.yaml": []byte("a: 1\n")}, Message: "m\n", Author: author(1)}, "bgrender/a/x")
	if !errors.Is(err, gitops.ErrNoChange) {
		t.Fatalf("Propose = %v, want ErrNoChange", err)
	}
	if got := gitopstest.Head(t, url, "bgrender/a/x"); got != (plumbing.Hash{}) {
		t.Fatalf("branch created at %s", got)
	}
}

// TestProposeOverSSH: the pull request branch is created, then replaced, in
// one receive-pack session each, over SSH.
func TestProposeOverSSH(t *testing.T) {
	dir, _, head := seed(t)
	key, pub := gitopstest.NewSSHKey(t, "")
	url, knownHosts := gitopstest.ServeSSH(t, dir, pub)
	t.Setenv("SSH_KNOWN_HOSTS", knownHosts)
	const branch = "bgrender/a/rollback-r-2"
	for i, state := range []string{"a: 2\n", "a: 3\n"} {
		r := open(t, gitops.Options{Repo: url, Push: true, Auth: gitops.Auth{SSHKeyFile: key}})
		res, err := r.Propose(context.Background(), gitops.Change{Dir: "apps/a", Files: map[string][]byte{"bgrender-state.yaml": []byte(state)}, Message: "a: rollback\n", Author: author(i)}, branch)
		if err != nil {
			t.Fatalf("Propose %d: %v", i, err)
		}
		if got := gitopstest.Head(t, dir, branch); got != res.Commit || res.Parent != head || !res.Pushed {
			t.Fatalf("Propose %d = %+v; %s at %s, want %s on %s", i, res, branch, got, res.Commit, head)
		}
	}
	if got := gitopstest.Head(t, dir, "main"); got != head {
		t.Fatalf("main moved to %s", got)
	}
}
