package state

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// must returns a checker for a transition's result: no error and a valid state.
func must(t *testing.T) func(State, error) State {
	t.Helper()
	return func(s State, err error) State {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("transition produced an invalid state: %v", err)
		}
		return s
	}
}

func deploy(v, id string) DeployRequest { return DeployRequest{Version: v, ReleaseID: id} }

var forced = PromoteRequest{Force: true, Reason: "test"}

// TestCycle walks the whole blue-green cycle and checks each role after every step.
func TestCycle(t *testing.T) {
	s := New("myapp")
	if s.Phase() != PhaseEmpty {
		t.Fatalf("new state phase = %s", s.Phase())
	}
	s = must(t)(Deploy(s, deploy("v1", "r1")))
	if s.Phase() != PhaseTesting || s.Test.Color != Blue || s.Active != nil {
		t.Fatalf("first deploy: %+v", s)
	}
	s = must(t)(Promote(s, forced))
	if s.Phase() != PhaseLive || s.Active.ID != "r1" || s.Standby != nil || s.Test != nil {
		t.Fatalf("first promote: %+v", s)
	}
	if s.Active.Promotion == nil || !s.Active.Promotion.Forced || s.Active.Promotion.Reason != "test" {
		t.Fatalf("promotion not recorded: %+v", s.Active.Promotion)
	}
	s = must(t)(Deploy(s, deploy("v2", "r2")))
	if s.Test.Color != Green || s.Active.Color != Blue {
		t.Fatalf("second deploy goes to the idle color: %+v", s)
	}
	s = must(t)(Promote(s, forced))
	if s.Active.ID != "r2" || s.Standby.ID != "r1" || s.Test != nil {
		t.Fatalf("second promote: active %+v standby %+v", s.Active, s.Standby)
	}
	s = must(t)(Rollback(s))
	if s.Active.ID != "r1" || s.Standby.ID != "r2" || s.Last.Name != TRollback || s.Last.Release != "r1" {
		t.Fatalf("rollback: %+v", s)
	}
	s = must(t)(Decommission(s))
	if s.Standby != nil || s.Active.ID != "r1" || s.Last.Release != "r2" || s.Last.Color != Green {
		t.Fatalf("decommission: %+v", s)
	}
	if got := s.Deployed(); len(got) != 1 || got[0].Color != Blue {
		t.Fatalf("deployed after decommission: %+v", got)
	}
	s = must(t)(Deploy(s, deploy("v3", "r3")))
	s = must(t)(Abort(s))
	if s.Test != nil || s.Last.Name != TAbort || s.Last.Version != "v3" {
		t.Fatalf("abort: %+v", s)
	}
}

func TestDeployOverwritesStandby(t *testing.T) {
	s := New("myapp")
	s = must(t)(Deploy(s, deploy("v1", "r1")))
	s = must(t)(Promote(s, forced))
	s = must(t)(Deploy(s, deploy("v2", "r2")))
	s = must(t)(Promote(s, forced)) // green active, blue standby
	s = must(t)(Deploy(s, deploy("v3", "r3")))
	if s.Test.Color != Blue || s.Standby != nil {
		t.Fatalf("deploy into the standby color must replace it: %+v", s)
	}
}

func TestReplace(t *testing.T) {
	s := New("myapp")
	s = must(t)(Deploy(s, deploy("v1", "r1")))
	s = must(t)(Deploy(s, DeployRequest{Version: "v1.1", ReleaseID: "r2", Replace: true}))
	if s.Test.ID != "r2" || s.Test.Color != Blue {
		t.Fatalf("replace: %+v", s.Test)
	}
	s = must(t)(Deploy(s, DeployRequest{Version: "v1.2", ReleaseID: "r3", Replace: true, Color: Green}))
	if s.Test.ID != "r3" || s.Test.Color != Green || s.InColor(Blue) != nil {
		t.Fatalf("replace into the other color drops the old test release: %+v", s)
	}
}

