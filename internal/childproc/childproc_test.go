package childproc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/childproc"
)

// A child that ignores SIGTERM, with a child of its own, is gone after Stop:
// the whole process group is killed once the grace is up.
func TestStopKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "grandchild.pid")
	p, err := childproc.Start("stubborn", "/bin/sh", []string{"-c", `trap '' TERM; sleep 60 & echo $! > ` + marker + `; echo started; wait`}, nil, filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.LogTail(100), "started"); {
		if time.Now().After(deadline) {
			t.Fatalf("the child did not start: %q", p.LogTail(100))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p.Exited() {
		t.Fatal("exited early")
	}
	start := time.Now()
	p.Stop(200 * time.Millisecond)
	if !p.Exited() || p.Err() == nil {
		t.Fatalf("after Stop: exited %v, err %v", p.Exited(), p.Err())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %s", d)
	}
	pid, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	// SIGKILL is delivered at once but takes effect when the kernel next
	// runs the process: allow it a moment. A zombie (dead, not yet reaped
	// by its new parent) is gone as far as the test is concerned.
	alive := func() bool {
		stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/stat")
		return err == nil && !strings.Contains(string(stat), ") Z")
	}
	for deadline := time.Now().Add(5 * time.Second); alive(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the grandchild %s outlived Stop", strings.TrimSpace(string(pid)))
		}
	}
}
