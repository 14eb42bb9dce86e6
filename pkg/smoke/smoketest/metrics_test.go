package smoketest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAppMetrics: an App counts the requests it answered and its 5xx
// answers, and serves them at MetricsPath without counting the scrapes.
func TestAppMetrics(t *testing.T) {
	a := StartApp(t, "v2", "r-2", "green", FailPath("/api", http.StatusInternalServerError))
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
	body := get(MetricsPath)
	for _, want := range []string{
		`app_requests_total{app="",color="green",version="v2",release="r-2"} 3`,
		`app_errors_total{app="",color="green",version="v2",release="r-2"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	if n := len(a.Requests()); n != 3 {
		t.Errorf("%d requests recorded, want 3: scrapes are not requests", n)
	}
}
