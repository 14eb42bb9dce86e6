package release_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/analysis"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/state"
)

// fakeAnalyst returns result for every analysis, recording what it judged.
type fakeAnalyst struct {
	result string
	judged []config.AnalysisVars
}

func (f *fakeAnalyst) Analyze(_ context.Context, _ config.Config, vars config.AnalysisVars) (analysis.Report, error) {
	f.judged = append(f.judged, vars)
	v := 0.25
	m := analysis.Measurement{Metric: "error-ratio", Value: &v, Result: f.result}
	if f.result != analysis.Pass {
		m.Why = "0.25 is above max 0.05"
	}
	return analysis.Report{Result: f.result, Measurements: []analysis.Measurement{m}}, nil
}

// TestVerifyRunsTheAnalysis: with analysis: in its config, verify judges
// the release under test by its metrics after the smoke checks; a failing
// or inconclusive analysis commits no evidence, a passing one is recorded
// in it.
func TestVerifyRunsTheAnalysis(t *testing.T) {
	ctx := context.Background()
	cfg := engineConfig("shop", "ghcr.io/acme/shop")
	max := 0.05
	cfg.Analysis = &config.Analysis{Prometheus: config.Prometheus{Address: "http://prometheus:9090"},
		Metrics: []config.Metric{{Name: "error-ratio", Query: `x{color="{{.Color}}"}`, Max: &max}}}
	env := newEngineEnvFor(t, cfg)
	if _, err := env.e.Deploy(ctx, state.DeployRequest{Version: "v1"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := env.e.Verify(ctx, release.Expect{}); !release.IsUsage(err) {
		t.Errorf("verify without an Analyst: %v", err)
	}
	fa := &fakeAnalyst{result: analysis.Fail}
	env.e.Analyst = fa
	head := env.head()
	for _, result := range []string{analysis.Fail, analysis.Inconclusive} {
		fa.result = result
		if _, err := env.e.Verify(ctx, release.Expect{}); err == nil || !strings.Contains(err.Error(), "error-ratio: 0.25 is above max 0.05") {
			t.Errorf("verify with a %s analysis: %v", result, err)
		}
	}
	if env.head() != head {
		t.Fatalf("a failed analysis committed")
	}
	fa.result = analysis.Pass
	res, err := env.e.Verify(ctx, release.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	if ev := res.Next.Test.Evidence; ev == nil || strings.Join(ev.Analysis, ",") != "error-ratio=0.25" {
		t.Fatalf("evidence %+v", res.Next.Test.Evidence)
	}
	if v := fa.judged[len(fa.judged)-1]; v.Color != "blue" || v.Version != "v1" || v.App != "shop" {
		t.Errorf("judged %+v, want the release under test", v)
	}
}

// phaseAnalyst passes the analysis before the switch and fails the one
// after it (told apart by its count: afterSwitch.count is 3) for failLive
// versions.
type phaseAnalyst struct{ failLive map[string]bool }

func (p *phaseAnalyst) Analyze(_ context.Context, cfg config.Config, vars config.AnalysisVars) (analysis.Report, error) {
	v := 0.002
	m := analysis.Measurement{Metric: "error-ratio", Value: &v, Result: analysis.Pass}
	if cfg.Analysis.Count == 3 && p.failLive[vars.Version] {
		v = 0.3
		m.Result, m.Why = analysis.Fail, "0.3 is above max 0.05"
	}
	return analysis.Report{Result: m.Result, Measurements: []analysis.Measurement{m}}, nil
}

// TestReleaseRollsBackOnBadMetrics: with analysis.afterSwitch, release
// judges the live release again after the switch; bad metrics commit a
// rollback that carries the failing measurement, and release ends rolled
// back.
func TestReleaseRollsBackOnBadMetrics(t *testing.T) {
	ctx := context.Background()
	cfg := engineConfig("shop", "ghcr.io/acme/shop")
	max := 0.05
	cfg.Analysis = &config.Analysis{Prometheus: config.Prometheus{Address: "http://prometheus:9090"},
		Metrics:     []config.Metric{{Name: "error-ratio", Query: `x{color="{{.Color}}"}`, Max: &max}},
		AfterSwitch: &config.AfterSwitch{Count: 3}}
	env := newEngineEnvFor(t, cfg)
	env.e.Analyst = &phaseAnalyst{failLive: map[string]bool{"v2": true}}
	if sum, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v1"}}); err != nil || sum.Outcome != release.Released {
		t.Fatalf("v1: %s %v", sum.Outcome, err)
	}
	sum, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v2"}})
	if err == nil || sum.Outcome != release.RolledBack || names(sum.Commits) != "deploy,route,verify,promote,rollback" {
		t.Fatalf("v2: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	msg := gitopstest.Log(t, env.url, "main")[0].Message
	if !strings.Contains(msg, "Cause: analysis after the switch: analysis failed: error-ratio: 0.3 is above max 0.05") {
		t.Errorf("the rollback commit does not carry the failing measurement:\n%s", msg)
	}
	if st := env.state(); st.Active.Version != "v1" || st.Standby.Version != "v2" || !strings.Contains(st.Standby.RollbackCause, "error-ratio: 0.3 is above max 0.05") {
		t.Fatalf("after the rollback: active %s, standby %s (cause %q)", st.Active.Version, st.Standby.Version, st.Standby.RollbackCause)
	}
}
