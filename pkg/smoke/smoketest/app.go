package smoketest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/state"
)

// VersionHeader is the response header in which an App sends its version.
const VersionHeader = "x-app-version"

// ReadyPath is the path on which an App that is not ready answers 503.
const ReadyPath = "/ready"

// MetricsPath is where an App serves its request and error counters in
// Prometheus's text format: app_requests_total and app_errors_total (the
// 5xx answers), labelled app, color, version and release. Requests to it
// are not counted, nor recorded.
const MetricsPath = "/metrics"

// Body is the JSON an App answers with (unless a Handle option replaces it).
type Body struct {
	Version string `json:"version"`
	Release string `json:"release"`
	Color   string `json:"color"`
	Ready   bool   `json:"ready"`
	// Error is set when a FailPath or FailFirst option failed the request.
	Error string `json:"error,omitempty"`
}

// Request is a request an App received.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	// Host is the Host header the App saw (the gateway passes it through).
	Host   string
	Header http.Header
	Body   string
}

// App is a tiny real HTTP app standing in for the pods of one color. It
// answers every path with its version in the x-app-version header and the
// JSON Body {"version", "release", "color", "ready"}; options make paths fail,
// slow or custom. It runs on an httptest.Server closed when the test ends.
type App struct {
	// URL is the app's base URL, e.g. http://127.0.0.1:41234.
	URL     string
	Version string
	Release string
	Color   state.Color

	srv  *httptest.Server
	done chan struct{}

	mu       sync.Mutex
	served   int     // requests answered, but to MetricsPath
	errors   int     // of them, with a 5xx
	seconds  float64 // the time they took, delays included
	ready    bool
	noHeader bool
	behave   []*behaviour
	handlers map[string]http.HandlerFunc
	requests []Request
}

// behaviour is a failure or delay for a path ("" = every path), applied to
// the first n matching requests (n < 0: all).
type behaviour struct {
	path   string
	n      int
	seen   int
	status int           // fail with this status, if non-zero
	delay  time.Duration // wait this long before answering, if non-zero
}

// AppOption changes how an App answers.
type AppOption func(*App)

// FailPath makes every request to path ("" = any path) answer status, with
// the identity header and a Body whose error is set.
func FailPath(path string, status int) AppOption {
	return FailFirst(path, -1, status)
}

// FailFirst makes the first n requests to path ("" = any path) answer status.
func FailFirst(path string, n, status int) AppOption {
	return func(a *App) { a.behave = append(a.behave, &behaviour{path: path, n: n, status: status}) }
}

// Delay makes every request to path ("" = any path) wait d before answering
// (or until the client gives up).
func Delay(path string, d time.Duration) AppOption {
	return DelayFirst(path, -1, d)
}

// DelayFirst makes the first n requests to path ("" = any path) wait d.
func DelayFirst(path string, n int, d time.Duration) AppOption {
	return func(a *App) { a.behave = append(a.behave, &behaviour{path: path, n: n, delay: d}) }
}

// NotReady starts the app not ready: its Body says "ready": false and
// ReadyPath answers 503. See App.SetReady.
func NotReady() AppOption { return func(a *App) { a.ready = false } }

// NoIdentityHeader leaves out the x-app-version header (the JSON Body still
// carries the version).
func NoIdentityHeader() AppOption { return func(a *App) { a.noHeader = true } }

// Handle answers path with h instead of the JSON Body. The identity header is
// already set when h runs (h may delete it); failures and delays apply first.
func Handle(path string, h http.HandlerFunc) AppOption {
	return func(a *App) { a.handlers[path] = h }
}

// StartApp starts an App for version (the image tag), release (the release
// id) and color.
func StartApp(t testing.TB, version, release string, color state.Color, opts ...AppOption) *App {
	t.Helper()
	a := &App{Version: version, Release: release, Color: color, ready: true, handlers: map[string]http.HandlerFunc{}, done: make(chan struct{})}
	for _, o := range opts {
		o(a)
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = a.srv.URL
	t.Cleanup(func() {
		close(a.done)
		a.srv.Close()
	})
	return a
}

// SetReady changes whether the app reports ready.
func (a *App) SetReady(ready bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ready = ready
}

// Requests returns the requests the app has received, oldest first.
func (a *App) Requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Request, len(a.requests))
	copy(out, a.requests)
	return out
}

// Counts are the requests the app answered (but to MetricsPath) and how
// many of them with a 5xx.
func (a *App) Counts() (requests, errors int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.served, a.errors
}

func (a *App) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == MetricsPath {
		a.serveMetrics(w)
		return
	}
	start := time.Now()
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.requests = append(a.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host, Header: r.Header.Clone(), Body: string(body)})
	var status int
	var delay time.Duration
	for _, b := range a.behave {
		if b.path != "" && b.path != r.URL.Path {
			continue
		}
		b.seen++
		if b.n >= 0 && b.seen > b.n {
			continue
		}
		if b.status != 0 && status == 0 {
			status = b.status
		}
		delay += b.delay
	}
	reply := Body{Version: a.Version, Release: a.Release, Color: string(a.Color), Ready: a.ready}
	noHeader := a.noHeader
	h := a.handlers[r.URL.Path]
	a.mu.Unlock()

	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		case <-a.done:
			return
		}
	}
	if !noHeader {
		w.Header().Set(VersionHeader, a.Version)
	}
	switch {
	case status != 0:
		reply.Error = http.StatusText(status)
	case h != nil:
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h(sw, r)
		a.count(sw.status, time.Since(start))
		return
	case r.URL.Path == ReadyPath && !reply.Ready:
		status = http.StatusServiceUnavailable
	default:
		status = http.StatusOK
	}
	a.count(status, time.Since(start))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(reply)
}

func (a *App) count(status int, took time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.served++
	a.seconds += took.Seconds()
	if status >= 500 {
		a.errors++
	}
}

// MetricTypes are the TYPE lines of what WriteMetrics writes, to start a
// scrape's answer with.
const MetricTypes = "# TYPE app_requests_total counter\n# TYPE app_errors_total counter\n# TYPE app_request_duration_seconds summary\n"

// WriteMetrics writes the app's counters in Prometheus's text format, for
// app (the label app): requests, 5xx answers, and the summary
// app_request_duration_seconds (its _sum and _count: the mean latency is
// their ratio).
func (a *App) WriteMetrics(w io.Writer, app string) {
	a.mu.Lock()
	requests, errors, seconds := a.served, a.errors, a.seconds
	a.mu.Unlock()
	labels := fmt.Sprintf(`app=%q,color=%q,version=%q,release=%q`, app, string(a.Color), a.Version, a.Release)
	fmt.Fprintf(w, "app_requests_total{%s} %d\napp_errors_total{%s} %d\n", labels, requests, labels, errors)
	fmt.Fprintf(w, "app_request_duration_seconds_sum{%s} %g\napp_request_duration_seconds_count{%s} %d\n", labels, seconds, labels, requests)
}

func (a *App) serveMetrics(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprint(w, MetricTypes)
	a.WriteMetrics(w, "")
}
