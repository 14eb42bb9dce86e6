package state

import (
	"fmt"
	"regexp"
)

// Color is one of the two deployment slots.
type Color string

// The two colors.
const (
	Blue  Color = "blue"
	Green Color = "green"
)

// Colors lists the colors in their canonical (render) order.
var colors = [...]Color{Blue, Green}

// Colors returns both colors in canonical order.
func Colors() []Color { return colors[:] }

// Other returns the other color.
func (c Color) Other() Color {
	if c == Blue {
		return Green
	}
	return Blue
}

// ParseColor accepts "blue" or "green".
func ParseColor(s string) (Color, error) {
	switch Color(s) {
	case Blue, Green:
		return Color(s), nil
	}
	return "", fmt.Errorf("color %q: must be blue or green", s)
}

// Phase summarises a state for humans and machines.
type Phase string

// The phases a state can be in.
const (
	PhaseEmpty   Phase = "empty"   // no release deployed
	PhaseTesting Phase = "testing" // a release is deployed behind the test route
	PhaseLive    Phase = "live"    // a release takes all traffic, nothing under test
)

// Release is one deploy of one version into one color.
type Release struct {
	// ID is unique per deploy; it labels the Deployment's pods.
	ID      string `json:"id" yaml:"id"`
	Version string `json:"version" yaml:"version"`
	Color   Color  `json:"color" yaml:"color"`
	// Unrouted is set while a release under test has its Deployment and
	// subset but no test route yet (make-before-break: the subset is applied
	// before any rule routes to it), or no longer (before it is removed).
	Unrouted bool `json:"unrouted,omitempty" yaml:"unrouted,omitempty"`
	// Evidence records the verification that passed for this release.
	Evidence *Evidence `json:"evidence,omitempty" yaml:"evidence,omitempty"`
	// Promotion records how the release went live; empty until promoted.
	Promotion *Promotion `json:"promotion,omitempty" yaml:"promotion,omitempty"`
	// Snapshot is the digest ("sha256:...") of what this release's color
	// runs, rendered once when it was deployed and kept in git (see
	// pkg/render): a template or config change reaches it only through a
	// new deploy. Empty for releases deployed before snapshots existed.
	Snapshot string `json:"snapshot,omitempty" yaml:"snapshot,omitempty"`
	// Replaces, on a release under test, is the warm standby it took the
	// color of: an abort puts it back as it was.
	Replaces *Release `json:"replaces,omitempty" yaml:"replaces,omitempty"`
	// Held is set while a release under test has its color's objects but no
	// pods (its Deployment at 0 replicas), until its beforeDeploy hooks have
	// passed (Unhold).
	Held bool `json:"held,omitempty" yaml:"held,omitempty"`
	// RollbackCause says why this release was rolled back after it went
	// live, when release did it (e.g. the analysis that failed).
	RollbackCause string `json:"rollbackCause,omitempty" yaml:"rollbackCause,omitempty"`
	// Hooks are the hook runs of this release, in order (see RunHook).
	Hooks []HookRun `json:"hooks,omitempty" yaml:"hooks,omitempty"`
}

// Evidence is what a passing verification proved about a release.
type Evidence struct {
	// Release is the id of the release that answered the smoke checks.
	Release string `json:"release" yaml:"release"`
	// Commit is the transition commit whose application was waited for.
	Commit string `json:"commit" yaml:"commit"`
	// Revision is the revision the controller reported as applied: Commit
	// or a descendant that does not change the app's manifests.
	Revision string `json:"revision,omitempty" yaml:"revision,omitempty"`
	// Source names the controller that reported it, e.g. "argocd app myapp".
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
	// Checks names the smoke checks that passed, in order.
	Checks []string `json:"checks" yaml:"checks"`
	// Hooks names the afterDeploy hooks (in-cluster tests) that passed for
	// the release before it was verified, "name#attempt".
	Hooks []string `json:"hooks,omitempty" yaml:"hooks,omitempty"`
	// Analysis names the metrics that passed the release's analysis, with
	// their last values ("error-ratio=0.002").
	Analysis []string `json:"analysis,omitempty" yaml:"analysis,omitempty"`
	// VerifiedAt is when verification finished, RFC 3339 in UTC.
	VerifiedAt string `json:"verifiedAt" yaml:"verifiedAt"`
}

// Promotion records why a release was allowed to take traffic.
type Promotion struct {
	// Forced is true when promotion skipped verification evidence.
	Forced bool `json:"forced,omitempty" yaml:"forced,omitempty"`
	// Reason is the operator's reason for a forced promotion.
	Reason string `json:"reason,omitempty" yaml:"reason,omitempty"`
	// Evidence is the verification the promotion relied on (nil when forced).
	Evidence *Evidence `json:"evidence,omitempty" yaml:"evidence,omitempty"`
}

// Transition names a state change; it is recorded in commits and in the state.
type Transition string

// The transitions.
const (
	TInit         Transition = "init"
	TDeploy       Transition = "deploy"
	TPromote      Transition = "promote"
	TRollback     Transition = "rollback"
	TAbort        Transition = "abort"
	TDecommission Transition = "decommission"
	TVerify       Transition = "verify"
	TRoute        Transition = "route"
	TUnroute      Transition = "unroute"
	// TRouteAdopted gives the adopted workload routes of its own before
	// the first release's Deployment exists (make-before-break).
	TRouteAdopted Transition = "route-adopted"
)

