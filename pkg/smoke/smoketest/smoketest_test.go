package smoketest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
	"github.com/bgrender/bgrender/pkg/state"
)

type reply struct {
	status  int
	version string // x-app-version
	server  string
	body    string
}

func get(t *testing.T, url, path, host string, header http.Header) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, version: resp.Header.Get(smoketest.VersionHeader), server: resp.Header.Get("Server"), body: string(b)}
}

func TestApp(t *testing.T) {
	app := smoketest.StartApp(t, "v2", "r-bbbbbbbb", state.Green,
		smoketest.FailFirst("/flaky", 2, http.StatusBadGateway),
		smoketest.Handle("/custom", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "custom") }),
	)
	r := get(t, app.URL, "/anything?x=1", "", nil)
	var body smoketest.Body
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatal(err)
	}
	if r.status != 200 || r.version != "v2" || body != (smoketest.Body{Version: "v2", Release: "r-bbbbbbbb", Color: "green", Ready: true}) {
		t.Errorf("reply %+v body %+v", r, body)
	}
	for i, want := range []int{502, 502, 200} {
		if got := get(t, app.URL, "/flaky", "", nil); got.status != want || got.version != "v2" {
			t.Errorf("flaky request %d: %+v, want %d with the identity header", i, got, want)
		}
	}
	if got := get(t, app.URL, "/custom", "", nil); got.body != "custom" || got.version != "v2" {
		t.Errorf("custom: %+v", got)
	}
	if got := get(t, app.URL, smoketest.ReadyPath, "", nil); got.status != 200 {
		t.Errorf("ready: %+v", got)
	}
	app.SetReady(false)
	if got := get(t, app.URL, smoketest.ReadyPath, "", nil); got.status != 503 || !strings.Contains(got.body, `"ready":false`) {
		t.Errorf("not ready: %+v", got)
	}
	reqs := app.Requests()
	if len(reqs) != 7 || reqs[0].Path != "/anything" || reqs[0].RawQuery != "x=1" {
		t.Errorf("requests: %+v", reqs)
	}
}

func TestAppOptions(t *testing.T) {
	t.Run("not ready, no header", func(t *testing.T) {
		app := smoketest.StartApp(t, "v1", "r-a", state.Blue, smoketest.NotReady(), smoketest.NoIdentityHeader())
		if got := get(t, app.URL, "/ready", "", nil); got.status != 503 || got.version != "" || !strings.Contains(got.body, `"version":"v1"`) {
			t.Errorf("reply: %+v", got)
		}
	})
	t.Run("delay", func(t *testing.T) {
		app := smoketest.StartApp(t, "v1", "r-a", state.Blue, smoketest.DelayFirst("/slow", 1, time.Hour))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app.URL+"/slow", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("delayed request answered")
		}
		if got := get(t, app.URL, "/slow", "", nil); got.status != 200 {
			t.Errorf("second request: %+v", got)
		}
	})
}

func TestGatewayRoutesLikeTheVirtualService(t *testing.T) {
	blue := smoketest.StartApp(t, "v1", "r-a", state.Blue)
	green := smoketest.StartApp(t, "v2", "r-b", state.Green)
	gw := smoketest.StartGateway(t, map[state.Color]*smoketest.App{state.Blue: blue, state.Green: green})
	gw.SetHosts("shop.example.com", "*.shop.example.com")
	gw.SetRoutes([]smoketest.Rule{
		{Name: "test", CookieRegex: render.CookieRegex("test", "true"), Color: state.Green},
		{Name: "canary", HeaderName: "x-canary", HeaderExact: "1", Color: state.Green},
		{Name: "default", Color: state.Blue},
	})
	cookie := func(v string) http.Header { return http.Header{"Cookie": {v}} }
	tests := []struct {
		name    string
		host    string
		header  http.Header
		version string
		status  int
	}{
		{name: "no cookie", host: "shop.example.com", version: "v1", status: 200},
		{name: "test cookie", host: "shop.example.com", header: cookie("test=true"), version: "v2", status: 200},
		{name: "test cookie among others", host: "shop.example.com:8080", header: cookie("a=1; test=true; b=2"), version: "v2", status: 200},
		{name: "two Cookie headers are joined", host: "shop.example.com", header: http.Header{"Cookie": {"a=1", "test=true"}}, version: "v2", status: 200},
		{name: "longer value does not match in full", host: "shop.example.com", header: cookie("test=trueish"), version: "v1", status: 200},
		{name: "longer name does not match", host: "shop.example.com", header: cookie("xtest=true"), version: "v1", status: 200},
		{name: "header exact", host: "shop.example.com", header: http.Header{"X-Canary": {"1"}}, version: "v2", status: 200},
		{name: "header not exact", host: "shop.example.com", header: http.Header{"X-Canary": {"10"}}, version: "v1", status: 200},
		{name: "wildcard host", host: "eu.shop.example.com", header: cookie("test=true"), version: "v2", status: 200},
		{name: "unknown host: no route", host: "other.example.com", header: cookie("test=true"), status: 404},
		{name: "wildcard does not match the bare domain's parent", host: "example.com", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := get(t, gw.URL, "/", tc.host, tc.header)
			if got.status != tc.status || got.version != tc.version {
				t.Errorf("reply %+v, want status %d from %q", got, tc.status, tc.version)
			}
			if tc.status == 404 && (got.body != "" || got.server != "istio-envoy") {
				t.Errorf("no-route reply %+v, want Envoy's empty 404", got)
			}
		})
	}
	// The app sees the Host the client sent, as behind Envoy.
	if reqs := green.Requests(); len(reqs) == 0 || reqs[0].Host != "shop.example.com" {
		t.Errorf("green requests: %+v", reqs)
	}
	routed := gw.Routed()
	if len(routed) != len(tests) || routed[0].Rule != "default" || routed[1].Rule != "test" || routed[6].Rule != "canary" || routed[9].Rule != "" || routed[9].Status != 404 {
		t.Errorf("routed: %+v", routed)
	}
}

