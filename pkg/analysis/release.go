package analysis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
)

// Phases an analysis judges.
const (
	// PhaseTest is the release under test, before the switch.
	PhaseTest = "test"
	// PhaseLive is the active release, after it.
	PhaseLive = "live"
)

// VarsFor are the template names of the release an analysis in phase
// judges: the release under test, or the active one.
func VarsFor(cfg config.Config, s state.State, phase string) (config.AnalysisVars, error) {
	var r *state.Release
	switch phase {
	case PhaseTest:
		if r = s.Test; r == nil {
			return config.AnalysisVars{}, errors.New("no release is under test to analyze")
		}
	case PhaseLive:
		if r = s.Active; r == nil {
			return config.AnalysisVars{}, errors.New("no release is live to analyze")
		}
	default:
		return config.AnalysisVars{}, fmt.Errorf("phase %q: must be test or live", phase)
	}
	return config.AnalysisVars{App: cfg.App, Namespace: cfg.Namespace, Color: string(r.Color), Release: r.ID, Version: r.Version}, nil
}

// Headers are the Prometheus headers of p, their values read with getenv;
// an unset variable is an error naming it.
func Headers(p config.Prometheus, getenv func(string) string) (http.Header, error) {
	h := http.Header{}
	for _, x := range p.Headers {
		v := getenv(x.Env)
		if v == "" {
			return nil, fmt.Errorf("analysis.prometheus.headers: $%s (header %s) is not set", x.Env, x.Name)
		}
		h.Add(x.Name, v)
	}
	return h, nil
}

// VerdictError is an analysis that did not pass.
type VerdictError struct {
	Result string
	// Measurements are those that decided it.
	Measurements []Measurement
}

func (e *VerdictError) Error() string {
	parts := make([]string, 0, len(e.Measurements))
	for _, m := range e.Measurements {
		parts = append(parts, m.Metric+": "+m.Why)
	}
	what := "analysis failed"
	if e.Result == Inconclusive {
		what = "analysis inconclusive (a person decides: run it again with more traffic, or judge the metrics yourself)"
	}
	return what + ": " + strings.Join(parts, "; ")
}

// Verdict is nil for a passing report, else a *VerdictError naming the
// measurements that did not pass.
func Verdict(r Report) error {
	if r.Result == Pass {
		return nil
	}
	e := &VerdictError{Result: r.Result}
	for _, m := range r.Measurements {
		if m.Result != Pass {
			e.Measurements = append(e.Measurements, m)
		}
	}
	return e
}

// ConfigAnalyst runs the analysis of an app's config against the
// Prometheus it names, with credentials from Getenv.
type ConfigAnalyst struct {
	Getenv     func(string) string
	HTTPClient *http.Client
	OnMeasure  func(Measurement)
}

// Analyze runs cfg's analysis for vars.
func (c *ConfigAnalyst) Analyze(ctx context.Context, cfg config.Config, vars config.AnalysisVars) (Report, error) {
	if cfg.Analysis == nil {
		return Report{Result: Pass}, nil
	}
	headers, err := Headers(cfg.Analysis.Prometheus, c.Getenv)
	if err != nil {
		return Report{}, err
	}
	a := &Analyzer{Client: &Client{Address: cfg.Analysis.Prometheus.Address, Headers: headers, HTTPClient: c.HTTPClient}, OnMeasure: c.OnMeasure}
	return a.Run(ctx, *cfg.Analysis, vars)
}

// Summary names each metric's last value for evidence:
// "error-ratio=0.002".
func Summary(r Report) []string {
	last := map[string]string{}
	var order []string
	for _, m := range r.Measurements {
		if _, seen := last[m.Metric]; !seen {
			order = append(order, m.Metric)
		}
		last[m.Metric] = m.Metric + "=" + formatValue(m.Value)
	}
	out := make([]string, 0, len(order))
	for _, n := range order {
		out = append(out, last[n])
	}
	return out
}
