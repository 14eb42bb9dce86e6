package release_test

import (
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/state"
)

// TestSubjects walks a cycle, an adopted app's included, and checks the
// subject, route and trailers of every commit.
func TestSubjects(t *testing.T) {
	cfg := config.Default("shop", "ghcr.io/acme/shop")
	s := state.New("shop")
	s.Adopted = &state.Adopted{Deployment: "shop", Snapshot: "sha256:" + strings.Repeat("0", 64)}
	forced := state.PromoteRequest{Force: true, Reason: "hotfix"}
	steps := []struct {
		step           func(state.State) (state.State, error)
		subject, route string
	}{
		{state.RouteAdopted, "shop: route everyone to the adopted Deployment shop before the first release", "default -> the adopted Deployment shop (as it ran before bgrender)"},
		{func(s state.State) (state.State, error) {
			return state.Deploy(s, state.DeployRequest{Version: "v1", ReleaseID: "r-1", Unrouted: true})
		}, "shop: deploy v1 to blue (release r-1) without test route yet", "cookie test=true -> none (blue v1 has no test route yet); default -> the adopted Deployment shop (as it ran before bgrender)"},
		{state.Route, "shop: route the test route to blue v1 (release r-1)", "cookie test=true -> blue v1; default -> the adopted Deployment shop (as it ran before bgrender)"},
		{func(s state.State) (state.State, error) {
			return state.Verify(s, state.Evidence{Release: "r-1", Commit: "c1", Checks: []string{"ready", "home"}, VerifiedAt: "2026-12-01T00:00:00Z"})
		}, "shop: verify v1 in blue (release r-1): 2 checks passed", ""},
		{func(s state.State) (state.State, error) { return state.Promote(s, state.PromoteRequest{}) }, "shop: promote v1 in blue (release r-1)", "default -> blue v1"},
		{state.Rollback, "shop: rollback to the adopted Deployment shop (v1 in blue goes back under test)", "cookie test=true -> blue v1; default -> the adopted Deployment shop (as it ran before bgrender)"},
		{func(s state.State) (state.State, error) { return state.Promote(s, forced) }, "shop: promote v1 in blue (release r-1) [forced: hotfix]", "default -> blue v1"},
		{func(s state.State) (state.State, error) {
			return state.Deploy(s, state.DeployRequest{Version: "v2", ReleaseID: "r-2"})
		}, "shop: deploy v2 to green (release r-2)", "cookie test=true -> green v2; default -> blue v1"},
		{state.Unroute, "shop: unroute v2 in green (release r-2) before removing it", ""},
		{state.Abort, "shop: abort v2 in green (release r-2)", "default -> blue v1"},
		{func(s state.State) (state.State, error) {
			return state.Deploy(s, state.DeployRequest{Version: "v3", ReleaseID: "r-3"})
		}, "", ""},
		{func(s state.State) (state.State, error) { return state.Promote(s, forced) }, "", ""},
		{state.Rollback, "shop: rollback to v1 in blue (release r-1)", "default -> blue v1"},
		{state.Decommission, "shop: decommission v3 in green (release r-3) and the adopted Deployment shop", "default -> blue v1"},
	}
	for i, st := range steps {
		next, err := st.step(s)
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		if st.subject != "" {
			if got := release.Subject(s, next); got != st.subject {
				t.Errorf("step %d: subject %q, want %q", i+1, got, st.subject)
			}
		}
		if st.route != "" {
			if got := release.Route(cfg, next); got != st.route {
				t.Errorf("step %d: route %q, want %q", i+1, got, st.route)
			}
		}
		tr := release.Trailers(next)
		if tr[0].Value != "shop" || tr[1].Value != string(next.Last.Name) || (next.Last.Release != "") != (len(tr) == 5) {
			t.Errorf("step %d: trailers %v", i+1, tr)
		}
		s = next
	}
	if got := release.Route(cfg, state.New("shop")); got != "no route (nothing deployed)" {
		t.Errorf("route of a new app: %q", got)
	}
}

