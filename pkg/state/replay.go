package state

import (
	"fmt"
	"reflect"
)

// Step is what a transition commit says it did, in its trailers.
type Step struct {
	Transition Transition
	Release    string
	Version    string
	Color      Color
}

// StepOf is the step a state records as its last transition.
func StepOf(s State) Step {
	return Step{Transition: s.Last.Name, Release: s.Last.Release, Version: s.Last.Version, Color: s.Last.Color}
}

// Replay redoes step on s and returns the state the transition gives. From
// recorded (the state the transition's commit wrote) it takes only what a
// commit's trailers cannot say: a verification's evidence, a forced
// promotion's reason, whether a deploy left its test route for a later
// commit, the digest of what a deploy rendered. So a commit whose recorded state is not Replay's result was edited
// by hand; Equal compares them.
//
// Replay refuses as the transition itself would (a *RefusedError), and also
// when the release the step acted on does not have the role in s that the
// transition needs (the step was made on another state).
func Replay(s State, step Step, recorded State) (State, error) {
	expect := func(role string, t func(State) (State, error)) (State, error) {
		if err := Expect(s, role, step.Release, ""); err != nil {
			return s, err
		}
		return t(s)
	}
	switch step.Transition {
	case TDeploy:
		req := DeployRequest{Version: step.Version, Color: step.Color, ReleaseID: step.Release, Replace: s.Test != nil}
		if recorded.Test != nil {
			req.Unrouted, req.Snapshot, req.Hold = recorded.Test.Unrouted, recorded.Test.Snapshot, recorded.Test.Held
		}
		return Deploy(s, req)
	case TVerify:
		if recorded.Test == nil || recorded.Test.Evidence == nil {
			return s, refuse(s, ErrNoEvidence, "the verify records no evidence for the release under test")
		}
		return expect(RoleTest, func(s State) (State, error) { return Verify(s, *recorded.Test.Evidence) })
	case TPromote:
		req := PromoteRequest{}
		if p := promotionOf(recorded.Active); p != nil && p.Forced {
			req = PromoteRequest{Force: true, Reason: p.Reason}
		}
		return expect(RoleTest, func(s State) (State, error) { return Promote(s, req) })
	case TRollback:
		cause := ""
		for _, r := range []*Release{recorded.Standby, recorded.Test} {
			if r != nil && s.Active != nil && r.ID == s.Active.ID {
				cause = r.RollbackCause
			}
		}
		return expect(RoleStandby, func(s State) (State, error) { return RollbackBecause(s, cause) })
	case TAbort:
		return expect(RoleTest, Abort)
	case TDecommission:
		return expect(RoleStandby, Decommission)
	case TRoute:
		return expect(RoleTest, Route)
	case TUnroute:
		return expect(RoleTest, Unroute)
	case TRouteAdopted:
		return RouteAdopted(s)
	case TUnhold:
		return expect(RoleTest, Unhold)
	case THook:
		if recorded.Test == nil || len(recorded.Test.Hooks) == 0 {
			return s, refuse(s, ErrInvalidArgs, "the hook commit records no hook run")
		}
		last := recorded.Test.Hooks[len(recorded.Test.Hooks)-1]
		return expect(RoleTest, func(s State) (State, error) { return RunHook(s, last.Name) })
	case THookDone:
		run := s.RunningHook()
		if run == nil || recorded.Test == nil {
			return s, refuse(s, ErrInvalidArgs, "the hook-done commit ends no running hook")
		}
		for _, h := range recorded.Test.Hooks {
			if h.Name == run.Name && h.Attempt == run.Attempt {
				return expect(RoleTest, func(s State) (State, error) { return EndHook(s, h.Result == HookPassed, h.Message) })
			}
		}
		return s, refuse(s, ErrInvalidArgs, "the hook-done commit does not record hook %s attempt %d", run.Name, run.Attempt)
	case TInit:
		if s.Active != nil || s.Test != nil || s.Standby != nil {
			return s, refuse(s, ErrInvalidArgs, "init on an app that has releases")
		}
		n := New(s.App)
		if a := recorded.Adopted; a != nil && !a.Routed {
			cp := *a // init --adopt: what it keeps is recorded with it
			n.Adopted = &cp
		}
		return n, nil
	}
	return s, refuse(s, ErrInvalidArgs, "unknown transition %q", step.Transition)
}

func promotionOf(r *Release) *Promotion {
	if r == nil {
		return nil
	}
	return r.Promotion
}

// Equal reports whether two states are the same.
func Equal(a, b State) bool { return reflect.DeepEqual(a, b) }

// IsFresh reports whether s is what init makes: no release in any role.
func IsFresh(s State) bool { return s.Active == nil && s.Test == nil && s.Standby == nil }

// Changes says in words how b differs from a, role by role, with the
// command that makes such a change: what a reviewer needs to see in a state
// that was edited by hand.
func Changes(a, b State) []string {
	var out []string
	role := func(name string, x, y *Release, how string) {
		switch {
		case x == nil && y == nil:
		case x == nil:
			out = append(out, fmt.Sprintf("%s set to %s (%s)", name, y.Describe(), how))
		case y == nil:
			out = append(out, fmt.Sprintf("%s %s removed (%s)", name, x.Describe(), how))
		case x.ID != y.ID || x.Version != y.Version || x.Color != y.Color:
			out = append(out, fmt.Sprintf("%s changed from %s to %s (%s)", name, x.Describe(), y.Describe(), how))
		default:
			if !reflect.DeepEqual(x.Evidence, y.Evidence) {
				out = append(out, fmt.Sprintf("verification evidence of %s %s changed (bgrender verify records it)", name, y.Describe()))
			}
			if !reflect.DeepEqual(x.Promotion, y.Promotion) {
				out = append(out, fmt.Sprintf("promotion record of %s %s changed (bgrender promote records it)", name, y.Describe()))
			}
			if x.Unrouted != y.Unrouted {
				out = append(out, fmt.Sprintf("test route of %s %s changed (bgrender route, or abort)", name, y.Describe()))
			}
		}
	}
	role("active", a.Active, b.Active, "bgrender promote or rollback")
	role("test", a.Test, b.Test, "bgrender deploy or abort")
	role("standby", a.Standby, b.Standby, "bgrender promote, rollback or decommission")
	if a.App != b.App {
		out = append(out, fmt.Sprintf("app changed from %q to %q", a.App, b.App))
	}
	if len(out) == 0 && a.Last != b.Last {
		out = append(out, fmt.Sprintf("lastTransition changed from %s to %s", a.Last.Name, b.Last.Name))
	}
	return out
}
