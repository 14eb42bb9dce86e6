package state

import (
	"errors"
	"fmt"
)

// Sentinel reasons for refusals; a *RefusedError wraps exactly one of them.
var (
	ErrLiveColor   = errors.New("color is live")
	ErrUnderTest   = errors.New("a release is already under test")
	ErrNoTest      = errors.New("no release under test")
	ErrNoEvidence  = errors.New("no verification evidence")
	ErrNoStandby   = errors.New("no standby color")
	ErrInvalidArgs = errors.New("invalid transition arguments")
	ErrStale       = errors.New("evidence or expectation is for another release")
)

// RefusedError is returned when a safety check forbids a transition. Nothing
// may be written when a transition is refused.
type RefusedError struct {
	App    string
	Reason error  // one of the Err* sentinels
	Detail string // what the user sees, including what to do next
}

func (e *RefusedError) Error() string { return fmt.Sprintf("%s: refused: %s", e.App, e.Detail) }

// Unwrap lets errors.Is match the sentinel reason.
func (e *RefusedError) Unwrap() error { return e.Reason }

func refuse(s State, reason error, format string, args ...any) error {
	return &RefusedError{App: s.App, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Describe renders a release as "green v2 (release r-1234)".
func (r Release) Describe() string {
	return fmt.Sprintf("%s %s (release %s)", r.Color, r.Version, r.ID)
}

// DeployRequest asks for a new release in the idle color.
type DeployRequest struct {
	Version string
	// Color is optional; empty means "the idle color".
	Color Color
	// ReleaseID must be unique per deploy; the caller makes it.
	ReleaseID string
	// Replace drops a release that is under test instead of refusing.
	Replace bool
	// Unrouted deploys without the test route: make-before-break, where the
	// route follows in its own commit (Route) once the subset is applied.
	Unrouted bool
	// Snapshot is the digest of what the new release's color runs.
	Snapshot string
	// Hold deploys the color with no pods (and without its test route)
	// until Unhold: its beforeDeploy hooks run first.
	Hold bool
}

// Deploy puts a new release into the idle color behind the test route. It
// refuses to deploy into the live color and, unless Replace is set, while
// another release is under test. A standby release in the target color is
// overwritten: that color is idle.
func Deploy(s State, req DeployRequest) (State, error) {
	if err := ValidateVersion(req.Version); err != nil {
		return s, refuse(s, ErrInvalidArgs, "%v", err)
	}
	if err := ValidateReleaseID(req.ReleaseID); err != nil {
		return s, refuse(s, ErrInvalidArgs, "%v", err)
	}
	if req.Color != "" {
		if _, err := ParseColor(string(req.Color)); err != nil {
			return s, refuse(s, ErrInvalidArgs, "%v", err)
		}
	}
	if s.Test != nil && !req.Replace {
		return s, refuse(s, ErrUnderTest, "%s is already under test; promote or abort it first, or deploy with --replace", s.Test.Describe())
	}
	color := req.Color
	if color == "" {
		switch {
		case s.Test != nil:
			color = s.Test.Color
		case s.Active != nil:
			color = s.Active.Color.Other()
		default:
			color = Blue
		}
	}
	if s.Active != nil && s.Active.Color == color {
		return s, refuse(s, ErrLiveColor, "%s is live in %s; deploy into %s instead", s.Active.Describe(), color, color.Other())
	}
	if req.Snapshot != "" {
		if err := validateSnapshot(req.Snapshot); err != nil {
			return s, refuse(s, ErrInvalidArgs, "%v", err)
		}
	}
	next := s.clone()
	var replaces *Release
	switch {
	case next.Standby != nil && next.Standby.Color == color:
		// The warm standby gives up its color while the release is tested;
		// an abort gives it back.
		replaces, next.Standby = next.Standby, nil
	case next.Test != nil:
		replaces = next.Test.Replaces // a replaced test had taken it before
	}
	next.Test = &Release{ID: req.ReleaseID, Version: req.Version, Color: color, Unrouted: req.Unrouted || req.Hold, Held: req.Hold, Snapshot: req.Snapshot, Replaces: replaces}
	if next.Adopted != nil {
		next.Adopted.Routed = true // everyone else stays on it, through the app's routes
	}
	next.Last = lastFor(TDeploy, *next.Test)
	return next, nil
}

// PromoteRequest asks to switch the default route to the release under test.
type PromoteRequest struct {
	// Force promotes without verification evidence; Reason is then required.
	Force  bool
	Reason string
}

// Promote makes the release under test active; the previously active release
// becomes the warm standby. Promotion needs passing verification evidence for
// the exact release under test (see Verify), unless forced with a reason.
func Promote(s State, req PromoteRequest) (State, error) {
	if s.Test == nil {
		return s, refuse(s, ErrNoTest, "nothing to promote: no release is under test; deploy one first")
	}
	if req.Force && req.Reason == "" {
		return s, refuse(s, ErrInvalidArgs, "--force needs --reason TEXT, which is recorded in the commit")
	}
	if h := s.RunningHook(); h != nil {
		return s, refuse(s, ErrInvalidArgs, "hook %s is still running for %s; wait for it and end it before promoting", h.Name, s.Test.Describe())
	}
	if s.Test.Held {
		return s, refuse(s, ErrInvalidArgs, "%s has no pods yet (held for its beforeDeploy hooks); nothing to promote to", s.Test.Describe())
	}
	if !req.Force {
		if err := evidenceFor(s, *s.Test); err != nil {
			return s, err
		}
	}
	next := s.clone()
	promoted := *next.Test
	promoted.Unrouted = false
	promoted.Replaces = nil // the standby it replaced is gone for good
	if req.Force {
		promoted.Promotion = &Promotion{Forced: true, Reason: req.Reason}
	} else {
		ev := *promoted.Evidence
		promoted.Promotion = &Promotion{Evidence: &ev}
	}
	next.Standby = next.Active
	next.Active = &promoted
	next.Test = nil
	next.Last = lastFor(TPromote, promoted)
	return next, nil
}

// Rollback sends all traffic back to the standby release. The release that was
// active keeps its Deployment and becomes the standby, so a rollback can itself
// be undone until decommission.
//
// With no standby but the adopted workload still there (see Adopted), the
// rollback sends the default route back to it; the release that was active
// keeps its Deployment and becomes the release under test again, as before
// its promote, so that promote or abort decides what follows.
func Rollback(s State) (State, error) {
	if s.Standby == nil && s.Adopted != nil && s.Active != nil {
		if s.Test != nil {
			return s, refuse(s, ErrNoStandby, "no standby color to roll back to; the version before %s is %s, and %s is under test: abort it first", s.Active.Describe(), s.Adopted.Describe(), s.Test.Describe())
		}
		next := s.clone()
		back := *next.Active
		back.Promotion = nil
		next.Test, next.Active = &back, nil
		next.Last = LastTransition{Name: TRollback, Release: back.ID, Version: back.Version, Color: back.Color}
		return next, nil
	}
	if s.Standby == nil {
		if s.Active == nil {
			return s, refuse(s, ErrNoStandby, "nothing to roll back to: no release has been promoted")
		}
		return s, refuse(s, ErrNoStandby, "no standby color to roll back to: %s is active and the previous release was decommissioned or never existed; deploy the previous version again instead", s.Active.Describe())
	}
	next := s.clone()
	next.Active, next.Standby = next.Standby, next.Active
	next.Active.RollbackCause = "" // live again
	next.Last = lastFor(TRollback, *next.Active)
	return next, nil
}

// maxCause bounds a recorded rollback cause.
const maxCause = 2000

// RollbackBecause is Rollback, recording cause on the release rolled back
// from (a release's failure after the switch: the measurement that failed).
func RollbackBecause(s State, cause string) (State, error) {
	next, err := Rollback(s)
	if err != nil || cause == "" {
		return next, err
	}
	if len(cause) > maxCause {
		cause = cause[:maxCause] + "…"
	}
	for _, r := range []*Release{next.Standby, next.Test} {
		if r != nil && s.Active != nil && r.ID == s.Active.ID {
			r.RollbackCause = cause
		}
	}
	return next, nil
}

// Abort drops the release under test: its Deployment, subset and test route.
func Abort(s State) (State, error) {
	if s.Test == nil {
		return s, refuse(s, ErrNoTest, "nothing to abort: no release is under test")
	}
	next := s.clone()
	next.Last = lastFor(TAbort, *next.Test)
	// A standby the release replaced comes back as it was.
	next.Standby = next.Test.Replaces
	next.Test = nil
	return next, nil
}

// Decommission deletes the standby release's Deployment and subset, and
// the adopted workload once a release is active.
func Decommission(s State) (State, error) {
	if s.Standby == nil && (s.Adopted == nil || s.Active == nil) {
		if s.Adopted != nil {
			return s, refuse(s, ErrNoStandby, "nothing to decommission: %s takes all traffic until a release is promoted", s.Adopted.Describe())
		}
		return s, refuse(s, ErrNoStandby, "nothing to decommission: there is no standby color")
	}
	next := s.clone()
	if next.Standby != nil {
		next.Last = lastFor(TDecommission, *next.Standby)
	} else {
		next.Last = LastTransition{Name: TDecommission}
	}
	next.Standby = nil
	next.Adopted = nil
	return next, nil
}

func lastFor(t Transition, r Release) LastTransition {
	return LastTransition{Name: t, Release: r.ID, Version: r.Version, Color: r.Color}
}

// Clone returns a deep copy of s.
func (s State) Clone() State { return s.clone() }

// clone deep-copies the releases so transitions never alias their input.
func (s State) clone() State {
	var cp func(r *Release) *Release
	cp = func(r *Release) *Release {
		if r == nil {
			return nil
		}
		c := *r
		c.Evidence = cloneEvidence(r.Evidence)
		if r.Promotion != nil {
			p := *r.Promotion
			p.Evidence = cloneEvidence(p.Evidence)
			c.Promotion = &p
		}
		c.Replaces = cp(r.Replaces)
		c.Hooks = append([]HookRun(nil), r.Hooks...)
		return &c
	}
	s.Active, s.Test, s.Standby = cp(s.Active), cp(s.Test), cp(s.Standby)
	if s.Adopted != nil {
		a := *s.Adopted
		s.Adopted = &a
	}
	return s
}

// evidenceFor checks that r carries passing evidence for itself.
func evidenceFor(s State, r Release) error {
	switch {
	case r.Evidence == nil:
		return refuse(s, ErrNoEvidence, "no verification evidence is recorded for %s; run `bgrender verify` through the test route first, or promote with --force --reason TEXT", r.Describe())
	case r.Evidence.Release != r.ID:
		return refuse(s, ErrStale, "the recorded evidence is for release %s, not %s under test; verify the release under test again", r.Evidence.Release, r.Describe())
	}
	return nil
}

// Verify records passing verification evidence for the release under test.
// Evidence for another release (an earlier deploy) is refused, and so is
// evidence gathered while the test route did not lead to the release.
func Verify(s State, ev Evidence) (State, error) {
	if s.Test == nil {
		return s, refuse(s, ErrNoTest, "nothing to verify: no release is under test")
	}
	if ev.Release != s.Test.ID {
		return s, refuse(s, ErrStale, "evidence is for release %s, but %s is under test", ev.Release, s.Test.Describe())
	}
	if s.Test.Unrouted {
		return s, refuse(s, ErrNoTest, "%s has no test route yet; `bgrender route` it first", s.Test.Describe())
	}
	if h := s.RunningHook(); h != nil {
		return s, refuse(s, ErrInvalidArgs, "hook %s is still running for %s; verify once it has ended", h.Name, s.Test.Describe())
	}
	if ev.Commit == "" || ev.VerifiedAt == "" || len(ev.Checks) == 0 {
		return s, refuse(s, ErrInvalidArgs, "evidence needs the applied commit, the time and at least one passed check")
	}
	next := s.clone()
	cp := ev
	cp.Checks = append([]string(nil), ev.Checks...)
	cp.Hooks = append([]string(nil), ev.Hooks...)
	cp.Analysis = append([]string(nil), ev.Analysis...)
	next.Test.Evidence = &cp
	next.Last = lastFor(TVerify, *next.Test)
	return next, nil
}

// Route adds the test route to a release under test that was deployed
// without one, once its subset has been applied.
func Route(s State) (State, error) {
	if s.Test == nil {
		return s, refuse(s, ErrNoTest, "nothing to route: no release is under test")
	}
	if !s.Test.Unrouted {
		return s, refuse(s, ErrInvalidArgs, "the test route already leads to %s", s.Test.Describe())
	}
	if s.Test.Held {
		return s, refuse(s, ErrInvalidArgs, "%s has no pods yet: its beforeDeploy hooks run first (`bgrender hook run NAME`), then `bgrender unhold`", s.Test.Describe())
	}
	next := s.clone()
	next.Test.Unrouted = false
	next.Last = lastFor(TRoute, *next.Test)
	return next, nil
}

// Unroute removes the test route but keeps the release's Deployment and
// subset, so that no rule routes to a subset about to vanish: Abort follows
// in its own commit once this is applied.
func Unroute(s State) (State, error) {
	if s.Test == nil {
		return s, refuse(s, ErrNoTest, "nothing to unroute: no release is under test")
	}
	if s.Test.Unrouted {
		return s, refuse(s, ErrInvalidArgs, "%s has no test route", s.Test.Describe())
	}
	next := s.clone()
	next.Test.Unrouted = true
	next.Test.Evidence = nil
	next.Last = lastFor(TUnroute, *next.Test)
	return next, nil
}

func cloneEvidence(e *Evidence) *Evidence {
	if e == nil {
		return nil
	}
	c := *e
	c.Checks = append([]string(nil), e.Checks...)
	if e.Hooks != nil {
		c.Hooks = append([]string(nil), e.Hooks...)
	}
	if e.Analysis != nil {
		c.Analysis = append([]string(nil), e.Analysis...)
	}
	return &c
}

// Roles a release can have.
const (
	RoleActive  = "active"
	RoleTest    = "test"
	RoleStandby = "standby"
)

// Expect refuses (ErrStale) unless the release in role is the expected one:
// the guard of a pipeline that may be stale. An empty release or version is
// not checked.
func Expect(s State, role, release, version string) error {
	if release == "" && version == "" {
		return nil
	}
	var r *Release
	switch role {
	case RoleActive:
		r = s.Active
	case RoleTest:
		r = s.Test
	case RoleStandby:
		r = s.Standby
	default:
		return refuse(s, ErrInvalidArgs, "unknown role %q", role)
	}
	want := version
	if release != "" {
		want = "release " + release
		if version != "" {
			want = version + " (release " + release + ")"
		}
	}
	if r == nil {
		return refuse(s, ErrStale, "expected %s as the %s release, but there is no %s release; this pipeline is stale", want, role, role)
	}
	if (release != "" && r.ID != release) || (version != "" && r.Version != version) {
		return refuse(s, ErrStale, "expected %s as the %s release, but it is %s; this pipeline is stale", want, role, r.Describe())
	}
	return nil
}

// RouteAdopted gives the adopted workload (init --adopt) a subset and the
// default route before any release exists: the first deploy's Deployment
// then joins a Service whose callers the routes already keep off it.
func RouteAdopted(s State) (State, error) {
	switch {
	case s.Adopted == nil:
		return s, refuse(s, ErrInvalidArgs, "no adopted Deployment to route to")
	case s.Adopted.Routed:
		return s, refuse(s, ErrInvalidArgs, "%s is routed already", s.Adopted.Describe())
	case s.Active != nil || s.Test != nil || s.Standby != nil:
		return s, refuse(s, ErrInvalidArgs, "%s is routed by the releases' routes", s.Adopted.Describe())
	}
	next := s.clone()
	next.Adopted.Routed = true
	next.Last = LastTransition{Name: TRouteAdopted}
	return next, nil
}
