//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/promtest"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
	"github.com/bgrender/bgrender/pkg/state"
)

// TestAnalysisRollbackFlux: a real Prometheus scrapes the stand-in pods'
// request and error counters (through Traffic.MetricsTarget, standing in
// for its discovery of the pods). v1 passes its analysis before and after
// the switch. v2 answers /api with 500s, which no smoke check asks for:
// it passes verify, but once it takes the users' /api requests its error
// ratio goes over the bound in the analysis after the switch, and release
// commits a rollback that carries the measurement, and exits 1.
func TestAnalysisRollbackFlux(t *testing.T) {
	s := fluxScenario(t, false)
	prom := promtest.Start(t, s.traffic.MetricsTarget)
	cfg := gitopstest.Files(t, s.authURL, "main", "apps/myapp")["bgrender.yaml"]
	cfg += `analysis:
  prometheus: {address: ` + prom.URL + `}
  metrics:
  - name: error-ratio
    query: sum(app_errors_total{app="{{.App}}",color="{{.Color}}",version="{{.Version}}"}) / sum(app_requests_total{app="{{.App}}",color="{{.Color}}",version="{{.Version}}"})
    max: 0.05
  initialDelay: 2s
  interval: 2s
  afterSwitch: {count: 4, interval: 2s}
`
	gitopstest.Seed(t, s.authURL, "main", map[string]string{"apps/myapp/bgrender.yaml": cfg}, "myapp: analysis")

	// Users: a request to /api every 50 ms through the default route.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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

	gw := []string{"--gateway-url", s.traffic.GatewayURL, "--poll-interval", "200ms"}
	s.bg(0, append([]string{"release", "--version", "v1"}, gw...)...)
	s.traffic.SetAppOptions("v2", smoketest.FailPath("/api", http.StatusInternalServerError))
	stderr := s.bgFail(append([]string{"release", "--version", "v2"}, gw...)...)
	t.Logf("release v2:\n%s", stderr)
	for _, want := range []string{"rolled-back", "analysis after the switch", "error-ratio", "is above max 0.05"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("release v2 does not say %q", want)
		}
	}
	st, err := state.Parse(state.FileName, []byte(gitopstest.Files(t, s.authURL, "main", "apps/myapp")[state.FileName]))
	if err != nil {
		t.Fatal(err)
	}
	if st.Active == nil || st.Active.Version != "v1" || st.Standby == nil || !strings.Contains(st.Standby.RollbackCause, "error-ratio") {
		t.Fatalf("after the rollback: active %+v, standby %+v", st.Active, st.Standby)
	}
	if ev := st.Standby.Promotion; ev == nil || ev.Evidence == nil || len(ev.Evidence.Analysis) == 0 {
		t.Errorf("v2 was promoted without the analysis in its evidence: %+v", ev)
	}
	s.assertCluster("after v2 was rolled back on its metrics")
}