func TestRefusals(t *testing.T) {
	live := must(t)(Promote(must(t)(Deploy(New("myapp"), deploy("v1", "r1"))), forced))
	testing1 := must(t)(Deploy(live, deploy("v2", "r2")))
	decommissioned := must(t)(Decommission(must(t)(Promote(testing1, forced))))
	tests := map[string]struct {
		run  func() (State, error)
		want error
	}{
		"deploy into live color": {func() (State, error) { return Deploy(live, DeployRequest{Version: "v2", ReleaseID: "r2", Color: Blue}) }, ErrLiveColor},
		"deploy while testing":   {func() (State, error) { return Deploy(testing1, deploy("v3", "r3")) }, ErrUnderTest},
		"replace into live color": {func() (State, error) {
			return Deploy(testing1, DeployRequest{Version: "v3", ReleaseID: "r3", Color: Blue, Replace: true})
		}, ErrLiveColor},
		"deploy bad version": {func() (State, error) { return Deploy(live, deploy("v2: x", "r2")) }, ErrInvalidArgs},
		"deploy bad color": {func() (State, error) {
			return Deploy(live, DeployRequest{Version: "v2", ReleaseID: "r2", Color: "red"})
		}, ErrInvalidArgs},
		"deploy bad release id":           {func() (State, error) { return Deploy(live, deploy("v2", "")) }, ErrInvalidArgs},
		"promote without evidence":        {func() (State, error) { return Promote(testing1, PromoteRequest{}) }, ErrNoEvidence},
		"promote force without reason":    {func() (State, error) { return Promote(testing1, PromoteRequest{Force: true}) }, ErrInvalidArgs},
		"promote nothing under test":      {func() (State, error) { return Promote(live, forced) }, ErrNoTest},
		"rollback without standby":        {func() (State, error) { return Rollback(live) }, ErrNoStandby},
		"rollback after decommission":     {func() (State, error) { return Rollback(decommissioned) }, ErrNoStandby},
		"rollback before first promotion": {func() (State, error) { return Rollback(New("myapp")) }, ErrNoStandby},
		"abort nothing under test":        {func() (State, error) { return Abort(live) }, ErrNoTest},
		"decommission without standby":    {func() (State, error) { return Decommission(live) }, ErrNoStandby},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tc.run()
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			var refused *RefusedError
			if !errors.As(err, &refused) || refused.App != "myapp" || refused.Detail == "" {
				t.Fatalf("want a *RefusedError naming the app, got %#v", err)
			}
		})
	}
}

// TestTransitionsDoNotAlias makes sure a transition never mutates its input.
func TestTransitionsDoNotAlias(t *testing.T) {
	s := must(t)(Deploy(New("myapp"), deploy("v1", "r1")))
	before, _ := Marshal(s)
	next := must(t)(Promote(s, forced))
	next.Active.Version = "changed"
	after, _ := Marshal(s)
	if string(before) != string(after) {
		t.Fatalf("Promote mutated its input:\n%s\n---\n%s", before, after)
	}
}

// TestDeployOverAWarmStandby: a deploy into the standby's color keeps the
// standby as what it replaces; an abort gives it back exactly, a promote
// drops it for good, and a --replace keeps it replaced.
func TestDeployOverAWarmStandby(t *testing.T) {
	snap := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
	s := must(t)(Deploy(New("myapp"), DeployRequest{Version: "v1", ReleaseID: "r1", Snapshot: snap('1')}))
	s = must(t)(Promote(s, forced))
	s = must(t)(Deploy(s, DeployRequest{Version: "v2", ReleaseID: "r2", Snapshot: snap('2')}))
	s = must(t)(Promote(s, forced)) // v2 green active, v1 blue standby
	warm := *s.Standby
	s = must(t)(Deploy(s, DeployRequest{Version: "v3", ReleaseID: "r3", Snapshot: snap('3')}))
	if s.Standby != nil || s.Test.Replaces == nil || s.Test.Replaces.ID != "r1" || s.Test.Color != Blue || s.Test.Snapshot != snap('3') {
		t.Fatalf("deploy over the warm standby: %+v / replaces %+v", s, s.Test.Replaces)
	}
	replaced := must(t)(Deploy(s, DeployRequest{Version: "v4", ReleaseID: "r4", Replace: true}))
	if replaced.Test.Replaces == nil || replaced.Test.Replaces.ID != "r1" {
		t.Fatalf("--replace lost the replaced standby: %+v", replaced.Test)
	}
	aborted := must(t)(Abort(replaced))
	if aborted.Standby == nil || !reflect.DeepEqual(*aborted.Standby, warm) || aborted.Test != nil {
		t.Fatalf("abort: standby %+v, want %+v", aborted.Standby, warm)
	}
	if _, err := Rollback(aborted); err != nil {
		t.Fatalf("rollback after the abort: %v", err)
	}
	promoted := must(t)(Promote(s, forced))
	if promoted.Active.Replaces != nil || promoted.Standby.ID != "r2" {
		t.Fatalf("promote: %+v", promoted)
	}
	if _, err := Deploy(s, DeployRequest{Version: "v5", ReleaseID: "r5", Replace: true, Snapshot: "md5:x"}); !errors.Is(err, ErrInvalidArgs) {
		t.Fatalf("a bad snapshot digest: %v", err)
	}
}

