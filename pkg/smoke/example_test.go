package smoke_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/bgrender/bgrender/pkg/smoke"
	"github.com/bgrender/bgrender/pkg/state"
)

// ExampleRunner_Run verifies release v2 through the test cookie. The server
// stands in for the gateway: it answers with v2 only when the test cookie is
// sent, and its /api fails once, so the check is retried.
func ExampleRunner_Run() {
	var failed atomic.Bool
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("test"); err != nil || c.Value != "true" {
			w.Header().Set("x-app-version", "v1")
		} else {
			w.Header().Set("x-app-version", "v2")
		}
		if r.URL.Path == "/api" && !failed.Swap(true) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, `{"ok": true}`)
	}))
	defer gateway.Close()

	spec := smoke.Spec{
		Identity: smoke.Identity{Header: "x-app-version"},
		Checks: []smoke.Check{
			{Name: "health", Path: "/healthz"},
			{Name: "api", Path: "/api", Expect: smoke.Expect{JSON: []smoke.JSONExpect{{Field: "ok", Equals: "true"}}}},
		},
	}
	r := smoke.Runner{
		// No real waiting between retries, and a fixed clock.
		Sleep:    func(context.Context, time.Duration) error { return nil },
		Now:      func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) },
		Progress: func(e smoke.Event) { fmt.Println(e) },
	}
	target := smoke.Target{
		GatewayURL: gateway.URL,
		Host:       "myapp.example.com",
		Selector:   smoke.CookieSelector("test", "true"),
		Release:    state.Release{ID: "r-bbbbbbbb", Version: "v2", Color: state.Green},
	}
	report, err := r.Run(context.Background(), spec, target)
	fmt.Println("passed:", report.Passed, "error:", err)

	// Without the cookie the gateway's default route answers with v1.
	target.Selector = smoke.Selector{}
	r.Progress = nil
	_, err = r.Run(context.Background(), spec, target)
	fmt.Println(err)
	// Output:
	// identity: attempt 1/6: 200 from v2
	// identity: passed after 1 attempt
	// check "health": attempt 1/4: 200 from v2
	// check "health": passed after 1 attempt
	// check "api": attempt 1/4 failed: status 503, want 200 (empty body)
	// check "api": retrying in 500ms
	// check "api": attempt 2/4: 200 from v2
	// check "api": passed after 2 attempts
	// passed: true error: <nil>
	// the default route reached version v1, not version v2: the VirtualService's default rule is not routing to green yet, or routes to the wrong color
}