// LastTransition records the transition that produced a state.
type LastTransition struct {
	Name    Transition `json:"name" yaml:"name"`
	Release string     `json:"release,omitempty" yaml:"release,omitempty"`
	Version string     `json:"version,omitempty" yaml:"version,omitempty"`
	Color   Color      `json:"color,omitempty" yaml:"color,omitempty"`
}

// State is one app's blue-green state. The zero value of the pointers means
// "no release in that role".
type State struct {
	App string `json:"app" yaml:"app"`
	// Active takes all traffic that does not match the test route.
	Active *Release `json:"active" yaml:"active"`
	// Test is deployed in the idle color and reachable through the test route.
	Test *Release `json:"test" yaml:"test"`
	// Standby is the previous active release, kept warm for a rollback.
	Standby *Release `json:"standby" yaml:"standby"`
	// Adopted is the app's Deployment as it ran before bgrender took it
	// over (init --adopt); nil when there is none.
	Adopted *Adopted `json:"adopted,omitempty" yaml:"adopted,omitempty"`
	// Last is the transition that produced this state.
	Last LastTransition `json:"lastTransition" yaml:"lastTransition"`
}

// Adopted is the workload an app ran before bgrender took it over, kept
// running as it was so that taking over a live app never leaves users
// without an answer: it takes the traffic that no active release takes
// (until the first promote, and again after a rollback to it), and stays
// warm until decommission removes it.
type Adopted struct {
	// Deployment is its Deployment's name.
	Deployment string `json:"deployment" yaml:"deployment"`
	// Snapshot is the digest of its files, as init --adopt kept them.
	Snapshot string `json:"snapshot" yaml:"snapshot"`
	// Routed is set once the app's own routes lead to it (a subset and a
	// default route): from the first deploy on, or a route-adopted commit
	// before it. Until then the Service reaches its pods as before.
	Routed bool `json:"routed,omitempty" yaml:"routed,omitempty"`
}

// Describe names the adopted workload for humans.
func (a Adopted) Describe() string { return "the adopted Deployment " + a.Deployment }

// AdoptedRouted reports whether the adopted workload takes the default
// route: it is there, routed, and no release is active.
func (s State) AdoptedRouted() bool { return s.Adopted != nil && s.Adopted.Routed && s.Active == nil }

// New returns the state of a freshly initialised app.
func New(app string) State {
	return State{App: app, Last: LastTransition{Name: TInit}}
}

// TestRouted reports whether the test route leads to the release under test.
func (s State) TestRouted() bool { return s.Test != nil && !s.Test.Unrouted }

// Phase derives the phase from which roles are filled.
func (s State) Phase() Phase {
	switch {
	case s.Test != nil:
		return PhaseTesting
	case s.Active != nil:
		return PhaseLive
	}
	return PhaseEmpty
}

// Deployed returns the releases that have a Deployment, in color order.
func (s State) Deployed() []Release {
	var out []Release
	for _, c := range colors {
		if r := s.InColor(c); r != nil {
			out = append(out, *r)
		}
	}
	return out
}

// InColor returns the release occupying color c, or nil.
func (s State) InColor(c Color) *Release {
	for _, r := range []*Release{s.Active, s.Test, s.Standby} {
		if r != nil && r.Color == c {
			return r
		}
	}
	return nil
}

// RoleOf names the role of the release in color c: "active", "test",
// "standby" or "" when the color is empty.
func (s State) RoleOf(c Color) string {
	switch {
	case s.Active != nil && s.Active.Color == c:
		return "active"
	case s.Test != nil && s.Test.Color == c:
		return "test"
	case s.Standby != nil && s.Standby.Color == c:
		return "standby"
	}
	return ""
}

var (
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// labelValue is the Kubernetes label value grammar (non-empty form).
	labelValue = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	// tagGrammar is the OCI tag grammar.
	tagGrammar = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// ValidateAppName checks that name can name Kubernetes objects: a DNS-1123
// label short enough to take the "-green" and "-blue-green" suffixes.
func ValidateAppName(name string) error {
	if !dns1123Label.MatchString(name) || len(name) > 52 {
		return fmt.Errorf("app name %q: must be lowercase letters, digits and '-', start and end with a letter or digit, at most 52 characters", name)
	}
	return nil
}

// ValidateVersion checks that v is usable both as an image tag and as a label value.
func ValidateVersion(v string) error {
	if v == "" {
		return fmt.Errorf("version: must not be empty")
	}
	if !tagGrammar.MatchString(v) || !labelValue.MatchString(v) || len(v) > 63 {
		return fmt.Errorf("version %q: must be a valid image tag and label value (letters, digits, '.', '_', '-', at most 63 characters, starting and ending with a letter or digit)", v)
	}
	return nil
}

// ValidateReleaseID checks that id can be used as a label value.
func ValidateReleaseID(id string) error {
	if id == "" || len(id) > 63 || !labelValue.MatchString(id) {
		return fmt.Errorf("release id %q: must be a label value of at most 63 characters", id)
	}
	return nil
}
