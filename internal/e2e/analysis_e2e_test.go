//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/promtest"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/notify/notifytest"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
	"github.com/bgrender/bgrender/pkg/state"
)

// The queries of the e2e analysis, over the stand-in pods' counters.
const (
	errorRatioQuery = `sum(app_errors_total{app="{{.App}}",color="{{.Color}}",version="{{.Version}}"}) / sum(app_requests_total{app="{{.App}}",color="{{.Color}}",version="{{.Version}}"})`
	latencyQuery    = `sum(app_request_duration_seconds_sum{app="{{.App}}",color="{{.Color}}",version="{{.Version}}"}) / sum(app_request_duration_seconds_count{app="{{.App}}",color="{{.Color}}",version="{{.Version}}"})`
)

// analysisRun is a scenario whose releases are judged by a real
// Prometheus scraping the stand-in pods, with users sending requests to
// /api through the default route, and a webhook receiver told of every
// transition.
type analysisRun struct {
	s    *scenario
	hook *notifytest.Webhook
	gw   []string
}

// startAnalysis configures s's analysis (and a signed webhook) and starts
// Prometheus and the users; the users stop when the test ends.
func startAnalysis(t *testing.T, s *scenario) *analysisRun {
	// Prometheus scrapes the pods through Traffic.MetricsTarget, standing
	// in for its discovery of the pods.
	prom := promtest.Start(t, s.traffic.MetricsTarget)
	const key = "e2e-webhook-signing-key"
	hook := notifytest.NewWebhook(t, key)
	s.env = append(s.env, "AUDIT_URL="+hook.URL, "AUDIT_SECRET="+key)
	cfg := gitopstest.Files(t, s.authURL, "main", "apps/myapp")["bgrender.yaml"]
	cfg += `analysis:
  prometheus: {address: ` + prom.URL + `}
  metrics:
  - name: error-ratio
    query: ` + errorRatioQuery + `
    max: 0.05
  - name: mean-latency
    query: ` + latencyQuery + `
    max: 0.1
  initialDelay: 2s
  interval: 2s
  afterSwitch: {count: 4, interval: 2s}
notify:
- name: audit
  webhook: {urlEnv: AUDIT_URL, secretEnv: AUDIT_SECRET}
`
	gitopstest.Seed(t, s.authURL, "main", map[string]string{"apps/myapp/bgrender.yaml": cfg}, "myapp: analysis and notifications")

	// Users: a request to /api every 50 ms through the default route.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.traffic.GatewayURL+"/api", nil)
			req.Host = "myapp.example.com"
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return &analysisRun{s: s, hook: hook, gw: []string{"--gateway-url", s.traffic.GatewayURL, "--poll-interval", "200ms"}}
}

// rollsBack releases v1, which passes, then v2 with bad: it passes its
// smoke checks (which never ask /api) and the analysis before the switch
// (the test color sees no users), but once it takes the users' requests
// the analysis after the switch fails on metric, release commits a
// rollback carrying the measurement and exits 1, and the webhook hears of
// every step, the rollback with its cause.
func (r *analysisRun) rollsBack(bad smoketest.AppOption, metric, bound string) {
	s, t := r.s, r.s.t
	s.bg(0, append([]string{"release", "--version", "v1"}, r.gw...)...)
	s.traffic.SetAppOptions("v2", bad)
	stderr := s.bgFail(append([]string{"release", "--version", "v2"}, r.gw...)...)
	t.Logf("release v2:\n%s", stderr)
	for _, want := range []string{"rolled-back", "analysis after the switch", metric, bound} {
		if !strings.Contains(stderr, want) {
			t.Errorf("release v2 does not say %q", want)
		}
	}
	st, err := state.Parse(state.FileName, []byte(gitopstest.Files(t, s.authURL, "main", "apps/myapp")[state.FileName]))
	if err != nil {
		t.Fatal(err)
	}
	if st.Active == nil || st.Active.Version != "v1" || st.Standby == nil || !strings.Contains(st.Standby.RollbackCause, metric) {
		t.Fatalf("after the rollback: active %+v, standby %+v", st.Active, st.Standby)
	}
	if ev := st.Standby.Promotion; ev == nil || ev.Evidence == nil || len(ev.Evidence.Analysis) != 2 {
		t.Errorf("v2 was promoted without both metrics in its evidence: %+v", ev)
	}
	want := []string{"deployed", "verified", "promoted", "deployed", "verified", "promoted", "rolled-back"}
	if got := r.hook.Types(); !slices.Equal(got, want) {
		t.Fatalf("webhook events %v, want %v", got, want)
	}
	evs := r.hook.Events()
	rb := evs[len(evs)-1]
	if rb.Release.Version != "v2" || rb.Live.Version != "v1" || !strings.Contains(rb.Reason, metric) || rb.Commit != gitopstest.Head(t, s.authURL, "main").String() {
		t.Errorf("rolled-back event %+v: want v2 back to v1, its cause, the rollback commit at the remote's head", rb)
	}
	s.assertCluster("after v2 was rolled back on its metrics")
}

// TestAnalysisRollbackFlux: under Flux, v2 answers users' /api requests
// with 500s and is rolled back on its error ratio.
func TestAnalysisRollbackFlux(t *testing.T) {
	s := fluxScenario(t, false)
	startAnalysis(t, s).rollsBack(smoketest.FailPath("/api", http.StatusInternalServerError), "error-ratio", "is above max 0.05")
}

// TestAnalysisRollbackArgoCD: under Argo CD, v2 answers users' /api
// requests correctly but slowly (300 ms) and is rolled back on its mean
// latency.
func TestAnalysisRollbackArgoCD(t *testing.T) {
	s := argoCDScenario(t)
	startAnalysis(t, s).rollsBack(smoketest.Delay("/api", 300*time.Millisecond), "mean-latency", "is above max 0.1")
}
