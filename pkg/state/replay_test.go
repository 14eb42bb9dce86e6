package state

import (
	"errors"
	"strings"
	"testing"
)

func ev(release string) Evidence {
	return Evidence{Release: release, Commit: "c0ffee", Checks: []string{"ready"}, VerifiedAt: "2026-12-01T00:00:00Z"}
}

// TestReplayEveryTransition: every transition's result replays to itself
// from the state before it, from its recorded step alone.
func TestReplayEveryTransition(t *testing.T) {
	steps := []struct {
		name string
		do   func(State) (State, error)
	}{
		{"deploy unrouted", func(s State) (State, error) {
			return Deploy(s, DeployRequest{Version: "v1", ReleaseID: "r1", Unrouted: true})
		}},
		{"route", Route},
		{"verify", func(s State) (State, error) { return Verify(s, ev("r1")) }},
		{"promote", func(s State) (State, error) { return Promote(s, PromoteRequest{}) }},
		{"deploy", func(s State) (State, error) { return Deploy(s, deploy("v2", "r2")) }},
		{"deploy --replace", func(s State) (State, error) {
			return Deploy(s, DeployRequest{Version: "v3", ReleaseID: "r3", Replace: true})
		}},
		{"promote --force", func(s State) (State, error) { return Promote(s, PromoteRequest{Force: true, Reason: "job 812"}) }},
		{"rollback", Rollback},
		{"decommission", Decommission},
		{"deploy again", func(s State) (State, error) { return Deploy(s, deploy("v4", "r4")) }},
		{"unroute", Unroute},
		{"abort", Abort},
	}
	s := New("myapp")
	for _, st := range steps {
		next, err := st.do(s)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := Replay(s, StepOf(next), next)
		if err != nil {
			t.Fatalf("replay %s: %v", st.name, err)
		}
		if !Equal(got, next) {
			t.Fatalf("replay %s gives %+v, want %+v", st.name, got, next)
		}
		s = next
	}
}

// TestReplayCatchesHandEdits: states a hand made, each with the trailers of
// a real transition, are refused by Replay or differ from its result, and
// Changes names what was changed and the command that makes it.
func TestReplayCatchesHandEdits(t *testing.T) {
	base := must(t)(Promote(must(t)(Deploy(New("myapp"), deploy("v1", "r1"))), forced))
	testing2 := must(t)(Deploy(base, deploy("v2", "r2")))

	// Promote the unverified v2, inventing evidence, not marked forced.
	handPromoted := must(t)(Promote(must(t)(Verify(testing2, ev("r2"))), PromoteRequest{}))
	if _, err := Replay(testing2, StepOf(handPromoted), handPromoted); !errors.Is(err, ErrNoEvidence) {
		t.Errorf("a promotion with evidence invented in the same commit replays: %v", err)
	}
	// Evidence for another release.
	wrong := must(t)(Verify(testing2, ev("r2")))
	wrong.Test.Evidence.Release = "r-other"
	if _, err := Replay(testing2, StepOf(wrong), wrong); !errors.Is(err, ErrStale) {
		t.Errorf("evidence for another release replays: %v", err)
	}
	// A real deploy commit whose state also swaps the active release.
	extra := must(t)(Deploy(base, deploy("v2", "r2")))
	extra.Active.Version = "v0-evil"
	got, err := Replay(base, StepOf(extra), extra)
	if err != nil || Equal(got, extra) {
		t.Fatalf("a deploy that also edits the active release: replay %v, equal %v", err, Equal(got, extra))
	}
	changes := strings.Join(Changes(got, extra), "; ")
	if !strings.Contains(changes, "active changed from blue v1 (release r1) to blue v0-evil (release r1) (bgrender promote or rollback)") {
		t.Errorf("Changes = %s", changes)
	}
	// A step made on another state: rollback of a release that is not the standby.
	rb := must(t)(Rollback(must(t)(Promote(testing2, forced))))
	if _, err := Replay(testing2, StepOf(rb), rb); err == nil {
		t.Errorf("a rollback replays on a state without that standby")
	}
	// Init on an app with releases.
	if _, err := Replay(base, Step{Transition: TInit}, New("myapp")); err == nil {
		t.Errorf("init replays over releases")
	}
	if c := Changes(base, base); len(c) != 0 {
		t.Errorf("Changes of equal states = %v", c)
	}
	if c := strings.Join(Changes(testing2, must(t)(Verify(testing2, ev("r2")))), ""); !strings.Contains(c, "verification evidence of test green v2 (release r2) changed (bgrender verify records it)") {
		t.Errorf("Changes of a verify = %s", c)
	}
}
