package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/internal/promtest"
)

// TestAnalyze runs bgrender analyze against a real Prometheus scraping a
// stand-in app's counters: the release under test (blue, 25% errors) fails
// with the measurement named and exit 1; the bound raised, it passes;
// without the credential variable it is a usage error naming it, and the
// credential never shows in the output.
func TestAnalyze(t *testing.T) {
	t.Parallel()
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, `app_requests_total{app="myapp",color="blue"} 400`)
		fmt.Fprintln(w, `app_errors_total{app="myapp",color="blue"} 100`)
	}))
	defer metrics.Close()
	prom := promtest.Start(t, strings.TrimPrefix(metrics.URL, "http://"))
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	e.run(0, "deploy", "--version", "v1", "--no-wait")
	section := func(max string) string {
		return `analysis:
  prometheus:
    address: ` + prom.URL + `
    headers: [{name: Authorization, env: PROM_AUTH}]
  metrics:
  - name: error-ratio
    query: sum(app_errors_total{app="{{.App}}",color="{{.Color}}"}) / sum(app_requests_total{app="{{.App}}",color="{{.Color}}"})
    max: ` + max + `
`
	}
	edit(t, e, "bgrender.yaml", "readinessPath: /ready\n", "readinessPath: /ready\n"+section("0.05"))

	if r := e.run(2, "analyze"); !strings.Contains(r.stderr, "$PROM_AUTH (header Authorization) is not set") {
		t.Errorf("without the credential: %s", r.stderr)
	}
	setenv(t, "PROM_AUTH", "Bearer pr0m-s3cret")
	r := e.run(1, "analyze")
	if !strings.Contains(r.stdout, "fail error-ratio: 0.25 (0.25 is above max 0.05)") || !strings.Contains(r.stderr, "analysis failed: error-ratio: 0.25 is above max 0.05") {
		t.Errorf("a failing analysis:\n%s\n%s", r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "pr0m-s3cret") {
		t.Errorf("the credential is in the output")
	}
	edit(t, e, "bgrender.yaml", "max: 0.05\n", "max: 0.5\n")
	r = e.run(0, "-o", "json", "analyze")
	var rep struct {
		Result       string
		Measurements []struct {
			Metric, Result, Query string
			Value                 *float64
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if rep.Result != "pass" || len(rep.Measurements) != 1 || rep.Measurements[0].Value == nil || *rep.Measurements[0].Value != 0.25 || !strings.Contains(rep.Measurements[0].Query, `color="blue"`) {
		t.Errorf("a passing analysis: %+v", rep)
	}
	if r := e.run(2, "analyze", "--phase", "live"); !strings.Contains(r.stderr, "no release is live") {
		t.Errorf("nothing live: %s", r.stderr)
	}
}