// TestNote: a deploy into the warm standby's color says so, and the abort
// that gives it back says that too.
func TestNote(t *testing.T) {
	s := state.New("shop")
	for _, step := range []func(state.State) (state.State, error){
		func(s state.State) (state.State, error) {
			return state.Deploy(s, state.DeployRequest{Version: "v1", ReleaseID: "r-1"})
		},
		func(s state.State) (state.State, error) {
			return state.Promote(s, state.PromoteRequest{Force: true, Reason: "x"})
		},
		func(s state.State) (state.State, error) {
			return state.Deploy(s, state.DeployRequest{Version: "v2", ReleaseID: "r-2"})
		},
		func(s state.State) (state.State, error) {
			return state.Promote(s, state.PromoteRequest{Force: true, Reason: "x"})
		},
	} {
		var err error
		if s, err = step(s); err != nil {
			t.Fatal(err)
		}
	}
	over, err := state.Deploy(s, state.DeployRequest{Version: "v3", ReleaseID: "r-3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := release.Note(s, over); !strings.HasPrefix(got, "Replaces standby blue v1: rollback is not possible") {
		t.Errorf("deploy over the standby: %q", got)
	}
	back, err := state.Abort(over)
	if err != nil {
		t.Fatal(err)
	}
	if got := release.Note(over, back); got != "Puts standby blue v1 back as it was: rollback is possible again." {
		t.Errorf("abort: %q", got)
	}
	if got := release.Note(s, s); got != "" {
		t.Errorf("no change: %q", got)
	}
}

// The body of a promote names the evidence it relied on, as check --base
// and reviewers read it; the CLI and App.Commit both write it so.
func TestBodyOfAVerifiedPromote(t *testing.T) {
	cfg := config.Default("shop", "ghcr.io/acme/shop")
	s, err := state.Deploy(state.New("shop"), state.DeployRequest{Version: "v1", ReleaseID: "r-1"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err = state.Verify(s, state.Evidence{Release: "r-1", Commit: "c1", Revision: "c1", Source: "argocd app shop", Checks: []string{"ready"}, VerifiedAt: "2026-12-01T00:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	next, err := state.Promote(s, state.PromoteRequest{})
	if err != nil {
		t.Fatal(err)
	}
	body := release.Body(&release.App{Config: cfg, State: s}, next, "Cause: none")
	want := "Route: default -> blue v1\nCause: none\nEvidence: release r-1 verified at 2026-12-01T00:00:00Z\nApplied commit: c1 (argocd app shop reported c1)\nChecks passed: ready"
	if body != want {
		t.Errorf("body:\n%s\nwant:\n%s", body, want)
	}
}

// The transition table: each transition that needs nothing but the state
// has its step, which makes that transition, a subject of its own (not
// the fallback that only names it) and a hint, and the role a pipeline
// pins matches the command's flags.
func TestSpecs(t *testing.T) {
	s := state.New("shop")
	step := func(s state.State, err error) state.State {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s = step(state.Deploy(s, state.DeployRequest{Version: "v1", ReleaseID: "r-1"}))
	s = step(state.Promote(s, state.PromoteRequest{Force: true, Reason: "t"}))
	s = step(state.Deploy(s, state.DeployRequest{Version: "v2", ReleaseID: "r-2"}))
	testing2 := s
	live := step(state.Promote(s, state.PromoteRequest{Force: true, Reason: "t"}))
	for tr, c := range map[state.Transition]struct {
		from state.State
		role string
		hint bool
	}{
		state.TUnroute:      {testing2, state.RoleTest, true},
		state.TAbort:        {testing2, state.RoleTest, true},
		state.TRollback:     {live, state.RoleActive, true},
		state.TDecommission: {live, state.RoleStandby, false},
	} {
		spec := release.SpecOf(tr)
		if spec.Step == nil || spec.Role != c.role {
			t.Errorf("%s: step %v, role %q, want %q", tr, spec.Step != nil, spec.Role, c.role)
			continue
		}
		next, err := spec.Step(c.from)
		if err != nil || next.Last.Name != tr {
			t.Errorf("%s: step made %s (%v)", tr, next.Last.Name, err)
			continue
		}
		if subj := release.Subject(c.from, next); subj == "shop: "+string(tr) || !strings.HasPrefix(subj, "shop: "+string(tr)) {
			t.Errorf("%s: subject %q", tr, subj)
		}
		hint := release.Hint("bgrender --app apps/shop", release.Result{Transition: string(tr), Config: config.Default("shop", "ghcr.io/acme/shop"), Next: next})
		if (hint != "") != c.hint {
			t.Errorf("%s: hint %q", tr, hint)
		}
	}
	if got := release.Subject(live, state.State{App: "shop", Last: state.LastTransition{Name: "someday"}}); got != "shop: someday" {
		t.Errorf("an unknown transition's subject: %q", got)
	}
}
