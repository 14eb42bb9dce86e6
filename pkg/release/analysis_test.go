package release_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/analysis"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
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
	files, err := render.Scaffold(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if files[config.FileName], err = config.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	s := state.New(cfg.App)
	if files, _, err = release.Files(cfg, files, s, s); err != nil {
		t.Fatal(err)
	}
	env := newEngineEnvWith(t, files)
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