func TestGatewayReprogrammed(t *testing.T) {
	blue := smoketest.StartApp(t, "v1", "r-a", state.Blue)
	gw := smoketest.StartGateway(t, map[state.Color]*smoketest.App{state.Blue: blue})
	if got := get(t, gw.URL, "/", "", nil); got.status != 404 {
		t.Errorf("before any route: %+v", got)
	}
	gw.SetRoutes([]smoketest.Rule{{Name: "test", CookieRegex: render.CookieRegex("test", "true"), Color: state.Green}})
	if got := get(t, gw.URL, "/", "", nil); got.status != 404 {
		t.Errorf("no default rule before the first promotion: %+v", got)
	}
	if got := get(t, gw.URL, "/", "", http.Header{"Cookie": {"test=true"}}); got.status != 503 || got.body != "no healthy upstream" {
		t.Errorf("route to a color without an app: %+v", got)
	}
	gw.SetRoutes([]smoketest.Rule{{Name: "default", Color: state.Blue}})
	if got := get(t, gw.URL, "/", "", nil); got.status != 200 || got.version != "v1" {
		t.Errorf("after SetRoutes: %+v", got)
	}
}

func TestGatewayUpstreamDown(t *testing.T) {
	var down *smoketest.App
	t.Run("start and stop an app", func(t *testing.T) {
		down = smoketest.StartApp(t, "v1", "r-a", state.Blue)
	})
	gw := smoketest.StartGateway(t, map[state.Color]*smoketest.App{state.Blue: down})
	gw.SetRoutes([]smoketest.Rule{{Name: "default", Color: state.Blue}})
	if got := get(t, gw.URL, "/", "", nil); got.status != 503 || !strings.HasPrefix(got.body, "upstream connect error") {
		t.Errorf("reply: %+v", got)
	}
}

// A caller inside the mesh: without a VirtualService bound to the mesh its
// calls reach every color through the Service, the release under test
// included; with one, they follow its rules like the ingress gateway's.
func TestMeshCaller(t *testing.T) {
	blue := smoketest.StartApp(t, "v1", "r-a", state.Blue)
	green := smoketest.StartApp(t, "v2", "r-b", state.Green)
	mesh := smoketest.StartMeshCaller(t, map[state.Color]*smoketest.App{state.Blue: blue, state.Green: green})
	versions := func(header http.Header, host string) map[string]int {
		seen := map[string]int{}
		for range 6 {
			got := get(t, mesh.URL, "/", host, header)
			if got.status != 200 {
				t.Fatalf("reply %+v", got)
			}
			seen[got.version]++
		}
		return seen
	}
	if got := versions(nil, "reviews"); got["v1"] != 3 || got["v2"] != 3 {
		t.Errorf("unbound, ordinary calls reach %v: want both colors in turn", got)
	}
	mesh.SetHosts("reviews", "reviews.default.svc.cluster.local")
	mesh.SetRoutes([]smoketest.Rule{
		{Name: "test", CookieRegex: render.CookieRegex("test", "true"), Color: state.Green},
		{Name: "default", Color: state.Blue},
	})
	if got := versions(nil, "reviews.default.svc.cluster.local:9080"); got["v1"] != 6 {
		t.Errorf("bound, ordinary calls reach %v: want the active color only", got)
	}
	if got := versions(http.Header{"Cookie": {"a=1; test=true"}}, "reviews"); got["v2"] != 6 {
		t.Errorf("bound, test calls reach %v: want the test color only", got)
	}
	if got := versions(nil, "ratings"); got["v1"] != 3 || got["v2"] != 3 {
		t.Errorf("a host the rules do not cover reaches %v: want the Service's endpoints", got)
	}
	if r := mesh.Routed(); r[0].Rule != "" || r[6].Rule != "default" || r[12].Rule != "test" {
		t.Errorf("routed: %+v", r[:13])
	}
}
