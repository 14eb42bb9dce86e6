package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestSIGKILLNeverCorrupts kills bgrender with SIGKILL at random points of
// 200 transitions. After every kill the remote's branch is at the old head
// or at exactly one new commit on top of it, and `check --all` passes at
// every commit of the resulting history.
func TestSIGKILLNeverCorrupts(t *testing.T) {
	const transitions = 200
	dir, url := gitopstest.NewRemote(t, "main")
	e := newEnvOn(t, url, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	bin := binary(t)
	// How long one transition takes here, unkilled: kill points are spread
	// over 0-150% of that, so some land and some do not.
	start := time.Now()
	for _, args := range [][]string{{"deploy", "--version", "v0"}, {"abort"}} {
		if out, err := exec.Command(bin, append([]string{"--repo", url, "--app", "apps/myapp"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	span := time.Since(start) * 3 / 4
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the kill points are reproducible
	landed, killed, locks, streak := 0, 0, 0, 0
	testing := false
	for i := 0; i < transitions; i++ {
		before := gitopstest.Head(t, url, "main")
		args := []string{"--repo", url, "--app", "apps/myapp", "abort"}
		if !testing {
			args = []string{"--repo", url, "--app", "apps/myapp", "deploy", "--version", "v" + string(rune('a'+i%26))}
		}
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(span))))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok && !ee.Exited() {
			killed++
		}
		if fileExists(filepath.Join(dir, "refs", "heads", "main.lock")) {
			// Killed while holding the ref lock: the next transitions wait
			// for it to turn stale and then take it (checked below: they
			// keep landing).
			locks++
		}
		after := gitopstest.Head(t, url, "main")
		// Keep both outcomes coming whatever the machine's load: widen the
		// kill window after a run of kills, narrow it after a run of landings.
		if after == before {
			streak = max(streak, 0) + 1
		} else {
			streak = min(streak, 0) - 1
		}
		switch {
		case streak >= 8:
			span, streak = span*3/2, 0
		case streak <= -8:
			span, streak = span*2/3, 0
		}
		if after == before {
			continue
		}
		log := gitopstest.Log(t, url, "main")
		if len(log) < 2 || log[1].Hash != before {
			t.Fatalf("transition %d: the branch moved from %s to %s, which is not one commit on top of it", i, before, after)
		}
		landed++
		testing = !testing
	}
	t.Logf("%d transitions (one takes about %s unkilled), %d killed with SIGKILL before exiting, %d landed, %d kills left the ref lock behind", transitions, span*2/3, killed, landed, locks)
	// A lock left behind must not block the branch: an unkilled transition lands.
	next := []string{"--repo", url, "--app", "apps/myapp", "abort"}
	if !testing {
		next = []string{"--repo", url, "--app", "apps/myapp", "deploy", "--version", "vfinal"}
	}
	if out, err := exec.Command(bin, next...).CombinedOutput(); err != nil {
		t.Fatalf("the branch is blocked after the kills: %v\n%s", err, out)
	}
	if landed == 0 || killed == 0 {
		t.Fatalf("the kill points did not cover both outcomes: %d landed, %d killed", landed, killed)
	}

	// check --all at every commit of the history.
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range gitopstest.Log(t, url, "main") {
		ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName("at"), c.Hash)
		if err := repo.Storer.SetReference(ref); err != nil {
			t.Fatal(err)
		}
		if r := bg(t, "--repo", url, "--branch", "at", "check", "--all"); r.code != 0 {
			t.Fatalf("check --all fails at commit %d (%s %s):\n%s%s", i, c.Hash, strings.SplitN(c.Message, "\n", 2)[0], r.stdout, r.stderr)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
