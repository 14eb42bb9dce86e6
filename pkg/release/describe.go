package release

import (
	"fmt"
	"strings"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gate"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/state"
)

// Note says what a transition did to the warm standby: a deploy that took
// its color (rollback is not possible until the release is promoted or
// aborted), or an abort that gave it back. "" otherwise.
func Note(prev, next state.State) string {
	switch t := next.Test; {
	case t != nil && t.Replaces != nil && prev.Standby != nil && prev.Standby.ID == t.Replaces.ID:
		return fmt.Sprintf("Replaces standby %s %s: rollback is not possible until this release is promoted or aborted (an abort puts %s back).", t.Replaces.Color, t.Replaces.Version, t.Replaces.Version)
	case next.Last.Name == state.TAbort && next.Standby != nil && prev.Test != nil && prev.Test.Replaces != nil:
		return fmt.Sprintf("Puts standby %s %s back as it was: rollback is possible again.", next.Standby.Color, next.Standby.Version)
	}
	return ""
}

// Trailers are the machine-readable facts of the commit that made s: the
// app, the transition and, when it concerns a release, its id, version and
// color.
func Trailers(s state.State) []gitops.Trailer {
	t := []gitops.Trailer{{Key: gate.TrailerApp, Value: s.App}, {Key: gate.TrailerTransition, Value: string(s.Last.Name)}}
	if s.Last.Release != "" {
		t = append(t,
			gitops.Trailer{Key: gate.TrailerRelease, Value: s.Last.Release},
			gitops.Trailer{Key: gate.TrailerVersion, Value: s.Last.Version},
			gitops.Trailer{Key: gate.TrailerColor, Value: string(s.Last.Color)})
	}
	if (s.Last.Name == state.THook || s.Last.Name == state.THookDone) && s.Test != nil && len(s.Test.Hooks) > 0 {
		h := s.Test.Hooks[len(s.Test.Hooks)-1]
		t = append(t, gitops.Trailer{Key: gate.TrailerHook, Value: fmt.Sprintf("%s#%d", h.Name, h.Attempt)})
	}
	return t
}

// Route says in one line where traffic goes in state s: the test route,
// then the default.
func Route(cfg config.Config, s state.State) string {
	var parts []string
	switch {
	case s.Test != nil && s.Test.Unrouted:
		parts = append(parts, fmt.Sprintf("%s -> none (%s %s has no test route yet)", Selector(cfg), s.Test.Color, s.Test.Version))
	case s.Test != nil:
		parts = append(parts, fmt.Sprintf("%s -> %s %s", Selector(cfg), s.Test.Color, s.Test.Version))
	}
	switch {
	case s.Active != nil:
		parts = append(parts, fmt.Sprintf("default -> %s %s", s.Active.Color, s.Active.Version))
	case s.Adopted != nil && s.Adopted.Routed:
		parts = append(parts, "default -> "+s.Adopted.Describe()+" (as it ran before bgrender)")
	case s.Adopted != nil:
		return "no route yet: the Service reaches " + s.Adopted.Describe() + " as before"
	case s.Test != nil:
		parts = append(parts, "default -> none (nothing promoted yet)")
	}
	if len(parts) == 0 {
		return "no route (nothing deployed)"
	}
	return strings.Join(parts, "; ")
}

// Selector names the test route's selector: "cookie test=true" or
// "header x-test: true".
func Selector(cfg config.Config) string {
	if c := cfg.TestRoute.Cookie; c != nil {
		return fmt.Sprintf("cookie %s=%s", c.Name, c.Value)
	}
	h := cfg.TestRoute.Header
	return fmt.Sprintf("header %s: %s", h.Name, h.Value)
}
