package state

import (
	"errors"
	"strings"
	"testing"
)

func TestHooks(t *testing.T) {
	s := New("myapp")
	if _, err := RunHook(s, "migrate"); !errors.Is(err, ErrNoTest) {
		t.Fatalf("RunHook with nothing under test: %v", err)
	}
	s, err := Deploy(s, DeployRequest{Version: "v1", ReleaseID: "r-aaaaaaaa"})
	if err != nil {
		t.Fatal(err)
	}
	s.Test.Evidence = &Evidence{Release: "r-aaaaaaaa", Commit: "c", Checks: []string{"ready"}, VerifiedAt: "now"}
	run, err := RunHook(s, "migrate")
	if err != nil {
		t.Fatal(err)
	}
	if h := run.RunningHook(); h == nil || h.Name != "migrate" || h.Attempt != 1 || run.Last.Name != THook {
		t.Fatalf("running hook %+v, last %+v", h, run.Last)
	}
	if run.Test.Evidence != nil {
		t.Errorf("evidence survives a hook run: what was verified is not what runs after it")
	}
	if s.RunningHook() != nil || len(s.Test.Hooks) != 0 {
		t.Errorf("RunHook changed its input")
	}
	if _, err := RunHook(run, "ping"); err == nil || !strings.Contains(err.Error(), "hook migrate (attempt 1) is still running") {
		t.Errorf("a second hook while one runs: %v", err)
	}
	if _, err := Verify(run, Evidence{Release: "r-aaaaaaaa", Commit: "c", Checks: []string{"ready"}, VerifiedAt: "now"}); err == nil {
		t.Errorf("verify while a hook runs")
	}
	if _, err := Promote(run, PromoteRequest{Force: true, Reason: "x"}); err == nil {
		t.Errorf("promote while a hook runs")
	}
	failed, err := EndHook(run, false, "BackoffLimitExceeded: Job has reached the specified backoff limit")
	if err != nil {
		t.Fatal(err)
	}
	if failed.RunningHook() != nil || failed.Test.Hooks[0].Result != HookFailed || failed.Last.Name != THookDone || failed.Test.Passed("migrate") {
		t.Fatalf("after a failed run: %+v", failed.Test.Hooks)
	}
	again, err := RunHook(failed, "migrate")
	if err != nil {
		t.Fatal(err)
	}
	if h := again.RunningHook(); h.Attempt != 2 {
		t.Fatalf("attempt %d, want 2: a run again is a Job of its own", h.Attempt)
	}
	passed, err := EndHook(again, true, "")
	if err != nil || !passed.Test.Passed("migrate") {
		t.Fatalf("after a passed run: %+v, %v", passed.Test.Hooks, err)
	}
	if _, err := EndHook(passed, true, ""); err == nil {
		t.Errorf("EndHook with no hook running")
	}
	if err := passed.Validate(); err != nil {
		t.Fatal(err)
	}

	// Replay redoes each from its trailers and the recorded state.
	for _, tc := range []struct{ prev, next State }{{s, run}, {run, failed}, {failed, again}, {again, passed}} {
		got, err := Replay(tc.prev, StepOf(tc.next), tc.next)
		if err != nil || !Equal(got, tc.next) {
			t.Fatalf("replay of %s: %v\n got %+v\nwant %+v", tc.next.Last.Name, err, got.Test, tc.next.Test)
		}
	}
	// Like a verification's evidence, a run's outcome is what the commit
	// recorded: the trailers cannot say it.
	forged := failed.Clone()
	forged.Test.Hooks[0].Result = HookRunning
	if got, err := Replay(run, StepOf(forged), forged); err == nil && Equal(got, forged) {
		t.Errorf("a hook-done commit that leaves the hook running replays as recorded")
	}

	bad := run.Clone()
	bad.Test.Hooks = append(bad.Test.Hooks, HookRun{Name: "ping", Attempt: 1, Result: HookRunning})
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "one runs at a time") {
		t.Errorf("two running hooks validate: %v", err)
	}
}

func TestHold(t *testing.T) {
	s, err := Deploy(New("myapp"), DeployRequest{Version: "v1", ReleaseID: "r-aaaaaaaa", Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Test.Held || !s.Test.Unrouted {
		t.Fatalf("a held deploy: %+v", s.Test)
	}
	if _, err := Route(s); err == nil || !strings.Contains(err.Error(), "no pods yet") {
		t.Errorf("route a held release: %v", err)
	}
	if _, err := Promote(s, PromoteRequest{Force: true, Reason: "x"}); err == nil {
		t.Errorf("promote a held release")
	}
	run, _ := RunHook(s, "migrate")
	if _, err := Unhold(run); err == nil {
		t.Errorf("unhold while its hook runs")
	}
	done, _ := EndHook(run, true, "")
	free, err := Unhold(done)
	if err != nil || free.Test.Held || !free.Test.Unrouted || free.Last.Name != TUnhold {
		t.Fatalf("unhold: %+v, %v", free.Test, err)
	}
	if _, err := Unhold(free); err == nil {
		t.Errorf("unhold twice")
	}
	for _, tc := range []struct{ prev, next State }{{New("myapp"), s}, {done, free}} {
		got, err := Replay(tc.prev, StepOf(tc.next), tc.next)
		if err != nil || !Equal(got, tc.next) {
			t.Fatalf("replay of %s: %v", tc.next.Last.Name, err)
		}
	}
	bad := s.Clone()
	bad.Test.Unrouted = false
	if err := bad.Validate(); err == nil {
		t.Errorf("a held release with a test route validates")
	}
}
