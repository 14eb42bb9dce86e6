package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestStopOnSignal: the first SIGTERM cancels the context with the signal as
// its cause; if the command has not returned within the grace, the process
// exits with 128+15.
func TestStopOnSignal(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var out strings.Builder
	exited := make(chan int, 1)
	ctx, stop := stopOnSignal(context.Background(), writerFunc(func(s string) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.WriteString(s)
	}), func(code int) { exited <- code }, 50*time.Millisecond)
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	var sig signalError
	if !errors.As(context.Cause(ctx), &sig) || sig.sig != syscall.SIGTERM {
		t.Fatalf("cause = %v", context.Cause(ctx))
	}
	select {
	case code := <-exited:
		if code != 143 {
			t.Fatalf("exit code %d, want 143", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after the grace")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(out.String(), "interrupted by SIGTERM: stopped without finishing") {
		t.Errorf("stderr: %q", out.String())
	}
}

type writerFunc func(string) (int, error)

func (f writerFunc) WriteString(s string) (int, error) { return f(s) }

// TestSIGTERMStopsAWait: bgrender waiting on an Argo CD server that never
// answers stops at SIGTERM with exit 143, saying so, well within the
// second it is given. (The deadline below only stops a hang.)
func TestSIGTERMStopsAWait(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	asked := make(chan struct{}, 16)
	hang := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- struct{}{}
		<-hang
	})}
	go srv.Serve(ln)
	defer func() { close(hang); srv.Close() }()

	e := newEnv(t, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	e.run(0, "deploy", "--version", "v1", "--no-wait")
	head := e.head()
	cmd := exec.Command(binary(t), "--repo", e.url, "--app", "apps/a", "wait", "--controller", "argocd", "--argocd-server", "http://"+ln.Addr().String())
	cmd.Env = append(os.Environ(), "BGRENDER_ARGOCD_TOKEN=t0ken")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-asked:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("bgrender never asked the server:\n%s", stderr.String())
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("bgrender did not stop at SIGTERM")
	}
	t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Fatalf("exit %v, want 143\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted by SIGTERM") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if e.head() != head {
		t.Error("the remote moved")
	}
}
