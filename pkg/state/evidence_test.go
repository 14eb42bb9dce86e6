package state

import (
	"errors"
	"testing"
)

func evidence(release string) Evidence {
	return Evidence{Release: release, Commit: "0123456789abcdef0123456789abcdef01234567", Checks: []string{"ready"}, VerifiedAt: "2026-11-25T12:00:00Z", Source: "argocd app myapp"}
}

func TestPromoteNeedsEvidenceForTheReleaseUnderTest(t *testing.T) {
	live := must(t)(Promote(must(t)(Deploy(New("myapp"), deploy("v1", "r1"))), forced))
	testing2 := must(t)(Deploy(live, deploy("v2", "r2")))

	if _, err := Promote(testing2, PromoteRequest{}); !errors.Is(err, ErrNoEvidence) {
		t.Fatalf("promote without evidence: %v", err)
	}
	if _, err := Verify(testing2, evidence("r1")); !errors.Is(err, ErrStale) {
		t.Fatalf("evidence for an earlier release must be refused: %v", err)
	}
	verified := must(t)(Verify(testing2, evidence("r2")))
	if verified.Last.Name != TVerify || verified.Test.Evidence == nil || verified.Test.Evidence.Checks[0] != "ready" {
		t.Fatalf("verify: %+v", verified)
	}
	promoted := must(t)(Promote(verified, PromoteRequest{}))
	if p := promoted.Active.Promotion; p == nil || p.Forced || p.Evidence == nil || p.Evidence.Release != "r2" {
		t.Fatalf("promotion does not carry the evidence: %+v", promoted.Active.Promotion)
	}
	// A new deploy replaces the release: the old evidence cannot promote it.
	replaced := must(t)(Deploy(verified, DeployRequest{Version: "v2.1", ReleaseID: "r3", Replace: true}))
	if _, err := Promote(replaced, PromoteRequest{}); !errors.Is(err, ErrNoEvidence) {
		t.Fatalf("a replaced release kept evidence: %v", err)
	}
	// Hand-edited state carrying evidence for another release is refused too.
	forged := verified
	forged.Test = &Release{ID: "r9", Version: "v9", Color: Green, Evidence: &Evidence{Release: "r2"}}
	if _, err := Promote(forged, PromoteRequest{}); !errors.Is(err, ErrStale) {
		t.Fatalf("promote with evidence for another release: %v", err)
	}
	if err := forged.Validate(); err == nil {
		t.Fatal("Validate accepts evidence for another release")
	}
}

func TestVerifyRefusals(t *testing.T) {
	live := must(t)(Promote(must(t)(Deploy(New("myapp"), deploy("v1", "r1"))), forced))
	unrouted := must(t)(Deploy(live, DeployRequest{Version: "v2", ReleaseID: "r2", Unrouted: true}))
	incomplete := evidence("r2")
	incomplete.Checks = nil
	for name, tc := range map[string]struct {
		s    State
		ev   Evidence
		want error
	}{
		"nothing under test": {live, evidence("r1"), ErrNoTest},
		"no test route":      {unrouted, evidence("r2"), ErrNoTest},
		"no checks":          {must(t)(Route(unrouted)), incomplete, ErrInvalidArgs},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Verify(tc.s, tc.ev); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMakeBeforeBreak(t *testing.T) {
	live := must(t)(Promote(must(t)(Deploy(New("myapp"), deploy("v1", "r1"))), forced))
	s := must(t)(Deploy(live, DeployRequest{Version: "v2", ReleaseID: "r2", Unrouted: true}))
	if s.TestRouted() || s.InColor(Green) == nil {
		t.Fatalf("unrouted deploy: %+v", s.Test)
	}
	s = must(t)(Route(s))
	if !s.TestRouted() || s.Last.Name != TRoute {
		t.Fatalf("route: %+v", s)
	}
	if _, err := Route(s); !errors.Is(err, ErrInvalidArgs) {
		t.Fatalf("routing twice: %v", err)
	}
	s = must(t)(Verify(s, evidence("r2")))
	s = must(t)(Unroute(s))
	if s.TestRouted() || s.Test.Evidence != nil || s.Last.Name != TUnroute {
		t.Fatalf("unroute must drop the route and the evidence gathered through it: %+v", s.Test)
	}
	s = must(t)(Abort(s))
	if s.Test != nil || s.InColor(Green) != nil {
		t.Fatalf("abort after unroute: %+v", s)
	}
}

func TestExpect(t *testing.T) {
	s := must(t)(Deploy(must(t)(Promote(must(t)(Deploy(New("myapp"), deploy("v1", "r1"))), forced)), deploy("v2", "r2")))
	for name, tc := range map[string]struct {
		role, release, version string
		ok                     bool
	}{
		"nothing expected":    {RoleTest, "", "", true},
		"right test release":  {RoleTest, "r2", "v2", true},
		"right version only":  {RoleActive, "", "v1", true},
		"stale test release":  {RoleTest, "r1", "", false},
		"stale version":       {RoleTest, "", "v1", false},
		"release and version": {RoleTest, "r2", "v9", false},
		"no standby":          {RoleStandby, "r1", "", false},
	} {
		t.Run(name, func(t *testing.T) {
			err := Expect(s, tc.role, tc.release, tc.version)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrStale)) {
				t.Fatalf("Expect = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
