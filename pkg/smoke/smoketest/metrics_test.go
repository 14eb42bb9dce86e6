package smoketest

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAppMetrics: an App counts the requests it answered and its 5xx
// answers, and serves them at MetricsPath without counting the scrapes.
func TestAppMetrics(t *testing.T) {
	a := StartApp(t, "v2", "r-2", "green", FailPath("/api", http.StatusInternalServerError), Delay("/slow", 200*time.Millisecond))
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	get("/")
	get("/api")
	get("/api")
	get(MetricsPath)
	get("/slow")
	body := get(MetricsPath)
	for _, want := range []string{
		`app_requests_total{app="",color="green",version="v2",release="r-2"} 4`,
		`app_errors_total{app="",color="green",version="v2",release="r-2"} 2`,
		`app_request_duration_seconds_count{app="",color="green",version="v2",release="r-2"} 4`,
		"# TYPE app_request_duration_seconds summary",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	if n := len(a.Requests()); n != 4 {
		t.Errorf("%d requests recorded, want 4: scrapes are not requests", n)
	}
	// The delayed request's time is in the latency sum: 0.2 s at least,
	// and the three quick ones add far less than another 0.2 s.
	m := regexp.MustCompile(`app_request_duration_seconds_sum\{[^}]*\} (\S+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no latency sum:\n%s", body)
	}
	if sum, err := strconv.ParseFloat(m[1], 64); err != nil || sum < 0.2 || sum > 0.4 {
		t.Errorf("latency sum %s, want the 0.2 s delay and little more", m[1])
	}
}
