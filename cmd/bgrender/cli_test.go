package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/render"
)

// result is one CLI invocation.
type result struct {
	stdout, stderr string
	code           int
}

// bg runs the CLI in-process with a fixed clock.
func bg(t testing.TB, args ...string) result {
	t.Helper()
	return bgWith(t, nil, args...)
}

// bgWith is bg with the clock or sleeps replaced (see runWith). The
// environment it reads is the test's (setenv), never the process's.
func bgWith(t testing.TB, opts []func(*globals), args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := environFor(t)
	opts = append([]func(*globals){func(g *globals) { g.getenv = getenv }}, opts...)
	code := runWith(context.Background(), append([]string{"bgrender"}, args...), strings.NewReader(""), &out, &errb, opts...)
	return result{out.String(), errb.String(), code}
}

// testEnviron holds the environment variables each test's runs read, by
// test name: runWith takes its environment as a getenv, so a test sets
// variables for its own runs (setenv) instead of for the process
// (t.Setenv), and tests that set them still run in parallel.
var testEnviron = struct {
	sync.Mutex
	vars map[string]map[string]string
}{vars: map[string]map[string]string{}}

// setenv sets k to v for the runs of t and of the subtests it runs, until
// t ends, as t.Setenv would for the process.
func setenv(t testing.TB, k, v string) {
	t.Helper()
	testEnviron.Lock()
	defer testEnviron.Unlock()
	name := t.Name()
	vars, ok := testEnviron.vars[name]
	if !ok {
		vars = map[string]string{}
		testEnviron.vars[name] = vars
		t.Cleanup(func() {
			testEnviron.Lock()
			defer testEnviron.Unlock()
			delete(testEnviron.vars, name)
		})
	}
	vars[k] = v
}

// environFor is the environment of t's runs now: what setenv set for t
// and for the tests t runs within, the innermost first.
func environFor(t testing.TB) func(string) string {
	env := testVars(t)
	return func(k string) string { return env[k] }
}

// environ is the environment of a bgrender process a test starts: the
// process's own, with what setenv set for t.
func environ(t testing.TB) []string {
	out := os.Environ()
	for k, v := range testVars(t) {
		out = append(out, k+"="+v)
	}
	return out
}

// testVars are the variables setenv set for t and the tests it runs within.
func testVars(t testing.TB) map[string]string {
	testEnviron.Lock()
	defer testEnviron.Unlock()
	var names []string
	for n := t.Name(); ; n = n[:strings.LastIndex(n, "/")] {
		names = append(names, n)
		if !strings.Contains(n, "/") {
			break
		}
	}
	env := map[string]string{}
	for i := len(names) - 1; i >= 0; i-- {
		for k, v := range testEnviron.vars[names[i]] {
			env[k] = v
		}
	}
	return env
}

// testSize is full when BGRENDER_TEST_FULL=1 (.ci/run sets it) and small
// otherwise: the chaos and long concurrency tests make the same assertions
// at either size, the full one in CI.
func testSize(t testing.TB, small, full int) int {
	t.Helper()
	if os.Getenv("BGRENDER_TEST_FULL") == "1" {
		t.Logf("full size: %d", full)
		return full
	}
	return small
}

// noBackoff makes smoke check retries follow each other at once: the
// retries are still counted, only the waits between them go.
func noBackoff(g *globals) { g.sleep = func(context.Context, time.Duration) error { return nil } }

