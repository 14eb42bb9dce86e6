package smoke_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/smoke"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
	"github.com/bgrender/bgrender/pkg/state"
)

// The releases of every test: v1 is live in blue, v2 is under test in green.
var (
	active   = state.Release{ID: "r-aaaaaaaa", Version: "v1", Color: state.Blue}
	testRel  = state.Release{ID: "r-bbbbbbbb", Version: "v2", Color: state.Green}
	host     = "shop.example.com"
	cookie   = smoke.CookieSelector("test", "true")
	start    = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	testRule = func(color state.Color) smoketest.Rule {
		return smoketest.Rule{Name: "myapp-test", CookieRegex: render.CookieRegex("test", "true"), Color: color}
	}
	defaultRule = func(color state.Color) smoketest.Rule {
		return smoketest.Rule{Name: "myapp-default", Color: color}
	}
)

// clock is a fake clock whose Sleep advances it and records the wait.
type clock struct {
	mu      sync.Mutex
	now     time.Time
	slept   []time.Duration
	onSleep func(n int) // called after the n-th sleep (from 1)
}

func newClock() *clock { return &clock{now: start} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	n, hook := len(c.slept), c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return ctx.Err()
}

func (c *clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// env is a blue app (v1), a green app (v2) and a gateway routing the test
// cookie to green and everything else to blue, as after `bgrender deploy v2`.
type env struct {
	blue, green *smoketest.App
	gw          *smoketest.Gateway
	clock       *clock
	events      []smoke.Event
}

func newEnv(t *testing.T, blueOpts, greenOpts []smoketest.AppOption) *env {
	t.Helper()
	e := &env{
		blue:  smoketest.StartApp(t, active.Version, active.ID, active.Color, blueOpts...),
		green: smoketest.StartApp(t, testRel.Version, testRel.ID, testRel.Color, greenOpts...),
		clock: newClock(),
	}
	e.gw = smoketest.StartGateway(t, map[state.Color]*smoketest.App{state.Blue: e.blue, state.Green: e.green})
	e.gw.SetHosts(host)
	e.gw.SetRoutes([]smoketest.Rule{testRule(state.Green), defaultRule(state.Blue)})
	return e
}

func (e *env) runner() *smoke.Runner {
	return &smoke.Runner{Now: e.clock.Now, Sleep: e.clock.Sleep, Progress: func(ev smoke.Event) { e.events = append(e.events, ev) }}
}

func (e *env) target(sel smoke.Selector, rel state.Release) smoke.Target {
	return smoke.Target{GatewayURL: e.gw.URL, Host: host, Selector: sel, Release: rel}
}

func (e *env) run(t *testing.T, spec smoke.Spec, sel smoke.Selector, rel state.Release) (smoke.Report, error) {
	t.Helper()
	return e.runner().Run(context.Background(), spec, e.target(sel, rel))
}

func retries(n int) *int { return &n }

func headerIdentity() smoke.Identity { return smoke.Identity{Header: smoketest.VersionHeader} }

func TestRunPassesThroughCookieRoute(t *testing.T) {
	e := newEnv(t, nil, []smoketest.AppOption{smoketest.Handle("/api/items", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.URL.RawQuery != "dry=1" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"items":[{"id":"a1"}],"db":{"ok":true,"latency":12}}`)
	})})
	spec := smoke.Spec{
		Identity: headerIdentity(),
		Checks: []smoke.Check{
			{Name: "health", Path: "/healthz"},
			{Path: "/", Expect: smoke.Expect{BodyContains: `"color":"green"`, BodyRegex: `"ready":\s*true`}},
			{
				Name: "create", Method: http.MethodPost, Path: "/api/items?dry=1",
				Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"name":"x"}`,
				Expect: smoke.Expect{Status: 201, JSON: []smoke.JSONExpect{
					{Field: "items.0.id", Equals: "a1"}, {Field: "db.ok", Equals: "true"}, {Field: "db.latency", Equals: "12"},
				}},
			},
		},
	}
	rep, err := e.run(t, spec, cookie, testRel)
	if err != nil {
		t.Fatalf("Run: %v\n%+v", err, rep)
	}
	if !rep.Passed || !rep.Identity.Passed || rep.Identity.Got != "v2" || rep.Identity.Path != "/healthz" || rep.Identity.Attempts != 1 {
		t.Errorf("report: %+v", rep)
	}
	if rep.Release != "r-bbbbbbbb" || rep.Version != "v2" || rep.Color != state.Green || rep.Route != "cookie test=true" || !rep.Started.Equal(start) {
		t.Errorf("report header: %+v", rep)
	}
	wantNames := []string{"health", "GET /", "create"}
	for i, c := range rep.Checks {
		if c.Name != wantNames[i] || !c.Passed || c.Skipped || c.Attempts != 1 || c.Got != "v2" || c.Error != "" {
			t.Errorf("check %d: %+v", i, c)
		}
	}
	if n := len(e.blue.Requests()); n != 0 {
		t.Errorf("the active color got %d requests through the test route", n)
	}
	reqs := e.green.Requests()
	if len(reqs) != 4 {
		t.Fatalf("green got %d requests, want 4 (identity + 3 checks)", len(reqs))
	}
	for _, r := range reqs {
		if r.Header.Get("Cookie") != "test=true" || r.Host != host {
			t.Errorf("%s %s: Cookie %q Host %q, want test=true and %s", r.Method, r.Path, r.Header.Get("Cookie"), r.Host, host)
		}
	}
	if reqs[3].Body != `{"name":"x"}` {
		t.Errorf("body sent: %q", reqs[3].Body)
	}
	if len(e.clock.Slept()) != 0 {
		t.Errorf("slept %v on a run without failures", e.clock.Slept())
	}
}

