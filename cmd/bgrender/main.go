// Command bgrender runs blue-green releases on Kubernetes and Istio the GitOps
// way: every transition is one commit to the environment repo, rendered as
// kustomize overlays, for Argo CD or Flux to apply.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

func main() {
	softMemoryLimit(os.Getenv)
	ctx, stop := stopOnSignal(context.Background(), os.Stderr, os.Exit, time.Second)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// stopOnSignal returns a context that SIGINT or SIGTERM cancels, with the
// signal as its cause (run turns it into exit code 128+signal). Whatever is
// running gets grace to stop cleanly; past it, or at a second signal, the
// process exits: every command honours a signal within grace. A transition
// killed so leaves the repo as a SIGKILL would, which is safe: its push is
// a compare-and-swap, and a checkout's half-done update is finished by the
// next run.
// defaultMemoryLimit is the soft limit of the Go runtime's memory: the
// garbage collector works harder near it instead of letting the heap grow
// to twice what is live (check --all of 1,000 apps on two cores peaked at
// 119 MiB of RSS without it, 95 MiB with it, in the same time; the binary
// itself is 52 MiB of that). It is soft: a command that needs more gets it,
// at some extra collection (at most half the CPU, by the runtime's cap).
const defaultMemoryLimit = 48 << 20

// softMemoryLimit sets defaultMemoryLimit unless $GOMEMLIMIT sets one, and
// returns the limit in force.
func softMemoryLimit(getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1) // the runtime read it at start
	}
	debug.SetMemoryLimit(defaultMemoryLimit)
	return defaultMemoryLimit
}

func stopOnSignal(parent context.Context, stderr interface{ WriteString(string) (int, error) }, exit func(int), grace time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var s os.Signal
		select {
		case s = <-sigs:
		case <-done:
			return
		}
		cancel(signalError{s})
		select {
		case <-sigs:
		case <-time.After(grace):
		case <-done:
			return
		}
		stderr.WriteString("bgrender: " + signalError{s}.Error() + ": stopped without finishing\n")
		exit(signalCode(s))
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// signalError is the cause of a context a signal cancelled.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "interrupted by " + sigName(e.sig) }

func sigName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// signalCode is the shell's exit code for a process ended by s.
func signalCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}