// mustBG runs the CLI and fails the test unless it exits with want.
func mustBG(t testing.TB, want int, args ...string) result {
	t.Helper()
	r := bg(t, args...)
	if r.code != want {
		t.Fatalf("bgrender %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// env is an env repo on a real bare remote.
type env struct {
	t      *testing.T
	url    string
	app    string
	branch string
	// opts replace what runs take from the process (bgWith).
	opts []func(*globals)
}

func newEnv(t *testing.T, app string) *env {
	t.Helper()
	_, url := gitopstest.NewRemote(t, "main")
	return &env{t: t, url: url, app: app, branch: "main"}
}

// run runs a command against the remote for the env's app dir.
func (e *env) run(want int, args ...string) result {
	e.t.Helper()
	full := append([]string{"--repo", e.url, "--app", e.app}, args...)
	r := bgWith(e.t, e.opts, full...)
	if r.code != want {
		e.t.Fatalf("bgrender %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(full, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

func (e *env) head() string {
	e.t.Helper()
	return gitopstest.Head(e.t, e.url, e.branch).String()
}

func (e *env) log() []gitops.Commit {
	e.t.Helper()
	return gitopstest.Log(e.t, e.url, e.branch)
}

// buildOutput is the kustomize build of the app dir at the remote's head, as YAML.
func (e *env) buildOutput() []byte {
	e.t.Helper()
	return e.buildAt(e.branch)
}

// buildAt is buildOutput at a revision (a branch or a commit hash).
func (e *env) buildAt(rev string) []byte {
	e.t.Helper()
	files := render.Files{}
	for p, s := range gitopstest.Files(e.t, e.url, rev, e.app) {
		files[p] = []byte(s)
	}
	var b render.Builder
	out, err := b.BuildFiles(files)
	if err != nil {
		e.t.Fatalf("kustomize build of %s at the remote head: %v", e.app, err)
	}
	return out
}

// built returns the kustomize build of the app dir at the remote's head, by kind/name.
func (e *env) built() map[string]*yaml.RNode {
	e.t.Helper()
	return e.builtAt(e.branch)
}

// builtAt is built at a revision (a branch or a commit hash).
func (e *env) builtAt(rev string) map[string]*yaml.RNode {
	e.t.Helper()
	nodes, err := kio.FromBytes(e.buildAt(rev))
	if err != nil {
		e.t.Fatal(err)
	}
	objs := map[string]*yaml.RNode{}
	for _, n := range nodes {
		objs[n.GetKind()+"/"+n.GetName()] = n
	}
	return objs
}

func field(t *testing.T, n *yaml.RNode, path string) string {
	t.Helper()
	v, err := n.GetString(path)
	if err != nil {
		t.Fatalf("%s %s: %s: %v", n.GetKind(), n.GetName(), path, err)
	}
	return v
}

func trailerMap(c gitops.Commit) map[string]string {
	m := map[string]string{}
	for _, tr := range c.Trailers {
		m[tr.Key] = tr.Value
	}
	return m
}

// want describes the expected built objects of one state.
type want struct {
	deployments map[string]string // color -> version
	subsets     []string
	rules       []string // "name->subset"
}

func (e *env) assertBuilt(w want) {
	e.t.Helper()
	objs := e.built()
	for _, k := range []string{"Service/myapp", "Gateway/myapp-gateway"} {
		if objs[k] == nil {
			e.t.Errorf("build has no %s", k)
		}
	}
	deployments := 0
	for _, n := range objs {
		if n.GetKind() == "Deployment" {
			deployments++
		}
	}
	if deployments != len(w.deployments) {
		e.t.Errorf("build has %d Deployments, want %d", deployments, len(w.deployments))
	}
	for color, version := range w.deployments {
		d := objs["Deployment/myapp-"+color]
		if d == nil {
			e.t.Errorf("no Deployment myapp-%s", color)
			continue
		}
		img := field(e.t, d, "spec.template.spec.containers.[name=myapp].image")
		if img != "ghcr.io/acme/myapp:"+version {
			e.t.Errorf("myapp-%s image %s, want ghcr.io/acme/myapp:%s", color, img, version)
		}
		labels := d.GetLabels()
		tmpl, _ := d.Pipe(yaml.Lookup("spec", "template", "metadata", "labels"))
		if labels["app"] != "myapp" || labels["color"] != color || tmpl == nil {
			e.t.Errorf("myapp-%s labels %v", color, labels)
		}
		if probe := field(e.t, d, "spec.template.spec.containers.[name=myapp].readinessProbe.httpGet.path"); probe != "/ready" {
			e.t.Errorf("myapp-%s readiness path %s", color, probe)
		}
	}
	vs, dr := objs["VirtualService/myapp-blue-green"], objs["DestinationRule/myapp-blue-green"]
	if len(w.deployments) == 0 {
		if vs != nil || dr != nil {
			e.t.Errorf("no color, yet the build has a VirtualService or DestinationRule")
		}
		return
	}
	if vs == nil || dr == nil {
		e.t.Fatalf("build lacks the VirtualService or DestinationRule")
	}
	subsets, err := dr.Pipe(yaml.Lookup("spec", "subsets"))
	if err != nil || subsets == nil {
		e.t.Fatalf("DestinationRule has no subsets: %v", err)
	}
	var got []string
	for _, s := range subsets.Content() {
		got = append(got, yaml.NewRNode(s).Field("name").Value.YNode().Value)
	}
	if strings.Join(got, ",") != strings.Join(w.subsets, ",") {
		e.t.Errorf("DestinationRule subsets %v, want %v", got, w.subsets)
	}
	rules, err := vs.Pipe(yaml.Lookup("spec", "http"))
	if err != nil || rules == nil {
		e.t.Fatalf("VirtualService has no http rules: %v", err)
	}
	got = nil
	for _, r := range rules.Content() {
		rn := yaml.NewRNode(r)
		route, err := rn.Pipe(yaml.Lookup("route"))
		if err != nil || route == nil || len(route.Content()) != 1 {
			e.t.Fatalf("rule %s: want exactly one route: %v", field(e.t, rn, "name"), err)
		}
		got = append(got, field(e.t, rn, "name")+"->"+field(e.t, yaml.NewRNode(route.Content()[0]), "destination.subset"))
	}
	if strings.Join(got, ",") != strings.Join(w.rules, ",") {
		e.t.Errorf("VirtualService rules %v, want %v", got, w.rules)
	}
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
}
