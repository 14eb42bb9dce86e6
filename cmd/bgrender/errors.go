package main

import (
	"fmt"

	"github.com/bgrender/bgrender/pkg/release"
)

// Exit codes; CI scripts rely on them.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitRefused = 3
)

// usageError marks bad flags or arguments (exit 2); the engine's
// release.UsageError, so that its errors and the CLI's are one kind.
type usageError = release.UsageError

func usagef(format string, args ...any) error { return release.Usagef(format, args...) }

// refusedError marks a safety check that refused to act (exit 3) outside the
// state model, e.g. an app that already exists.
type refusedError = release.RefusedError

// findingsError reports that check found problems (exit 1); they were printed.
type findingsError struct{ n int }

func (e findingsError) Error() string { return fmt.Sprintf("check found %d problem(s)", e.n) }

// exitCode maps an error to the process exit code: the engine's kinds of
// error (release.IsUsage, release.IsRefused), else a failure.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case release.IsUsage(err):
		return exitUsage
	case release.IsRefused(err):
		return exitRefused
	}
	return exitError
}