// TestRunWrongRelease is the key safety property: checks that reach the
// release already live must fail, however healthy it is.
func TestRunWrongRelease(t *testing.T) {
	tests := []struct {
		name     string
		routes   []smoketest.Rule
		selector smoke.Selector
		identity smoke.Identity
		// blueVersion overrides the version blue runs (redeploy of the same version).
		blueVersion string
		want        smoke.WrongReleaseError
		wantMsg     []string
	}{
		{
			name:     "test route sends the cookie to the old color",
			routes:   []smoketest.Rule{testRule(state.Blue), defaultRule(state.Blue)},
			selector: cookie,
			identity: headerIdentity(),
			want:     smoke.WrongReleaseError{Want: "v2", Got: "v1", Kind: "version", Color: state.Green, Route: "cookie test=true"},
			wantMsg:  []string{"the test route (cookie test=true) reached version v1, not version v2 under test", "not routing to green"},
		},
		{
			name:     "no test rule: the cookie falls through to the default rule",
			routes:   []smoketest.Rule{defaultRule(state.Blue)},
			selector: cookie,
			identity: smoke.Identity{JSONField: "version"},
			want:     smoke.WrongReleaseError{Want: "v2", Got: "v1", Kind: "version", Color: state.Green, Route: "cookie test=true"},
			wantMsg:  []string{"reached version v1, not version v2"},
		},
		{
			name:     "cookie regex that does not match the cookie",
			routes:   []smoketest.Rule{{Name: "myapp-test", CookieRegex: render.CookieRegex("test", "yes"), Color: state.Green}, defaultRule(state.Blue)},
			selector: cookie,
			identity: headerIdentity(),
			want:     smoke.WrongReleaseError{Want: "v2", Got: "v1", Kind: "version", Color: state.Green, Route: "cookie test=true"},
		},
		{
			name:     "after promotion the default rule still routes to the old color",
			routes:   []smoketest.Rule{defaultRule(state.Blue)},
			identity: headerIdentity(),
			want:     smoke.WrongReleaseError{Want: "v2", Got: "v1", Kind: "version", Color: state.Green},
			wantMsg:  []string{"the default route reached version v1, not version v2", "default rule is not routing to green"},
		},
		{
			name:        "same version redeployed: only the release id tells them apart",
			routes:      []smoketest.Rule{testRule(state.Blue), defaultRule(state.Blue)},
			selector:    cookie,
			blueVersion: "v2",
			identity:    smoke.Identity{JSONField: "release", Value: smoke.IdentityRelease},
			want:        smoke.WrongReleaseError{Want: "r-bbbbbbbb", Got: "r-aaaaaaaa", Kind: "release", Color: state.Green, Route: "cookie test=true"},
			wantMsg:     []string{"reached release r-aaaaaaaa, not release r-bbbbbbbb"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			if tc.blueVersion != "" {
				blue := smoketest.StartApp(t, tc.blueVersion, active.ID, state.Blue)
				e.gw = smoketest.StartGateway(t, map[state.Color]*smoketest.App{state.Blue: blue, state.Green: e.green})
				e.blue = blue
			}
			e.gw.SetRoutes(tc.routes)
			spec := smoke.Spec{Identity: tc.identity, Checks: []smoke.Check{{Name: "health", Path: "/healthz"}}}
			rep, err := e.run(t, spec, tc.selector, testRel)
			var wrong *smoke.WrongReleaseError
			if !errors.As(err, &wrong) {
				t.Fatalf("error = %v, want a *WrongReleaseError", err)
			}
			if *wrong != tc.want {
				t.Errorf("WrongReleaseError = %+v, want %+v", *wrong, tc.want)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not say %q", err, m)
				}
			}
			if rep.Passed || rep.Identity.Passed || rep.Identity.Got != tc.want.Got {
				t.Errorf("report passed or identity wrong: %+v", rep)
			}
			// Another release answering may be the route not programmed
			// yet: the identity proof retries, then gives up.
			if rep.Identity.Attempts != 1+smoke.DefaultIdentityRetries || len(e.clock.Slept()) != smoke.DefaultIdentityRetries {
				t.Errorf("identity attempts %d, slept %v", rep.Identity.Attempts, e.clock.Slept())
			}
			if c := rep.Checks[0]; !c.Skipped || c.Passed || c.Attempts != 0 || !strings.Contains(c.Error, "not run") {
				t.Errorf("check after a wrong identity: %+v", c)
			}
			if n := len(e.green.Requests()); n != 0 {
				t.Errorf("green got %d requests", n)
			}
		})
	}
}

