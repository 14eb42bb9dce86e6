package state

import "testing"

func TestRollbackBecause(t *testing.T) {
	s := New("myapp")
	for _, v := range []string{"v1", "v2"} {
		var err error
		if s, err = Deploy(s, DeployRequest{Version: v, ReleaseID: "r-" + v}); err != nil {
			t.Fatal(err)
		}
		if s, err = Promote(s, PromoteRequest{Force: true, Reason: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	back, err := RollbackBecause(s, "analysis failed: error-ratio: 0.3 is above max 0.05")
	if err != nil {
		t.Fatal(err)
	}
	if back.Active.Version != "v1" || back.Standby.RollbackCause == "" || back.Active.RollbackCause != "" {
		t.Fatalf("after the rollback: %+v / %+v", back.Active, back.Standby)
	}
	if got, err := Replay(s, StepOf(back), back); err != nil || !Equal(got, back) {
		t.Fatalf("replay: %v", err)
	}
	again, err := Rollback(back)
	if err != nil || again.Active.Version != "v2" || again.Active.RollbackCause != "" {
		t.Fatalf("rolled forward again: %+v, %v", again.Active, err)
	}
}
