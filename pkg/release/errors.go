package release

import (
	"errors"
	"fmt"

	"github.com/bgrender/bgrender/pkg/state"
)

// The engine's errors are of three kinds, which a CLI maps to exit codes:
//   - UsageError: the request itself is wrong (a flag, an option, a config
//     the command needs); nothing was read or changed because of it.
//   - a refusal (IsRefused): a safety check refused the transition in the
//     state it found; nothing changed.
//   - anything else is a failure: something went wrong on the way (git,
//     the controller, a smoke check), and the error says what was
//     committed before it.

// UsageError is a request the engine cannot run as given.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// RefusedError is a safety check outside the state model that refused to
// act, e.g. a color's files edited by hand, or an app dir that exists.
type RefusedError struct{ Msg string }

func (e RefusedError) Error() string { return e.Msg }

// IsUsage reports whether err is a usage error: a UsageError, or a
// transition's arguments that state refused as invalid.
func IsUsage(err error) bool {
	var u UsageError
	var st *state.RefusedError
	return errors.As(err, &u) || errors.As(err, &st) && errors.Is(err, state.ErrInvalidArgs)
}

// IsRefused reports whether err is a refusal: nothing changed because a
// safety check said no.
func IsRefused(err error) bool {
	var r RefusedError
	var st *state.RefusedError
	return !IsUsage(err) && (errors.As(err, &r) || errors.As(err, &st))
}
