package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// killRun is one run of the SIGKILL tests: the transitions alternate deploy
// and abort, each killed at a random point of its run.
type killRun struct {
	t    *testing.T
	bin  string
	repo string // what --repo is
	dir  string // the bare remote
	rng  *rand.Rand
	span time.Duration

	testing                       bool // a release is under test: the next transition is an abort
	landed, killed, foreign, runs int
	streak                        int
}

// lockMessage finds the lock file a refusal names ("rm PATH").
var lockMessage = regexp.MustCompile(`\(rm ([^ )]+\.lock)\)`)

// newKillRun measures one unkilled transition: kill points are spread over
// 0-150% of it, so that some land and some do not.
func newKillRun(t *testing.T, repo, dir string) *killRun {
	k := &killRun{t: t, bin: binary(t), repo: repo, dir: dir, rng: rand.New(rand.NewPCG(1, 2))} // fixed seed: reproducible kill points
	start := time.Now()
	for _, args := range [][]string{{"deploy", "--version", "v0"}, {"abort"}} {
		if out, err := exec.Command(k.bin, append([]string{"--repo", repo, "--app", "apps/myapp"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	k.span = time.Since(start) * 3 / 4
	return k
}

func (k *killRun) args(i int) []string {
	if k.testing {
		return []string{"--repo", k.repo, "--app", "apps/myapp", "abort"}
	}
	return []string{"--repo", k.repo, "--app", "apps/myapp", "deploy", "--version", "v" + string(rune('a'+i%26))}
}

// once runs transition i, killing it at a random point, and checks that the
// remote is at the old head or one commit on top of it. A run that exits
// refusing a lock it cannot prove is a dead bgrender's (one killed between
// creating it and recording it) has it removed, as its message says.
func (k *killRun) once(i int) {
	t := k.t
	t.Helper()
	before := gitopstest.Head(t, k.dir, "main")
	cmd := exec.Command(k.bin, k.args(i)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Duration(k.rng.Int64N(int64(k.span))))
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	k.runs++
	if ee, ok := err.(*exec.ExitError); ok && !ee.Exited() {
		k.killed++
	} else if m := lockMessage.FindStringSubmatch(stderr.String()); m != nil {
		k.foreign++
		if err := os.Remove(m[1]); err != nil {
			t.Fatalf("the lock named in %q: %v", stderr.String(), err)
		}
	}
	after := gitopstest.Head(t, k.dir, "main")
	// Keep both outcomes coming whatever the machine's load: widen the kill
	// window after a run of kills, narrow it after a run of landings.
	if after == before {
		k.streak = max(k.streak, 0) + 1
	} else {
		k.streak = min(k.streak, 0) - 1
	}
	// Four in a row is enough to tell: the small default run has 16.
	switch {
	case k.streak >= 4:
		k.span, k.streak = min(k.span*2, 20*time.Second), 0
	case k.streak <= -4:
		k.span, k.streak = k.span*2/3, 0
	}
	if after == before {
		return
	}
	log := gitopstest.Log(t, k.dir, "main")
	if len(log) < 2 || log[1].Hash != before {
		t.Fatalf("transition %d: the branch moved from %s to %s, which is not one commit on top of it", i, before, after)
	}
	k.landed++
	k.testing = !k.testing
}

// finish runs one unkilled transition, which must succeed, and checks both
// outcomes were covered.
func (k *killRun) finish() {
	t := k.t
	t.Helper()
	if out, err := exec.Command(k.bin, k.args(0)...).CombinedOutput(); err != nil {
		t.Fatalf("the transition after the kills fails: %v\n%s", err, out)
	}
	if k.landed == 0 || k.killed == 0 {
		t.Fatalf("the kill points did not cover both outcomes: %d landed, %d killed", k.landed, k.killed)
	}
	t.Logf("%d transitions (one takes about %s unkilled), %d killed with SIGKILL before exiting, %d landed, %d runs met a lock left by a kill that they could not prove dead (removed as the message said)",
		k.runs, k.span*2/3, k.killed, k.landed, k.foreign)
}

// TestSIGKILLNeverCorrupts kills bgrender with SIGKILL at random points of
// 200 transitions (16 unless BGRENDER_TEST_FULL=1) on a remote URL. After every kill the remote's branch is
// at the old head or at exactly one new commit on top of it; a lock a killed
// run left is removed by the next run (it proves it dead) rather than
// blocking the branch; and `check --all` passes at every commit.
func TestSIGKILLNeverCorrupts(t *testing.T) {
	t.Parallel()
	dir, url := gitopstest.NewRemote(t, "main")
	e := newEnvOn(t, url, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	k := newKillRun(t, url, dir)
	for i, n := 0, testSize(t, 16, 200); i < n; i++ {
		k.once(i)
	}
	k.finish()
	checkEveryCommit(t, dir, url)
}

// TestSIGKILLInACheckout: the same in a local checkout, 100 kills (16
// unless BGRENDER_TEST_FULL=1). After
// every kill, git fsck and git status succeed in the checkout, whose branch
// is at a commit of the remote's branch: where it was, or at the pushed
// commit, or on its way there (the next run finishes the update), never at
// a commit the remote lacks; the next transition works; and at the end the
// checkout is clean at the remote's head.
func TestSIGKILLInACheckout(t *testing.T) {
	t.Parallel()
	dir, url := gitopstest.NewRemote(t, "main")
	e := newEnvOn(t, url, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	checkout := gitopstest.Clone(t, url)
	k := newKillRun(t, checkout, dir)
	journals := 0
	for i, n := 0, testSize(t, 16, 100); i < n; i++ {
		k.once(i)
		if fileExists(filepath.Join(checkout, ".git", "bgrender-checkout")) {
			journals++ // killed while bringing the checkout forward: the next run finishes it
		}
		gitopstest.Git(t, checkout, "fsck", "--no-progress")
		gitopstest.Git(t, checkout, "status", "--porcelain")
		local := gitopstest.Head(t, checkout, "main")
		onRemote := false
		for _, c := range gitopstest.Log(t, dir, "main") {
			onRemote = onRemote || c.Hash == local
		}
		if !onRemote {
			t.Fatalf("kill %d: the checkout's branch is at %s, which the remote's branch does not have", i, local)
		}
	}
	k.finish()
	t.Logf("%d kills left the checkout's update half done; the next run finished each", journals)
	if got, want := gitopstest.Head(t, checkout, "main"), gitopstest.Head(t, dir, "main"); got != want {
		t.Fatalf("the checkout is at %s after an unkilled transition, want the remote's %s", got, want)
	}
	if out := gitopstest.Git(t, checkout, "status", "--porcelain"); out != "" {
		t.Fatalf("the checkout is not clean:\n%s", out)
	}
	if fileExists(filepath.Join(checkout, ".git", "bgrender-checkout")) {
		t.Fatal("an update journal is left")
	}
	checkEveryCommit(t, dir, url)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
