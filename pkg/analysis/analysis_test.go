package analysis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/promtest"
	"github.com/bgrender/bgrender/pkg/analysis"
	"github.com/bgrender/bgrender/pkg/config"
)

// metrics stands in for the apps' /metrics: request and error counters by
// app, color and version, which the test sets.
type metrics struct {
	mu    sync.Mutex
	lines []string
}

func (m *metrics) set(lines ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = lines
}

func (m *metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# TYPE app_requests_total counter\n# TYPE app_errors_total counter")
	for _, l := range m.lines {
		fmt.Fprintln(w, l)
	}
}

func f(v float64) *float64 { return &v }

// TestAnalysisAgainstPrometheus judges releases by what a real Prometheus
// scraped: an error ratio over a bound fails, one within passes, a color
// without traffic is inconclusive (too few requests) or, with no series at
// all, fails or is inconclusive as onEmpty says; a query that gives more
// than one sample is an error, not a verdict.
func TestAnalysisAgainstPrometheus(t *testing.T) {
	m := &metrics{}
	m.set(
		`app_requests_total{app="shop",color="green",version="v2"} 400`,
		`app_errors_total{app="shop",color="green",version="v2"} 100`,
		`app_requests_total{app="shop",color="blue",version="v1"} 400`,
		`app_errors_total{app="shop",color="blue",version="v1"} 2`,
		`app_requests_total{app="shop",color="idle",version="v0"} 3`,
		`app_errors_total{app="shop",color="idle",version="v0"} 0`,
	)
	srv := httptest.NewServer(m)
	defer srv.Close()
	prom := promtest.Start(t, strings.TrimPrefix(srv.URL, "http://"))

	ratio := `sum(app_errors_total{app="{{.App}}",color="{{.Color}}"}) / sum(app_requests_total{app="{{.App}}",color="{{.Color}}"})`
	spec := config.Analysis{
		Prometheus:  config.Prometheus{Address: prom.URL},
		Metrics:     []config.Metric{{Name: "error-ratio", Query: ratio, Max: f(0.05)}},
		Requests:    `sum(app_requests_total{app="{{.App}}",color="{{.Color}}"})`,
		MinRequests: 10,
	}
	client := &analysis.Client{Address: prom.URL, Headers: http.Header{"Authorization": {"Bearer s3cret"}}}
	a := &analysis.Analyzer{Client: client, Sleep: func(context.Context, time.Duration) error { return nil }}
	ctx := context.Background()
	run := func(spec config.Analysis, color string) (analysis.Report, error) {
		return a.Run(ctx, spec, config.AnalysisVars{App: "shop", Namespace: "default", Color: color, Release: "r-1", Version: "v"})
	}

	rep, err := run(spec, "green")
	if err != nil || rep.Result != analysis.Fail {
		t.Fatalf("green (25%% errors): %+v, %v", rep, err)
	}
	last := rep.Measurements[len(rep.Measurements)-1]
	if last.Metric != "error-ratio" || last.Value == nil || *last.Value != 0.25 || !strings.Contains(last.Why, "0.25 is above max 0.05") || !strings.Contains(last.Query, `color="green"`) {
		t.Errorf("green's measurement: %+v", last)
	}
	if rep, err := run(spec, "blue"); err != nil || rep.Result != analysis.Pass || len(rep.Measurements) != 2 {
		t.Errorf("blue (0.5%% errors): %+v, %v", rep, err)
	}
	if rep, err := run(spec, "idle"); err != nil || rep.Result != analysis.Inconclusive || !strings.Contains(rep.Measurements[0].Why, "3 requests in the window, fewer than minRequests 10") {
		t.Errorf("idle (3 requests): %+v, %v", rep, err)
	}

	// A color with no series: the ratio is empty.
	noTraffic := spec
	noTraffic.Requests, noTraffic.MinRequests = "", 0
	if rep, err := run(noTraffic, "purple"); err != nil || rep.Result != analysis.Fail || !strings.Contains(rep.Measurements[0].Why, "no value") {
		t.Errorf("purple, onEmpty fail: %+v, %v", rep, err)
	}
	noTraffic.Metrics = []config.Metric{{Name: "error-ratio", Query: ratio, Max: f(0.05), OnEmpty: config.OnEmptyInconclusive}}
	if rep, err := run(noTraffic, "purple"); err != nil || rep.Result != analysis.Inconclusive {
		t.Errorf("purple, onEmpty inconclusive: %+v, %v", rep, err)
	}

	// failureLimit tolerates failed measurements: with 2 of 3 the analysis
	// measures all three times before it fails; with 0 it fails at once.
	tolerant := spec
	tolerant.Count, tolerant.FailureLimit = 3, 2
	if rep, err := run(tolerant, "green"); err != nil || rep.Result != analysis.Fail || len(rep.Measurements) != 6 {
		t.Errorf("green with failureLimit 2 of 3: %s, %d measurements, %v", rep.Result, len(rep.Measurements), err)
	}
	tolerant.FailureLimit = 0
	if rep, err := run(tolerant, "green"); err != nil || rep.Result != analysis.Fail || len(rep.Measurements) != 2 {
		t.Errorf("green with failureLimit 0 of 3: %s, %d measurements, %v", rep.Result, len(rep.Measurements), err)
	}
	if rep, err := run(tolerant, "blue"); err != nil || rep.Result != analysis.Pass || len(rep.Measurements) != 6 {
		t.Errorf("blue, 3 measurements: %s, %d measurements, %v", rep.Result, len(rep.Measurements), err)
	}

	// Several samples, or a bad query: errors, with nothing secret in them.
	several := spec
	several.Requests, several.MinRequests = "", 0
	several.Metrics = []config.Metric{{Name: "requests", Query: `app_requests_total{app="{{.App}}"}`, Min: f(1)}}
	if _, err := run(several, "green"); err == nil || !strings.Contains(err.Error(), "gives 3 samples, want one") {
		t.Errorf("three samples: %v", err)
	}
	several.Metrics[0].Query = `sum(app_requests_total{app="{{.App}}"`
	if _, err := run(several, "green"); err == nil || !strings.Contains(err.Error(), "bad_data") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a broken query: %v", err)
	}
}

// TestPrometheusRedirectNotFollowed: a Prometheus address that redirects
// is an error saying so; the query and its credential header go no further.
func TestPrometheusRedirectNotFollowed(t *testing.T) {
	var followed sync.Mutex
	hits := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		followed.Lock()
		hits++
		followed.Unlock()
	}))
	t.Cleanup(elsewhere.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	client := &analysis.Client{Address: redirect.URL, Headers: http.Header{"Authorization": {"Bearer s3cret"}}}
	_, _, err := client.Query(context.Background(), "up", time.Now())
	if err == nil || !strings.Contains(err.Error(), "prometheus answered 302, a redirect, which bgrender does not follow") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Query through a redirect: %v", err)
	}
	followed.Lock()
	defer followed.Unlock()
	if hits != 0 {
		t.Fatalf("the query followed the redirect")
	}
}
