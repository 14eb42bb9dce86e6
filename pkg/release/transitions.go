package release

import (
	"fmt"
	"strings"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
)

// Spec is one transition as bgrender commits it, in one place: the step
// of the state model (for those that need nothing but the state), the
// role whose release a pipeline pins with Expect, the commit's subject and
// what to do once it landed. The commit's trailers are Trailers'; check
// --base replays a transition commit by its trailers (state.Replay).
type Spec struct {
	Name state.Transition
	// Step is the transition of the state (nil: it takes a request, as
	// deploy and promote do, or evidence, as verify does).
	Step func(state.State) (state.State, error)
	// Role is the release Expect guards ("": none can be pinned).
	Role string
	// Subject is the first line of the commit that takes an app from prev
	// to next. It never dereferences a role the transition left empty.
	Subject func(prev, next state.State) string
	// Hint says what to do once it landed, naming commands with cmd, the
	// command line of the app dir ("" when there is nothing to say).
	Hint func(cmd string, cfg config.Config, next state.State) string
}

// SpecOf is the Spec of transition t; an unknown t gets a Spec whose
// subject names it.
func SpecOf(t state.Transition) Spec {
	noHint := func(string, config.Config, state.State) string { return "" }
	s := Spec{Name: t, Hint: noHint, Subject: func(_, next state.State) string { return fmt.Sprintf("%s: %s", next.App, t) }}
	switch t {
	case state.TDeploy:
		s.Role = state.RoleTest
		s.Subject = func(_, next state.State) string {
			t := next.Test
			if t == nil {
				return fmt.Sprintf("%s: deploy", next.App)
			}
			subject := fmt.Sprintf("%s: deploy %s to %s (release %s)", next.App, t.Version, t.Color, t.ID)
			if t.Held {
				subject += " with no pods until its beforeDeploy hooks pass"
			} else if t.Unrouted {
				subject += " without test route yet"
			}
			return subject
		}
		s.Hint = func(cmd string, cfg config.Config, next state.State) string {
			if next.Test != nil && next.Test.Held {
				return "waiting for the color to be applied before its beforeDeploy hooks run"
			}
			if !next.TestRouted() {
				return "waiting for the subset to be applied before routing to it"
			}
			return fmt.Sprintf("once Argo CD or Flux has applied this commit, `%s verify` smoke-tests it through the test route (%s), then `%s promote`", cmd, Selector(cfg), cmd)
		}
	case state.THook:
		s.Role = state.RoleTest
		s.Subject = func(_, next state.State) string {
			if h := next.RunningHook(); h != nil {
				return fmt.Sprintf("%s: hook %s for %s %s (release %s), attempt %d", next.App, h.Name, next.Test.Version, next.Test.Color, next.Test.ID, h.Attempt)
			}
			return fmt.Sprintf("%s: hook", next.App)
		}
		s.Hint = func(string, config.Config, state.State) string {
			return "waiting for the hook's Job to complete"
		}
	case state.TUnhold:
		s.Step, s.Role = state.Unhold, state.RoleTest
		s.Subject = testSubject("%s: start the pods of %s in %s (release %s): its beforeDeploy hooks passed")
	case state.THookDone:
		s.Role = state.RoleTest
		s.Subject = func(_, next state.State) string {
			if t := next.Test; t != nil && len(t.Hooks) > 0 {
				h := t.Hooks[len(t.Hooks)-1]
				return fmt.Sprintf("%s: hook %s %s for %s %s (release %s), attempt %d", next.App, h.Name, h.Result, t.Version, t.Color, t.ID, h.Attempt)
			}
			return fmt.Sprintf("%s: hook done", next.App)
		}
	case state.TRoute:
		s.Step, s.Role = state.Route, state.RoleTest
		s.Subject = testSubject("%s: route the test route to %[3]s %[2]s (release %[4]s)")
		s.Hint = func(cmd string, cfg config.Config, _ state.State) string {
			return fmt.Sprintf("once applied, `%s verify` smoke-tests it through the test route (%s)", cmd, Selector(cfg))
		}
	case state.TUnroute:
		s.Step, s.Role = state.Unroute, state.RoleTest
		s.Subject = testSubject("%s: unroute %s in %s (release %s) before removing it")
		s.Hint = func(string, config.Config, state.State) string {
			return "waiting for the route removal to be applied before removing the subset"
		}
	case state.TVerify:
		s.Role = state.RoleTest
		s.Subject = func(_, next state.State) string {
			if t := next.Test; t != nil && t.Evidence != nil {
				return fmt.Sprintf("%s: verify %s in %s (release %s): %d checks passed", next.App, t.Version, t.Color, t.ID, len(t.Evidence.Checks))
			}
			return fmt.Sprintf("%s: verify", next.App)
		}
		s.Hint = func(cmd string, _ config.Config, next state.State) string {
			if next.Test == nil {
				return ""
			}
			return fmt.Sprintf("`%s promote` switches the default route to %s", cmd, next.Test.Color)
		}
	case state.TPromote:
		s.Role = state.RoleTest
		s.Subject = func(_, next state.State) string {
			r := next.Active
			if r == nil {
				return fmt.Sprintf("%s: promote", next.App)
			}
			subject := fmt.Sprintf("%s: promote %s in %s (release %s)", next.App, r.Version, r.Color, r.ID)
			if p := r.Promotion; p != nil && p.Forced {
				subject += " [forced: " + p.Reason + "]"
			}
			return subject
		}
		s.Hint = func(cmd string, _ config.Config, next state.State) string {
			hint := "if the release misbehaves, `" + cmd + " rollback`"
			if next.Standby != nil {
				hint += fmt.Sprintf("; when it is healthy, `%s decommission` removes %s %s", cmd, next.Standby.Color, next.Standby.Version)
			}
			return hint
		}
	case state.TRollback:
		s.Step, s.Role = state.Rollback, state.RoleActive
		s.Subject = func(_, next state.State) string {
			switch {
			case next.Active != nil:
				return fmt.Sprintf("%s: rollback to %s in %s (release %s)", next.App, next.Active.Version, next.Active.Color, next.Active.ID)
			case next.Adopted != nil && next.Test != nil:
				return fmt.Sprintf("%s: rollback to %s (%s in %s goes back under test)", next.App, next.Adopted.Describe(), next.Test.Version, next.Test.Color)
			}
			return fmt.Sprintf("%s: rollback", next.App)
		}
		s.Hint = func(cmd string, _ config.Config, next state.State) string {
			switch {
			case next.Active == nil && next.Test != nil:
				return fmt.Sprintf("%s %s stays up behind the test route: `%s promote` routes everyone to it again, `%s abort` removes it", next.Test.Color, next.Test.Version, cmd, cmd)
			case next.Standby != nil:
				return fmt.Sprintf("`%s decommission` removes %s %s once you no longer need it", cmd, next.Standby.Color, next.Standby.Version)
			}
			return ""
		}
	case state.TRouteAdopted:
		s.Step = state.RouteAdopted
		s.Subject = func(_, next state.State) string {
			if a := next.Adopted; a != nil {
				return fmt.Sprintf("%s: route everyone to %s before the first release", next.App, a.Describe())
			}
			return fmt.Sprintf("%s: route-adopted", next.App)
		}
		s.Hint = func(string, config.Config, state.State) string {
			return "waiting for the routes to be applied before the new color's Deployment joins the Service"
		}
	case state.TAbort:
		s.Step, s.Role = state.Abort, state.RoleTest
		s.Subject = func(_, next state.State) string {
			last := next.Last
			return fmt.Sprintf("%s: abort %s in %s (release %s)", next.App, last.Version, last.Color, last.Release)
		}
		s.Hint = func(cmd string, _ config.Config, _ state.State) string {
			return fmt.Sprintf("deploy a fixed version with `%s deploy --version V`", cmd)
		}
	case state.TDecommission:
		s.Step, s.Role = state.Decommission, state.RoleStandby
		s.Subject = func(prev, next state.State) string {
			last := next.Last
			var gone []string
			if last.Release != "" {
				gone = append(gone, fmt.Sprintf("%s in %s (release %s)", last.Version, last.Color, last.Release))
			}
			if prev.Adopted != nil && next.Adopted == nil {
				gone = append(gone, prev.Adopted.Describe())
			}
			return fmt.Sprintf("%s: decommission %s", next.App, strings.Join(gone, " and "))
		}
	}
	return s
}

// testSubject is a subject about the release under test, formatted with
// the app, its version, color and id ("<app>: <transition>" when there is
// none).
func testSubject(format string) func(prev, next state.State) string {
	return func(_, next state.State) string {
		t := next.Test
		if t == nil {
			return fmt.Sprintf("%s: %s", next.App, next.Last.Name)
		}
		return fmt.Sprintf(format, next.App, t.Version, t.Color, t.ID)
	}
}

// Subject is the first line of the commit that takes an app from prev to
// next, for the transitions that state.State.Last names (init, whose
// subject names the config, is the caller's).
func Subject(prev, next state.State) string {
	return SpecOf(next.Last.Name).Subject(prev, next)
}

// Hint says what to do after transition r landed, naming commands with
// cmd, the command line of its app dir.
func Hint(cmd string, r Result) string {
	return SpecOf(state.Transition(r.Transition)).Hint(cmd, r.Config, r.Next)
}
