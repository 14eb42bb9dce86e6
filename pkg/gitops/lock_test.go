package gitops

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestLockHolderHelper is the child of TestKilledLockHolders: it swaps a ref
// back and forth until it is killed.
func TestLockHolderHelper(t *testing.T) {
	dir := os.Getenv("BGRENDER_LOCK_HELPER_DIR")
	if dir == "" {
		return // not a child
	}
	name := plumbing.NewBranchReferenceName("main")
	a := plumbing.NewHash("1111111111111111111111111111111111111111")
	b := plumbing.NewHash("2222222222222222222222222222222222222222")
	for {
		cur, _, _ := readRef(dir, name)
		next := a
		if cur == a {
			next = b
		}
		if err := casRef(dir, name, cur, next); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
	}
}

// TestKilledLockHolders kills, at random moments, a process that does
// nothing but update a ref: each lock it leaves is proven its own and
// removed by the next update, which never finds the ref broken.
func TestKilledLockHolders(t *testing.T) {
	dir := t.TempDir()
	name := plumbing.NewBranchReferenceName("main")
	if err := casRef(dir, name, plumbing.ZeroHash, plumbing.NewHash("1111111111111111111111111111111111111111")); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	lock := filepath.Join(dir, "refs", "heads", "main.lock")
	leaks := 0
	for i := 0; i < 150; i++ {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestLockHolderHelper$")
		cmd.Env = append(os.Environ(), "BGRENDER_LOCK_HELPER_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(20 * time.Millisecond))))
		_ = cmd.Process.Kill()
		if err := cmd.Wait(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.Exited() {
				t.Fatalf("the helper failed on its own (exit %d)", ee.ExitCode())
			}
		}
		if fileExists(lock) {
			leaks++
		}
		cur, ok, err := readRef(dir, name)
		if err != nil || !ok {
			t.Fatalf("kill %d: the ref is broken: %v", i, err)
		}
		next := plumbing.NewHash("3333333333333333333333333333333333333333")
		if err := casRef(dir, name, cur, next); err != nil {
			t.Fatalf("kill %d: the update after it: %v", i, err)
		}
		if err := casRef(dir, name, next, cur); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("150 kills of a process updating a ref: %d left its lock, every one removed by the next update", leaks)
	if ents, _ := os.ReadDir(filepath.Join(dir, lockDir)); len(ents) != 0 {
		t.Errorf("files left in %s: %v", lockDir, ents)
	}
}
