package main

import (
	"errors"
	"fmt"

	"github.com/bgrender/bgrender/pkg/state"
)

// Exit codes; CI scripts rely on them.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitRefused = 3
)

// usageError marks bad flags or arguments (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// refusedError marks a safety check that refused to act (exit 3) outside the
// state model, e.g. an app that already exists.
type refusedError struct{ msg string }

func (e refusedError) Error() string { return e.msg }

// findingsError reports that check found problems (exit 1); they were printed.
type findingsError struct{ n int }

func (e findingsError) Error() string { return fmt.Sprintf("check found %d problem(s)", e.n) }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var (
		usage   usageError
		refused refusedError
		st      *state.RefusedError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &st) && errors.Is(err, state.ErrInvalidArgs):
		return exitUsage
	case errors.As(err, &st), errors.As(err, &refused):
		return exitRefused
	case errors.As(err, &usage):
		return exitUsage
	}
	return exitError
}
