package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
)

const releaseConfig = `apiVersion: bgrender.io/v1alpha1
kind: App
app: myapp
namespace: default
image: ghcr.io/acme/myapp
port: 3000
readinessPath: /ready
gateway:
  name: myapp-gateway
  hosts:
  - myapp.example.com
testRoute:
  cookie:
    name: test
    value: "true"
istio:
  apiVersion: networking.istio.io/v1
wait:
  controller: argocd
  server: SERVER
  cooldown: 1ms
  timeout: 20s
verify:
  identity:
    header: x-app-version
  checks:
  - name: ready
    path: /ready
    expect:
      status: 200
      json:
      - field: ready
        equals: "true"
  - name: home
    path: /
    retries: 1
`

// releaseEnv is an env repo on a bare remote, applied by a fake Argo CD to
// stand-in pods behind a stand-in gateway.
type releaseEnv struct {
	*env
	argo *fakeArgoCD
}

func newReleaseEnv(t *testing.T) *releaseEnv {
	e := newEnv(t, "apps/myapp")
	const token = "argocd-T0KEN-release"
	t.Setenv("BGRENDER_ARGOCD_TOKEN", token)
	argo := newFakeArgoCD(t, e.url, "apps/myapp", token)
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp", "--host", "myapp.example.com")
	cfg := strings.Replace(releaseConfig, "SERVER", argo.srv.URL, 1)
	gitopstest.Seed(t, e.url, "main", map[string]string{"apps/myapp/bgrender.yaml": cfg}, "configure waits and smoke checks")
	return &releaseEnv{env: e, argo: argo}
}

func (r *releaseEnv) release(want int, args ...string) (result, releaseSummary) {
	r.t.Helper()
	res := r.run(want, append([]string{"-o", "json", "release", "--gateway-url", r.argo.gateway.URL, "--poll-interval", "20ms"}, args...)...)
	var sum releaseSummary
	if err := json.Unmarshal([]byte(res.stdout), &sum); err != nil {
		r.t.Fatalf("release output is not one JSON object: %v\n%s\nstderr:\n%s", err, res.stdout, res.stderr)
	}
	return res, sum
}

func transitions(sum releaseSummary) string {
	var names []string
	for _, c := range sum.Commits {
		names = append(names, c.Transition)
	}
	return strings.Join(names, ",")
}

// TestReleaseCycle runs releases through the whole gate: success, smoke
// checks failing before the switch (abort), and checks on the default route
// failing after the switch (rollback).
func TestReleaseCycle(t *testing.T) {
	r := newReleaseEnv(t)

	_, sum := r.release(0, "--version", "v1")
	if sum.Outcome != outcomeReleased || transitions(sum) != "deploy,route,verify,promote" {
		t.Fatalf("first release: %s %s", sum.Outcome, transitions(sum))
	}
	var st statusOut
	decodeJSON(t, r.run(0, "-o", "json", "status").stdout, &st)
	if st.Active == nil || st.Active.Version != "v1" || st.Test != nil {
		t.Fatalf("after the first release: %+v", st)
	}
	promote := r.log()[0]
	if !strings.Contains(promote.Message, "Evidence: release "+st.Active.Release) || !strings.Contains(promote.Message, "Checks passed: ready, home") {
		t.Errorf("the promote commit does not list the evidence:\n%s", promote.Message)
	}
	// The default route now reaches v1 (the fake gateway proves it).
	resp := get(t, r.argo.gateway.URL, "myapp.example.com", "")
	if resp != "v1" {
		t.Fatalf("default route reaches %q, want v1", resp)
	}

	_, sum = r.release(0, "--version", "v2")
	if sum.Outcome != outcomeReleased || transitions(sum) != "deploy,route,verify,promote" {
		t.Fatalf("second release: %s %s", sum.Outcome, transitions(sum))
	}
	if got := get(t, r.argo.gateway.URL, "myapp.example.com", ""); got != "v2" {
		t.Fatalf("default route reaches %q after v2, want v2", got)
	}

	// v3's pods fail their readiness check: verification fails, the release is aborted.
	r.argo.appOptions["v3"] = []smoketest.AppOption{smoketest.NotReady()}
	res, sum := r.release(1, "--version", "v3")
	if sum.Outcome != outcomeAborted || transitions(sum) != "deploy,route,unroute,abort" || !strings.Contains(sum.Error, "ready") {
		t.Fatalf("failing v3: %s %s %q\n%s", sum.Outcome, transitions(sum), sum.Error, res.stderr)
	}
	decodeJSON(t, r.run(0, "-o", "json", "status").stdout, &st)
	// v3 went into blue, the idle color, replacing v1 kept warm there.
	if st.Active.Version != "v2" || st.Test != nil || st.Standby != nil {
		t.Fatalf("after the aborted v3: %+v", st)
	}

	// v4 answers the test route but fails without the cookie: rolled back after the switch.
	r.argo.appOptions["v4"] = []smoketest.AppOption{smoketest.Handle("/", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("x-app-version", "v4")
		if req.Header.Get("Cookie") == "" {
			http.Error(w, "broken for real users", http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{"version":"v4"}`))
	})}
	res, sum = r.release(1, "--version", "v4")
	if sum.Outcome != outcomeRolledBack || transitions(sum) != "deploy,route,verify,promote,rollback" {
		t.Fatalf("v4: %s %s %q\n%s", sum.Outcome, transitions(sum), sum.Error, res.stderr)
	}
	decodeJSON(t, r.run(0, "-o", "json", "status").stdout, &st)
	if st.Active.Version != "v2" || st.Standby == nil || st.Standby.Version != "v4" {
		t.Fatalf("after the rolled-back v4: %+v", st)
	}
	if got := get(t, r.argo.gateway.URL, "myapp.example.com", ""); got != "v2" {
		t.Fatalf("default route reaches %q after the rollback, want v2", got)
	}
	check := r.run(0, "check")
	if !strings.Contains(check.stdout, "ok") {
		t.Fatalf("check after the cycle: %s", check.stdout)
	}
}

// get requests / through the gateway and returns the x-app-version header.
func get(t *testing.T, gateway, host, cookie string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, gateway+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("x-app-version")
}
