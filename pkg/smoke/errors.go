package smoke

import (
	"errors"
	"fmt"

	"github.com/bgrender/bgrender/pkg/state"
)

// ErrNotConfigured is returned by Run for a spec with neither an identity
// source nor checks: there is nothing to verify, and passing would be a lie.
var ErrNotConfigured = errors.New("no smoke checks configured: add verify.identity and verify.checks to bgrender.yaml")

// ErrTimeout is returned (wrapped) when Spec.Timeout ran out before
// verification finished.
var ErrTimeout = errors.New("smoke checks timed out")

// WrongReleaseError reports that a response carried the identity of another
// release than the one under test: the route sent the request to the wrong
// color. Nothing learned from such a response says anything about the release
// under test, so promotion must not go ahead.
type WrongReleaseError struct {
	// Want is the identity of the release under test, Got the one that answered.
	Want, Got string
	// Kind is what is compared: IdentityVersion or IdentityRelease.
	Kind string
	// Color is the color the release under test runs in ("" if unknown).
	Color state.Color
	// Route describes the route taken, e.g. "cookie test=true"; empty for the
	// default route (no selector, after promotion).
	Route string
	// Check names the check whose response carried Got; empty for the
	// identity proof that runs before the checks.
	Check string
}

func (e *WrongReleaseError) Error() string {
	color := "the release's color"
	if e.Color != "" {
		color = string(e.Color)
	}
	prefix := ""
	if e.Check != "" {
		prefix = fmt.Sprintf("check %q: ", e.Check)
	}
	if e.Route == "" {
		return fmt.Sprintf("%sthe default route reached %s %s, not %s %s: the VirtualService's default rule is not routing to %s yet, or routes to the wrong color",
			prefix, e.Kind, e.Got, e.Kind, e.Want, color)
	}
	return fmt.Sprintf("%sthe test route (%s) reached %s %s, not %s %s under test: the VirtualService or DestinationRule is not routing to %s yet, or routes to the wrong color",
		prefix, e.Route, e.Kind, e.Got, e.Kind, e.Want, color)
}

// CheckFailedError reports a check (or the identity proof) that did not pass
// in any of its attempts; Reason is the last attempt's failure.
type CheckFailedError struct {
	// Check is the check's name; for the identity proof it is "identity"
	// and Identity is true.
	Check    string
	Identity bool
	Attempts int
	Reason   string
}

func (e *CheckFailedError) Error() string {
	what := fmt.Sprintf("smoke check %q", e.Check)
	if e.Identity {
		what = "identity proof"
	}
	return fmt.Sprintf("%s failed after %s: %s", what, plural(e.Attempts, "attempt"), e.Reason)
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
