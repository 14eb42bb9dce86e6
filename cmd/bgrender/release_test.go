package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/httptransport"
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
	setenv(t, "BGRENDER_ARGOCD_TOKEN", token)
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
	t.Parallel()
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
	// v3 went into blue, the idle color, taking the place of v1 kept warm
	// there; the abort put v1 back, so a rollback is still possible (it
	// used to be lost).
	if st.Active.Version != "v2" || st.Test != nil || st.Standby == nil || st.Standby.Version != "v1" {
		t.Fatalf("after the aborted v3: %+v", st)
	}
	if !strings.Contains(res.stdout+res.stderr, "Replaces standby blue v1: rollback is not possible until this release is promoted or aborted") {
		t.Errorf("the deploy of v3 did not say it takes the standby's place:\n%s%s", res.stdout, res.stderr)
	}

	// v4 answers the test route but fails without the cookie: rolled back after the switch.
	r.argo.appOptions["v4"] = brokenForUsers("v4")
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
	// Not http.DefaultClient: a kustomize build in a parallel test refuses
	// requests through http.DefaultTransport while it runs (render.offline).
	resp, err := (&http.Client{Transport: httptransport.New()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("x-app-version")
}

// TestVerifyRefusesWrongRelease: when the test route reaches the active
// color instead of the release under test, verify fails, says so, and
// records no evidence; promote then still refuses.
func TestVerifyRefusesWrongRelease(t *testing.T) {
	t.Parallel()
	r := newReleaseEnv(t)
	r.opts = []func(*globals){noBackoff} // the retries of the wrong release, without their waits
	r.release(0, "--version", "v1")
	r.run(0, "deploy", "--version", "v2", "--poll-interval", "20ms")
	r.argo.dropTestRoute = true
	head := r.head()
	res := r.run(1, "verify", "--gateway-url", r.argo.gateway.URL, "--poll-interval", "20ms")
	if !strings.Contains(res.stderr, "reached version v1, not version v2 under test") {
		t.Fatalf("verify through a test route that reaches v1:\n%s", res.stderr)
	}
	if r.head() != head {
		t.Fatal("a failed verify committed")
	}
	r.run(3, "promote")
	r.argo.dropTestRoute = false
	out := r.run(0, "verify", "--gateway-url", r.argo.gateway.URL, "--poll-interval", "20ms")
	if !strings.Contains(out.stdout, "verify v2 in green") || !strings.Contains(out.stdout, "2 checks passed") {
		t.Fatalf("verify:\n%s", out.stdout)
	}
	r.run(0, "promote")
	if st := r.log()[0]; !strings.Contains(st.Message, "Applied commit: ") {
		t.Fatalf("promote commit without evidence:\n%s", st.Message)
	}
}

// TestWaitCommand: wait reports the applied commit, prints progress lines in
// CI logs, and stops at once, quoting Argo CD, on a ComparisonError.
func TestWaitCommand(t *testing.T) {
	t.Parallel()
	r := newReleaseEnv(t)
	res := r.run(0, "wait", "--poll-interval", "20ms")
	if !strings.Contains(res.stdout, "argocd app myapp applied "+r.head()[:7]) {
		t.Fatalf("wait output:\n%s", res.stdout)
	}
	if !strings.Contains(res.stderr, "waiting for argocd app myapp to apply "+r.head()[:7]) {
		t.Errorf("no progress line on stderr:\n%s", res.stderr)
	}
	var out waitOut
	decodeJSON(t, r.run(0, "-o", "json", "wait", "--poll-interval", "20ms").stdout, &out)
	if !out.Applied || out.Commit != r.head() || out.Source != "argocd app myapp" {
		t.Fatalf("wait json: %+v", out)
	}
	broken, err := os.ReadFile("../../testdata/wait/argocd-v2.14-application-comparison-error.json")
	if err != nil {
		t.Fatal(err)
	}
	r.argo.response = string(broken)
	start := time.Now()
	res = r.run(1, "wait", "--poll-interval", "20ms", "--timeout", "30s")
	if !strings.Contains(res.stderr, "ComparisonError") || time.Since(start) > 10*time.Second {
		t.Fatalf("a ComparisonError must stop the wait at once, quoting Argo CD (took %s):\n%s", time.Since(start), res.stderr)
	}
	if strings.Contains(res.stderr+res.stdout, "argocd-T0KEN-release") {
		t.Fatal("the Argo CD token was printed")
	}
	r.run(2, "wait", "--commit", "abc123")
}

func TestReleaseDecommissionAfter(t *testing.T) {
	t.Parallel()
	r := newReleaseEnv(t)
	r.release(0, "--version", "v1")
	_, sum := r.release(0, "--version", "v2", "--decommission-after", "10ms")
	if sum.Outcome != outcomeReleased || transitions(sum) != "deploy,route,verify,promote,decommission" {
		t.Fatalf("release with --decommission-after: %s %s", sum.Outcome, transitions(sum))
	}
	var st statusOut
	decodeJSON(t, r.run(0, "-o", "json", "status").stdout, &st)
	if st.Standby != nil || st.Active.Version != "v2" {
		t.Fatalf("after decommission: %+v", st)
	}
}

// TestWaitAcceptsOnlyHarmlessDescendants: the controller reports a later
// commit on the shared branch. One made for another app is accepted; one
// that changes this app's manifests after our commit never is.
func TestWaitAcceptsOnlyHarmlessDescendants(t *testing.T) {
	t.Parallel()
	r := newReleaseEnv(t)
	r.release(0, "--version", "v1")
	ours := r.head()
	gitopstest.Seed(t, r.url, "main", map[string]string{"apps/other/config.yaml": "a: 1\n"}, "another app's change")
	res := r.run(0, "wait", "--commit", ours, "--poll-interval", "20ms")
	if !strings.Contains(res.stdout, "a later commit that does not change apps/myapp") {
		t.Fatalf("a descendant for another app should be accepted:\n%s", res.stdout)
	}
	gitopstest.Seed(t, r.url, "main", map[string]string{"apps/myapp/base/extra.yaml": "a: 1\n"}, "a change to our app")
	res = r.run(1, "wait", "--commit", ours, "--poll-interval", "20ms", "--timeout", "1s")
	if !strings.Contains(res.stderr, "changes apps/myapp after") || !strings.Contains(res.stderr, "base/extra.yaml") {
		t.Fatalf("a descendant that changes our app must not count as applied:\n%s", res.stderr)
	}
}

// brokenForUsers makes the pods of version answer the test route and
// fail everyone else: the checks pass before the switch and fail after it.
func brokenForUsers(version string) []smoketest.AppOption {
	return []smoketest.AppOption{smoketest.Handle("/", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("x-app-version", version)
		if req.Header.Get("Cookie") == "" {
			http.Error(w, "broken for real users", http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{"version":"` + version + `"}`))
	})}
}

// TestReleaseRollsBackToTheAdoptedDeployment: podinfo (testdata/apps), live
// before bgrender, is taken over with init --adopt, and its first release
// fails its checks on the default route after the switch. The release first
// routes everyone to the adopted Deployment (before the new color's
// Deployment exists), and the rollback sends users back to it, with the
// release under test again.
func TestReleaseRollsBackToTheAdoptedDeployment(t *testing.T) {
	t.Parallel()
	_, url := gitopstest.NewRemote(t, "main")
	seedPlainApp(t, url, "podinfo")
	e := newEnvOn(t, url, "apps/podinfo")
	const token = "argocd-T0KEN-adopted"
	setenv(t, "BGRENDER_ARGOCD_TOKEN", token)
	argo := newFakeArgoCD(t, url, "apps/podinfo", token)
	argo.app, argo.container = "podinfo", "podinfod"
	e.run(0, "init", "--adopt", "--name", "podinfo", "--image", "ghcr.io/stefanprodan/podinfo", "--container", "podinfod", "--host", "podinfo.example.com")
	cfg := gitopstest.Files(t, url, "main", "apps/podinfo")["bgrender.yaml"]
	verify := releaseConfig[strings.Index(releaseConfig, "wait:\n"):]
	gitopstest.Seed(t, url, "main", map[string]string{"apps/podinfo/bgrender.yaml": cfg + strings.Replace(verify, "SERVER", argo.srv.URL, 1)}, "configure waits and smoke checks")
	r := &releaseEnv{env: e, argo: argo}
	r.opts = []func(*globals){noBackoff}
	r.argo.appOptions["6.7.1"] = brokenForUsers("6.7.1")
	res, sum := r.release(1, "--version", "6.7.1")
	// First the adopted Deployment's own routes, applied before the new
	// color's Deployment joins the Service (make-before-break).
	if sum.Outcome != outcomeRolledBack || transitions(sum) != "route-adopted,deploy,route,verify,promote,rollback" {
		t.Fatalf("6.7.1: %s %s %q\n%s", sum.Outcome, transitions(sum), sum.Error, res.stderr)
	}
	if !strings.Contains(res.stdout+res.stderr, "rollback to the adopted Deployment podinfo (6.7.1 in blue goes back under test) after a failed release") {
		t.Errorf("the rollback's subject:\n%s", res.stdout)
	}
	var st statusOut
	decodeJSON(t, r.run(0, "-o", "json", "status").stdout, &st)
	if st.Active != nil || st.Test == nil || st.Test.Version != "6.7.1" || st.Adopted == "" {
		t.Fatalf("after the rollback: %+v", st)
	}
	if got := get(t, r.argo.gateway.URL, "podinfo.example.com", ""); got != "6.7.0" {
		t.Fatalf("users reach %q after the rollback, want 6.7.0, what ran before bgrender", got)
	}
	if got := get(t, r.argo.gateway.URL, "podinfo.example.com", "test=true"); got != "6.7.1" {
		t.Fatalf("the test route reaches %q after the rollback, want 6.7.1", got)
	}
	mustBG(t, 0, "--repo", url, "check", "--all")
}