// TestRunRouteProgrammedDuringRetries: right after an apply, Envoy may still
// run the old routes; the identity proof waits for the new ones.
func TestRunRouteProgrammedDuringRetries(t *testing.T) {
	tests := []struct {
		name   string
		before []smoketest.Rule
	}{
		{name: "old color answers at first", before: []smoketest.Rule{defaultRule(state.Blue)}},
		{name: "no route at first (404)", before: nil},
		{name: "no app behind the color at first (503)", before: []smoketest.Rule{testRule("purple")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			e.gw.SetRoutes(tc.before)
			e.clock.onSleep = func(n int) {
				if n == 2 {
					e.gw.SetRoutes([]smoketest.Rule{testRule(state.Green), defaultRule(state.Blue)})
				}
			}
			spec := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{{Path: "/healthz"}}}
			rep, err := e.run(t, spec, cookie, testRel)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rep.Identity.Attempts != 3 || !rep.Passed || rep.Checks[0].Attempts != 1 {
				t.Errorf("report: %+v", rep)
			}
			want := []time.Duration{500 * time.Millisecond, time.Second}
			if got := e.clock.Slept(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("backoff %v, want %v", got, want)
			}
		})
	}
}

// TestRunWrongReleaseDuringChecks: once identity is proven, a check answered
// by another release fails at once and the rest are skipped.
func TestRunWrongReleaseDuringChecks(t *testing.T) {
	e := newEnv(t, nil, nil)
	r := e.runner()
	r.Progress = func(ev smoke.Event) {
		if ev.Identity && ev.Kind == smoke.EventDone && ev.Passed {
			e.gw.SetRoutes([]smoketest.Rule{testRule(state.Blue), defaultRule(state.Blue)})
		}
	}
	spec := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{
		{Name: "health", Path: "/healthz"}, {Name: "api", Path: "/api"},
	}}
	rep, err := r.Run(context.Background(), spec, e.target(cookie, testRel))
	var wrong *smoke.WrongReleaseError
	if !errors.As(err, &wrong) || wrong.Check != "health" || wrong.Got != "v1" || wrong.Want != "v2" {
		t.Fatalf("error = %v, want a WrongReleaseError for check health", err)
	}
	if !strings.HasPrefix(err.Error(), `check "health": the test route (cookie test=true) reached version v1, not version v2 under test`) {
		t.Errorf("message: %v", err)
	}
	if c := rep.Checks[0]; c.Passed || c.Attempts != 1 || c.Got != "v1" {
		t.Errorf("check health: %+v", c)
	}
	if c := rep.Checks[1]; !c.Skipped || c.Attempts != 0 {
		t.Errorf("check api: %+v", c)
	}
	if len(e.clock.Slept()) != 0 {
		t.Errorf("retried a wrong release: slept %v", e.clock.Slept())
	}
}