// TestAdoptedCycle: the workload an app ran before bgrender takes what no
// active release takes, is the rollback target until a standby exists, and
// goes with the first decommission after a promote.
func TestAdoptedCycle(t *testing.T) {
	s := New("myapp")
	s.Adopted = &Adopted{Deployment: "myapp", Snapshot: "sha256:" + strings.Repeat("ab", 32)}
	if s.AdoptedRouted() {
		t.Fatal("a fresh adoption is routed: its pods may not have the color label yet")
	}
	routed := must(t)(RouteAdopted(s))
	if !routed.AdoptedRouted() || routed.Last.Name != TRouteAdopted {
		t.Fatalf("route-adopted: %+v", routed)
	}
	if _, err := RouteAdopted(routed); err == nil {
		t.Fatal("route-adopted twice")
	}
	if replayed, err := Replay(s, StepOf(routed), routed); err != nil || !Equal(replayed, routed) {
		t.Fatalf("replay of route-adopted: %v", err)
	}
	if _, err := Decommission(s); err == nil || !strings.Contains(err.Error(), "takes all traffic until a release is promoted") {
		t.Fatalf("decommission while adopted serves: %v", err)
	}
	s = must(t)(Deploy(s, deploy("v1", "r1")))
	if !s.AdoptedRouted() {
		t.Fatal("the first deploy does not route everyone else to the adopted Deployment")
	}
	s = must(t)(Promote(s, forced))
	if s.AdoptedRouted() || s.Adopted == nil || s.Standby != nil {
		t.Fatalf("after the first promote: %+v", s)
	}
	back := must(t)(Rollback(s))
	if !back.AdoptedRouted() || back.Test == nil || back.Test.ID != "r1" || back.Test.Promotion != nil || back.Last.Name != TRollback {
		t.Fatalf("rollback to adopted: %+v", back)
	}
	again := must(t)(Promote(back, forced))
	if again.Active.ID != "r1" || again.Adopted == nil {
		t.Fatalf("promote after the rollback: %+v", again)
	}
	under := must(t)(Deploy(s, deploy("v2", "r2")))
	if _, err := Rollback(under); err == nil || !strings.Contains(err.Error(), "abort it first") {
		t.Fatalf("rollback to adopted with a release under test: %v", err)
	}
	gone := must(t)(Decommission(s))
	if gone.Adopted != nil || gone.Active.ID != "r1" {
		t.Fatalf("decommission: %+v", gone)
	}
	// With a standby too, decommission removes both.
	two := must(t)(Promote(must(t)(Deploy(s, deploy("v2", "r2"))), forced))
	both := must(t)(Decommission(two))
	if both.Adopted != nil || both.Standby != nil || both.Last.Release != "r1" {
		t.Fatalf("decommission with a standby: %+v", both)
	}
	// A rollback with a standby goes to the standby, not the adopted.
	if rb := must(t)(Rollback(two)); rb.Active.ID != "r1" || rb.Adopted == nil {
		t.Fatalf("rollback with a standby: %+v", rb)
	}
	bad := s.Clone()
	bad.Adopted.Snapshot = "nope"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "adopted") {
		t.Fatalf("Validate of a bad adopted snapshot: %v", err)
	}
	if bad.Adopted == s.Adopted {
		t.Fatal("Clone shares Adopted")
	}
}