func TestRunIdentitySources(t *testing.T) {
	version := smoketest.Handle("/version", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"build":{"release":"r-bbbbbbbb","version":2}}`)
	})
	tests := []struct {
		name     string
		identity smoke.Identity
		rel      state.Release
		opts     []smoketest.AppOption
		wantGot  string
		wantSrc  string
		// wantErr is a substring of the CheckFailedError for the identity
		// proof; empty means the run passes.
		wantErr string
	}{
		{name: "header", identity: smoke.Identity{Header: "X-App-Version"}, rel: testRel, wantGot: "v2", wantSrc: "header x-app-version"},
		{name: "json field", identity: smoke.Identity{JSONField: "version"}, rel: testRel, wantGot: "v2", wantSrc: "JSON field version"},
		{name: "release id in json", identity: smoke.Identity{JSONField: "release", Value: "release"}, rel: testRel, wantGot: "r-bbbbbbbb"},
		{name: "nested json field on its own path", identity: smoke.Identity{Path: "/version", JSONField: "build.release", Value: "release"}, rel: testRel, opts: []smoketest.AppOption{version}, wantGot: "r-bbbbbbbb"},
		{name: "json number", identity: smoke.Identity{Path: "/version", JSONField: "build.version"}, rel: state.Release{ID: "r-bbbbbbbb", Version: "2", Color: state.Green}, opts: []smoketest.AppOption{version}, wantGot: "2"},
		{name: "header missing", identity: headerIdentity(), rel: testRel, opts: []smoketest.AppOption{smoketest.NoIdentityHeader()}, wantErr: "GET /healthz answered 200 without the release's identity: no x-app-version header"},
		{name: "json field missing", identity: smoke.Identity{JSONField: "build.sha"}, rel: testRel, wantErr: "JSON field build.sha is missing"},
		{name: "json field is an object", identity: smoke.Identity{Path: "/version", JSONField: "build"}, rel: testRel, opts: []smoketest.AppOption{version}, wantErr: "JSON field build is an object"},
		{name: "not json", identity: smoke.Identity{JSONField: "version"}, rel: testRel, opts: []smoketest.AppOption{smoketest.Handle("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })}, wantErr: "not JSON"},
		{name: "app down answers 503", identity: headerIdentity(), rel: testRel, opts: []smoketest.AppOption{smoketest.NoIdentityHeader(), smoketest.FailPath("", 503)}, wantErr: "are the green pods ready?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, tc.opts)
			spec := smoke.Spec{Identity: tc.identity, Checks: []smoke.Check{{Path: "/healthz"}}}
			rep, err := e.run(t, spec, cookie, tc.rel)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if rep.Identity.Got != tc.wantGot || rep.Identity.Want != tc.wantGot || !rep.Identity.Passed {
					t.Errorf("identity: %+v", rep.Identity)
				}
				if tc.wantSrc != "" && rep.Identity.Source != tc.wantSrc {
					t.Errorf("source %q, want %q", rep.Identity.Source, tc.wantSrc)
				}
				return
			}
			var cf *smoke.CheckFailedError
			if !errors.As(err, &cf) || !cf.Identity || cf.Check != smoke.IdentityStep || cf.Attempts != 1+smoke.DefaultIdentityRetries {
				t.Fatalf("error = %#v, want an identity CheckFailedError after %d attempts", err, 1+smoke.DefaultIdentityRetries)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "identity proof failed after 6 attempts: ") {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			if rep.Passed || !rep.Checks[0].Skipped {
				t.Errorf("report: %+v", rep)
			}
		})
	}
}

func TestRunNoRouteExplains404(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.gw.SetRoutes([]smoketest.Rule{testRule(state.Green)}) // before the first promotion: no default rule
	spec := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{{Path: "/healthz"}}}
	_, err := e.run(t, spec, smoke.Selector{}, testRel)
	if err == nil || !strings.Contains(err.Error(), "answered 404") || !strings.Contains(err.Error(), `does it match host "shop.example.com"`) {
		t.Fatalf("error = %v, want a 404 explained as no route", err)
	}
}

func TestRunPerAttemptTimeout(t *testing.T) {
	e := newEnv(t, nil, []smoketest.AppOption{smoketest.DelayFirst("/slow", 1, 10*time.Second)})
	spec := smoke.Spec{Identity: smoke.Identity{Path: "/", Header: smoketest.VersionHeader}, Checks: []smoke.Check{
		{Name: "slow", Path: "/slow", Timeout: smoke.D(50 * time.Millisecond), Retries: retries(2)},
	}}
	rep, err := e.run(t, spec, cookie, testRel)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	c := rep.Checks[0]
	if !c.Passed || c.Attempts != 2 || c.Status != 200 {
		t.Errorf("check: %+v", c)
	}
	var failed []string
	for _, ev := range e.events {
		if ev.Kind == smoke.EventAttempt && !ev.Passed {
			failed = append(failed, ev.String())
		}
	}
	if want := `check "slow": attempt 1/3 failed: GET /slow: no response within 50ms (the per-attempt timeout)`; len(failed) != 1 || failed[0] != want {
		t.Errorf("failed attempts %q, want [%q]", failed, want)
	}
}

func TestRunCheckKeepsFailing(t *testing.T) {
	tests := []struct {
		name   string
		opts   []smoketest.AppOption
		expect smoke.Expect
		reason string
	}{
		{name: "status", opts: []smoketest.AppOption{smoketest.FailPath("/api", 500)}, reason: "status 500, want 200"},
		{name: "expected status not met", expect: smoke.Expect{Status: 204}, reason: `status 200, want 204 (body "{\"version\":\"v2\"`},
		{name: "body contains", expect: smoke.Expect{BodyContains: "hello"}, reason: `body does not contain "hello"`},
		{name: "body regex", expect: smoke.Expect{BodyRegex: `"color":"blue"`}, reason: `body does not match "\"color\":\"blue\""`},
		{name: "json value", expect: smoke.Expect{JSON: []smoke.JSONExpect{{Field: "ready", Equals: "true"}, {Field: "color", Equals: "blue"}}}, reason: `JSON field color is "green", want "blue"`},
		{name: "json field missing", expect: smoke.Expect{JSON: []smoke.JSONExpect{{Field: "db.ok", Equals: "true"}}}, reason: "JSON field db.ok is missing"},
		{name: "json on a text body", opts: []smoketest.AppOption{smoketest.Handle("/api", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "plain") })}, expect: smoke.Expect{JSON: []smoke.JSONExpect{{Field: "ok", Equals: "true"}}}, reason: "the body is not JSON"},
		{name: "not ready", opts: []smoketest.AppOption{smoketest.NotReady()}, expect: smoke.Expect{JSON: []smoke.JSONExpect{{Field: "ready", Equals: "true"}}}, reason: `JSON field ready is "false", want "true"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, tc.opts)
			spec := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{
				{Name: "api", Path: "/api", Expect: tc.expect, Retries: retries(2)},
				{Name: "home", Path: "/"},
			}}
			rep, err := e.run(t, spec, cookie, testRel)
			var cf *smoke.CheckFailedError
			if !errors.As(err, &cf) || cf.Check != "api" || cf.Identity || cf.Attempts != 3 {
				t.Fatalf("error = %#v, want CheckFailedError for api after 3 attempts", err)
			}
			if !strings.Contains(cf.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", cf.Reason, tc.reason)
			}
			if !strings.HasPrefix(err.Error(), `smoke check "api" failed after 3 attempts: `) {
				t.Errorf("message: %v", err)
			}
			if c := rep.Checks[0]; c.Passed || c.Attempts != 3 || c.Error != cf.Reason {
				t.Errorf("check api: %+v", c)
			}
			// The next check still runs, so the report is complete.
			if c := rep.Checks[1]; !c.Passed || c.Skipped {
				t.Errorf("check home: %+v", c)
			}
			if rep.Passed {
				t.Error("report passed")
			}
			want := []time.Duration{500 * time.Millisecond, time.Second}
			if got := e.clock.Slept(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("backoff %v, want %v", got, want)
			}
		})
	}
}

func TestRunSeveralFailuresAreJoined(t *testing.T) {
	e := newEnv(t, nil, []smoketest.AppOption{smoketest.FailPath("/a", 500), smoketest.FailPath("/b", 502)})
	zero := retries(0)
	spec := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{{Name: "a", Path: "/a", Retries: zero}, {Name: "b", Path: "/b", Retries: zero}}}
	_, err := e.run(t, spec, cookie, testRel)
	if err == nil || !strings.Contains(err.Error(), `"a" failed after 1 attempt: status 500`) || !strings.Contains(err.Error(), `"b" failed after 1 attempt: status 502`) {
		t.Fatalf("error = %v", err)
	}
	if len(e.clock.Slept()) != 0 {
		t.Errorf("retries: 0 slept %v", e.clock.Slept())
	}
}

func TestRunTotalTimeout(t *testing.T) {
	t.Run("fake clock: backoff would pass the deadline", func(t *testing.T) {
		e := newEnv(t, nil, []smoketest.AppOption{smoketest.FailPath("/api", 503)})
		spec := smoke.Spec{Identity: headerIdentity(), Timeout: smoke.D(3 * time.Second), Checks: []smoke.Check{
			{Name: "api", Path: "/api", Retries: retries(10)}, {Name: "home", Path: "/"},
		}}
		rep, err := e.run(t, spec, cookie, testRel)
		if !errors.Is(err, smoke.ErrTimeout) {
			t.Fatalf("error = %v, want ErrTimeout", err)
		}
		if want := `smoke checks timed out: verify.timeout 3s ran out during check "api" after 3 attempts; last: status 503, want 200`; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("message %q, want %q", err, want)
		}
		// 0.5s + 1s slept; the next 2s would end after the 3s deadline.
		if got := e.clock.Slept(); fmt.Sprint(got) != "[500ms 1s]" {
			t.Errorf("slept %v", got)
		}
		if c := rep.Checks[0]; c.Passed || c.Attempts != 3 {
			t.Errorf("check api: %+v", c)
		}
		if c := rep.Checks[1]; !c.Skipped || !strings.Contains(c.Error, "timed out") {
			t.Errorf("check home: %+v", c)
		}
		if !rep.Finished.Equal(start.Add(1500 * time.Millisecond)) {
			t.Errorf("finished %v", rep.Finished)
		}
	})
	t.Run("real clock: a hanging gateway", func(t *testing.T) {
		e := newEnv(t, nil, []smoketest.AppOption{smoketest.Delay("", time.Minute)})
		spec := smoke.Spec{Identity: headerIdentity(), Timeout: smoke.D(100 * time.Millisecond), Checks: []smoke.Check{{Path: "/"}}}
		rep, err := (&smoke.Runner{}).Run(context.Background(), spec, e.target(cookie, testRel))
		if !errors.Is(err, smoke.ErrTimeout) || !strings.Contains(err.Error(), "during the identity proof after 1 attempt") {
			t.Fatalf("error = %v, want ErrTimeout during the identity proof", err)
		}
		if rep.Identity.Attempts != 1 || rep.Passed {
			t.Errorf("report: %+v", rep)
		}
	})
	t.Run("timed out while the old color answers", func(t *testing.T) {
		e := newEnv(t, nil, nil)
		e.gw.SetRoutes([]smoketest.Rule{defaultRule(state.Blue)})
		spec := smoke.Spec{Identity: headerIdentity(), Timeout: smoke.D(time.Second), Checks: []smoke.Check{{Path: "/"}}}
		_, err := e.run(t, spec, cookie, testRel)
		var wrong *smoke.WrongReleaseError
		if !errors.Is(err, smoke.ErrTimeout) || !errors.As(err, &wrong) {
			t.Fatalf("error = %v, want ErrTimeout joined with a WrongReleaseError", err)
		}
	})
}

func TestRunCancelled(t *testing.T) {
	e := newEnv(t, nil, []smoketest.AppOption{smoketest.FailPath("", 503)})
	ctx, cancel := context.WithCancel(context.Background())
	r := e.runner()
	r.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	_, err := r.Run(ctx, smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{{Path: "/"}}}, e.target(cookie, testRel))
	if !errors.Is(err, context.Canceled) || errors.Is(err, smoke.ErrTimeout) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestRunAfterPromotionUsesDefaultRoute(t *testing.T) {
	e := newEnv(t, nil, nil)
	// After `bgrender promote`: green is active, blue is standby, no test rule.
	e.gw.SetRoutes([]smoketest.Rule{defaultRule(state.Green)})
	spec := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{{Path: "/healthz"}}}
	rep, err := e.run(t, spec, smoke.Selector{}, testRel)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Route != "default route" || !rep.Passed {
		t.Errorf("report: %+v", rep)
	}
	for _, r := range e.green.Requests() {
		if c := r.Header.Get("Cookie"); c != "" {
			t.Errorf("post-promotion request carried Cookie %q", c)
		}
	}
	for _, rt := range e.gw.Routed() {
		if rt.Rule != "myapp-default" || rt.Color != state.Green {
			t.Errorf("routed: %+v", rt)
		}
	}
}

func TestRunHeaderSelector(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.gw.SetRoutes([]smoketest.Rule{{Name: "myapp-test", HeaderName: "x-canary", HeaderExact: "1", Color: state.Green}, defaultRule(state.Blue)})
	sel := smoke.HeaderSelector("x-canary", "1")
	spec := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{{Path: "/healthz", Headers: map[string]string{"Accept": "application/json"}}}}
	rep, err := e.run(t, spec, sel, testRel)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Route != "header x-canary: 1" || len(e.blue.Requests()) != 0 {
		t.Errorf("report %+v; blue got %d requests", rep, len(e.blue.Requests()))
	}
	for _, r := range e.green.Requests() {
		if r.Header.Get("X-Canary") != "1" || r.Header.Get("Cookie") != "" {
			t.Errorf("request headers %v", r.Header)
		}
	}

	t.Run("a check may not set the selector header", func(t *testing.T) {
		spec := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{{Path: "/", Headers: map[string]string{"X-Canary": "0"}}}}
		_, err := e.run(t, spec, sel, testRel)
		var fe *smoke.FieldError
		if !errors.As(err, &fe) || fe.Field != `verify.checks[0].headers["X-Canary"]` {
			t.Fatalf("error = %v, want a FieldError for the header", err)
		}
	})
	t.Run("wrong value reaches the old color", func(t *testing.T) {
		_, err := e.run(t, spec, smoke.HeaderSelector("x-canary", "2"), testRel)
		var wrong *smoke.WrongReleaseError
		if !errors.As(err, &wrong) || wrong.Route != "header x-canary: 2" {
			t.Fatalf("error = %v, want a WrongReleaseError", err)
		}
	})
}

func TestRunDoesNotFollowRedirects(t *testing.T) {
	e := newEnv(t, nil, []smoketest.AppOption{smoketest.Handle("/login", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://idp.example.com/auth", http.StatusFound)
	})})
	spec := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{{Path: "/login", Expect: smoke.Expect{Status: 302}}}}
	if _, err := e.run(t, spec, cookie, testRel); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	e := newEnv(t, nil, nil)
	good := smoke.Spec{Identity: headerIdentity(), Checks: []smoke.Check{{Path: "/"}}}
	tests := []struct {
		name   string
		spec   smoke.Spec
		target func(smoke.Target) smoke.Target
		want   string
		is     error
	}{
		{name: "nothing configured", spec: smoke.Spec{}, is: smoke.ErrNotConfigured},
		{name: "invalid spec", spec: smoke.Spec{Checks: []smoke.Check{{Path: "/"}}}, want: "verify.identity:"},
		{name: "wildcard host", spec: good, target: func(t smoke.Target) smoke.Target { t.Host = "*.example.com"; return t }, want: "wildcard"},
		{name: "gateway URL with path", spec: good, target: func(t smoke.Target) smoke.Target { t.GatewayURL += "/x"; return t }, want: "gateway URL"},
		{name: "no version", spec: good, target: func(t smoke.Target) smoke.Target { t.Release.Version = ""; return t }, want: "no version"},
		{name: "bad cookie", spec: good, target: func(t smoke.Target) smoke.Target { t.Selector = smoke.CookieSelector("test", "a;b"); return t }, want: "selector cookie value"},
		{name: "header selector Cookie", spec: good, target: func(t smoke.Target) smoke.Target { t.Selector = smoke.HeaderSelector("cookie", "a"); return t }, want: "selector header name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := e.target(cookie, testRel)
			if tc.target != nil {
				tg = tc.target(tg)
			}
			rep, err := e.runner().Run(context.Background(), tc.spec, tg)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %v / %q", err, tc.is, tc.want)
			}
			if rep.Passed || rep.Finished.IsZero() {
				t.Errorf("report: %+v", rep)
			}
		})
	}
	if n := len(e.green.Requests()) + len(e.blue.Requests()); n != 0 {
		t.Errorf("bad input still sent %d requests", n)
	}
}

func TestRunProgressEvents(t *testing.T) {
	e := newEnv(t, nil, []smoketest.AppOption{smoketest.FailFirst("/api", 1, 503)})
	spec := smoke.Spec{Identity: smoke.Identity{Path: "/version", Header: smoketest.VersionHeader}, Checks: []smoke.Check{{Name: "api", Path: "/api"}}}
	if _, err := e.run(t, spec, cookie, testRel); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range e.events {
		lines = append(lines, ev.String())
	}
	want := []string{
		"identity: attempt 1/6: 200 from v2",
		"identity: passed after 1 attempt",
		`check "api": attempt 1/4 failed: status 503, want 200 (body "{\"version\":\"v2\",\"release\":\"r-bbbbbbbb\",\"color\":\"green\",\"ready\":true,\"error\":\"Service Unavailable\"}\n")`,
		`check "api": retrying in 500ms`,
		`check "api": attempt 2/4: 200 from v2`,
		`check "api": passed after 2 attempts`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
