//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// bgrenderBinary builds the CLI once per test process: the scenario drives
// bgrender exactly as CI does, as a separate program.
func bgrenderBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bgrender-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "bgrender")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/bgrender/bgrender/cmd/bgrender").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build bgrender: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// scenario is one env repo on the real git server, applied by one real
// controller to a real API server, with the traffic stand-ins.
type scenario struct {
	t       *testing.T
	bin     string
	repo    string // URL without credentials
	authURL string // with credentials, for the test's own pushes
	env     []string
	cluster *kubetest.Cluster
	traffic *Traffic
	// gatewayAPI: the app is routed with Gateway API.
	gatewayAPI bool
}

// router says how the scenario's app is routed: Istio (the zero value), or
// Gateway API with its HTTPRoute attached to the Gateway parent
// ("namespace/name", listener http) and to the mesh.
type router struct {
	gatewayAPI bool
	parent     string
}

// initApp commits bgrender init for the app, routed as r says (Istio when
// none). For Gateway API it first does what a platform team does: applies
// the shared Gateway of the recipe docs/recipes/gateway-api (infra/shared,
// accepting routes from namespaces labelled gateway.example.com/shared) and
// labels the app's namespace for it, and a Gateway locked/private whose
// listener allows routes from its own namespace alone.
func (s *scenario) initApp(r ...router) {
	s.t.Helper()
	args := []string{"init", "--name", "myapp", "--image", "ghcr.io/acme/myapp", "--host", "myapp.example.com"}
	if len(r) > 0 && r[0].gatewayAPI {
		s.gatewayAPI = true
		recipe, err := os.ReadFile(filepath.Join("..", "..", "docs", "recipes", "gateway-api", "shared-gateway.yaml"))
		if err != nil {
			s.t.Fatal(err)
		}
		s.cluster.Apply(s.t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: infra}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: locked}\n")
		s.cluster.Apply(s.t, string(recipe))
		s.cluster.Apply(s.t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {gateway.example.com/shared: \"true\"}}\n")
		s.cluster.Apply(s.t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: private, namespace: locked}
spec:
  gatewayClassName: e2e
  listeners:
  - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: Same}}}
`)
		args = append(args, "--routing", "gateway-api", "--parent", r[0].parent, "--section", "http", "--bind", "both")
	}
	s.bg(0, args...)
}

const scenarioUser, scenarioPass = "ci-bot", "e2e-T0KEN-7f3a"

func newScenario(t *testing.T, c *kubetest.Cluster) (*scenario, *GitServer) {
	git := StartGitServer(t, scenarioUser, scenarioPass)
	repo := git.NewRepo(t, "env")
	s := &scenario{
		t: t, bin: bgrenderBinary(t), repo: repo, cluster: c,
		authURL: strings.Replace(repo, "://", "://"+scenarioUser+":"+scenarioPass+"@", 1),
		env: append(os.Environ(),
			"BGRENDER_GIT_USERNAME="+scenarioUser, "BGRENDER_GIT_TOKEN="+scenarioPass,
			"BGRENDER_AUTHOR_NAME=e2e", "BGRENDER_AUTHOR_EMAIL=e2e@example.com",
			"KUBECONFIG="+c.Kubeconfig),
	}
	s.traffic = StartTraffic(t, c.Dynamic, "default", "myapp")
	return s, git
}

// bg runs the CLI against the env repo's app dir apps/myapp.
func (s *scenario) bg(want int, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"--repo", s.repo, "--app", "apps/myapp"}, args...)...)
	cmd.Env = s.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("bgrender %s: exit %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	if code != want {
		s.t.Fatalf("bgrender %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s\ntraffic: %v", strings.Join(args, " "), code, want, out.String(), errb.String(), s.traffic.Err())
	}
	for _, b := range [][]byte{out.Bytes(), errb.Bytes()} {
		if bytes.Contains(b, []byte(scenarioPass)) {
			s.t.Fatalf("bgrender %s printed the git token", strings.Join(args, " "))
		}
	}
	return out.String()
}

// bgFail runs a command that must exit 1 and returns its stderr.
func (s *scenario) bgFail(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"--repo", s.repo, "--app", "apps/myapp"}, args...)...)
	cmd.Env = s.env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		s.t.Fatalf("bgrender %s: %v, want exit 1\n%s", strings.Join(args, " "), err, errb.String())
	}
	return errb.String()
}

// configure commits bgrender.yaml's wait and verify sections.
func (s *scenario) configure(wait string) {
	s.t.Helper()
	files := gitopstest.Files(s.t, s.authURL, "main", "apps/myapp")
	cfg := files["bgrender.yaml"] + wait + `verify:
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
`
	gitopstest.Seed(s.t, s.authURL, "main", map[string]string{"apps/myapp/bgrender.yaml": cfg}, "myapp: wait for the controller, smoke checks")
}

type statusJSON struct {
	Phase                 string
	Active, Test, Standby *struct{ Color, Version, Release string }
}

// assertMeshCalls checks where calls from inside the mesh to the Service
// "myapp" go: without the test cookie to the active release, with it to the
// release under test. The stand-ins sync every 100 ms; they get 10 s.
func (s *scenario) assertMeshCalls(when string) {
	s.t.Helper()
	var st statusJSON
	if err := json.Unmarshal([]byte(s.bg(0, "-o", "json", "status")), &st); err != nil {
		s.t.Fatal(err)
	}
	if st.Active == nil || st.Test == nil {
		s.t.Fatalf("%s: want an active release and one under test: %+v", when, st)
	}
	s.expectMesh(when, map[string]string{"": "200 " + st.Active.Version, "a=1; test=true": "200 " + st.Test.Version})
}

// meshCall calls the app's Service "myapp" from inside the mesh (the
// Traffic stand-in's mesh caller at url), with the Cookie header cookie
// ("" for none), and returns "status version", or the error.
func meshCall(client *http.Client, url, cookie string) string {
	req, err := http.NewRequest(http.MethodGet, url+"/", nil)
	if err != nil {
		return err.Error()
	}
	req.Host = "myapp"
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	resp.Body.Close()
	return fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get(smoketest.VersionHeader))
}

// expectMesh waits (10 s at most: the stand-ins sync every 100 ms) until
// calls from inside the mesh get want, cookie header value ("" for none)
// -> "status version", the same on four calls in a row (the Service would
// alternate between pods).
func (s *scenario) expectMesh(when string, want map[string]string) {
	s.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: httptransport.New()}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := map[string]string{}
		for cookie := range want {
			for range 4 {
				if r := meshCall(client, s.traffic.MeshURL, cookie); got[cookie] == "" || got[cookie] == r {
					got[cookie] = r
				} else {
					got[cookie] = "mixed: " + got[cookie] + ", " + r
				}
			}
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			r := s.traffic.MeshRouted()
			if len(r) > 8 {
				r = r[len(r)-8:]
			}
			s.t.Errorf("%s: calls from inside the mesh got %v, want %v; the stand-in routed them %+v", when, got, want, r)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// assertCluster checks the API server holds exactly what the state says.
func (s *scenario) assertCluster(when string) {
	s.t.Helper()
	var st statusJSON
	if err := json.Unmarshal([]byte(s.bg(0, "-o", "json", "status")), &st); err != nil {
		s.t.Fatal(err)
	}
	ctx := context.Background()
	wantDeploy := map[string]string{} // name -> image + release
	for _, r := range []*struct{ Color, Version, Release string }{st.Active, st.Test, st.Standby} {
		if r != nil {
			wantDeploy["myapp-"+r.Color] = "ghcr.io/acme/myapp:" + r.Version + " " + r.Release
		}
	}
	list, err := s.cluster.Dynamic.Resource(deploymentsGVR).Namespace("default").List(ctx, metav1.ListOptions{LabelSelector: "app=myapp"})
	if err != nil {
		s.t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range list.Items {
		labels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		got[d.GetName()] = containers[0].(map[string]any)["image"].(string) + " " + labels[render.LabelRelease]
	}
	if fmt.Sprint(got) != fmt.Sprint(wantDeploy) {
		s.t.Errorf("%s: Deployments in the API server %v, want %v", when, got, wantDeploy)
	}
	var wantSubsets []string
	for c := range wantDeploy {
		wantSubsets = append(wantSubsets, strings.TrimPrefix(c, "myapp-"))
	}
	sort.Strings(wantSubsets)
	var wantRules []string
	if st.Test != nil {
		wantRules = append(wantRules, "myapp-test->"+st.Test.Color)
	}
	if st.Active != nil {
		wantRules = append(wantRules, "myapp-default->"+st.Active.Color)
	}
	gotSubsets, gotRules := s.istioRouting(ctx)
	what := "DestinationRule subsets"
	if s.gatewayAPI {
		gotSubsets, gotRules = s.gatewayAPIRouting(ctx)
		what = "per-color Services"
	}
	if strings.Join(gotSubsets, ",") != strings.Join(wantSubsets, ",") {
		s.t.Errorf("%s: %s %v, want %v", when, what, gotSubsets, wantSubsets)
	}
	if strings.Join(gotRules, ",") != strings.Join(wantRules, ",") {
		s.t.Errorf("%s: route rules %v, want %v", when, gotRules, wantRules)
	}
}

// istioRouting reads the DestinationRule's subsets and the VirtualService's
// rules ("name->subset") from the API server.
func (s *scenario) istioRouting(ctx context.Context) (subsets, rules []string) {
	dr, err := s.cluster.Dynamic.Resource(destinationRulesGVR).Namespace("default").Get(ctx, "myapp-blue-green", metav1.GetOptions{})
	if err == nil {
		items, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
		for _, it := range items {
			subsets = append(subsets, it.(map[string]any)["name"].(string))
		}
	} else if ignoreNotFound(err) != nil {
		s.t.Fatal(err)
	}
	if vs, err := s.cluster.Dynamic.Resource(virtualServicesGVR).Namespace("default").Get(ctx, "myapp-blue-green", metav1.GetOptions{}); err == nil {
		items, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		for _, r := range items {
			m := r.(map[string]any)
			route, _, _ := unstructured.NestedSlice(m, "route")
			subset, _, _ := unstructured.NestedString(route[0].(map[string]any), "destination", "subset")
			rules = append(rules, m["name"].(string)+"->"+subset)
		}
	} else if ignoreNotFound(err) != nil {
		s.t.Fatal(err)
	}
	return subsets, rules
}

// gatewayAPIRouting reads the colors with a Service of their own and the
// edge HTTPRoute's rules ("myapp-test->color" for the one with a header
// match, "myapp-default->color") from the API server.
func (s *scenario) gatewayAPIRouting(ctx context.Context) (colors, rules []string) {
	for _, c := range []string{"blue", "green"} {
		_, err := s.cluster.Dynamic.Resource(servicesGVR).Namespace("default").Get(ctx, "myapp-"+c, metav1.GetOptions{})
		if err == nil {
			colors = append(colors, c)
		} else if ignoreNotFound(err) != nil {
			s.t.Fatal(err)
		}
	}
	route, err := s.cluster.Dynamic.Resource(httpRoutesGVR).Namespace("default").Get(ctx, "myapp-blue-green", metav1.GetOptions{})
	if err != nil {
		if ignoreNotFound(err) != nil {
			s.t.Fatal(err)
		}
		return colors, nil
	}
	items, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, r := range items {
		m := r.(map[string]any)
		name := "myapp-default"
		if matches, _, _ := unstructured.NestedSlice(m, "matches"); len(matches) > 0 {
			if h, _, _ := unstructured.NestedSlice(matches[0].(map[string]any), "headers"); len(h) > 0 {
				name = "myapp-test"
			}
		}
		refs, _, _ := unstructured.NestedSlice(m, "backendRefs")
		rules = append(rules, name+"->"+strings.TrimPrefix(refs[0].(map[string]any)["name"].(string), "myapp-"))
	}
	return colors, rules
}

// run is the scenario both controllers go through.
func (s *scenario) run() {
	t := s.t
	gw := []string{"--gateway-url", s.traffic.GatewayURL, "--poll-interval", "200ms"}
	rel := func(want int, version string, extra ...string) {
		t.Helper()
		start := time.Now()
		out := s.bg(want, append(append([]string{"-o", "json", "release", "--version", version}, gw...), extra...)...)
		t.Logf("release %s: exit %d after %s (the whole cycle); %s", version, want, time.Since(start).Round(time.Millisecond), overhead(t, out))
	}
	rel(0, "v1")
	s.assertCluster("after release v1")
	rel(0, "v2")
	s.assertCluster("after release v2")

	s.traffic.SetAppOptions("v3", smoketest.NotReady())
	rel(1, "v3")
	s.assertCluster("after the aborted v3")

	rel(0, "v4")
	s.assertCluster("after release v4")
	s.bg(0, "rollback")
	s.bg(0, "wait", "--poll-interval", "200ms")
	s.assertCluster("after rolling v4 back")
	s.bg(0, "decommission")
	s.bg(0, "wait", "--poll-interval", "200ms")
	s.assertCluster("after decommission")

	// Calls from pods inside the mesh follow the same routes as the
	// Gateway's (istio.bind: both): ordinary calls stay on the active
	// color, test calls reach the release under test.
	s.bg(0, "deploy", "--version", "v5")
	s.bg(0, "wait", "--poll-interval", "200ms") // the route commit
	s.assertCluster("while v5 is under test")
	s.assertMeshCalls("while v5 is under test")
	s.bg(0, "abort")
	s.bg(0, "wait", "--poll-interval", "200ms")
	s.assertCluster("after aborting v5")

	// A later commit for another app is as good as ours; one that changes
	// our app after ours is not; one that breaks our build fails fast with
	// the controller's message.
	ours := gitopstest.Head(t, s.authURL, "main").String()
	gitopstest.Seed(t, s.authURL, "main", map[string]string{"apps/other/notes.txt": "another app\n"}, "other: unrelated change")
	s.bg(0, "wait", "--commit", ours, "--poll-interval", "200ms", "--timeout", "2m")
	svc := gitopstest.Files(t, s.authURL, "main", "apps/myapp")["base/service.yaml"]
	gitopstest.Seed(t, s.authURL, "main", map[string]string{"apps/myapp/base/service.yaml": svc + "# edited by hand\n"}, "myapp: touch the base")
	// Until the controller has applied that commit it may rightly still
	// report ours; once it reports the new one, ours no longer counts.
	s.bg(0, "wait", "--poll-interval", "200ms", "--timeout", "2m")
	if out := s.bgFail("wait", "--commit", ours, "--poll-interval", "200ms", "--timeout", "5s"); !strings.Contains(out, "changes apps/myapp after") {
		t.Errorf("a later commit that changes our app must not count as ours applied:\n%s", out)
	}
	gitopstest.Seed(t, s.authURL, "main", map[string]string{"apps/myapp/base/kustomization.yaml": "resources:\n- service.yaml\n- missing.yaml\n"}, "myapp: break the base")
	start := time.Now()
	out := s.bg(1, "-o", "json", "wait", "--poll-interval", "200ms", "--timeout", "5m")
	if time.Since(start) > 2*time.Minute {
		t.Errorf("a broken build was reported after %s, not quickly", time.Since(start))
	}
	if !strings.Contains(out, "missing.yaml") {
		t.Errorf("the wait for a broken build does not quote the controller's message:\n%s", out)
	}
}

// overhead says, from release's -o json summary, bgrender's own time per
// transition (reading, rendering, building, committing, pushing) and how
// long each was then waited for (the controller's push-to-applied time,
// plus up to one poll interval).
func overhead(t *testing.T, out string) string {
	t.Helper()
	var sum struct {
		Commits []struct {
			Transition string `json:"transition"`
			TookMs     int64  `json:"tookMs"`
			WaitedMs   int64  `json:"waitedMs"`
		} `json:"commits"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("release -o json: %v\n%s", err, out)
	}
	var parts []string
	var most int64
	for _, c := range sum.Commits {
		parts = append(parts, fmt.Sprintf("%s %.2fs (waited %.1fs)", c.Transition, float64(c.TookMs)/1000, float64(c.WaitedMs)/1000))
		most = max(most, c.TookMs)
	}
	return fmt.Sprintf("bgrender's own time per transition, at most %.2fs: %s", float64(most)/1000, strings.Join(parts, ", "))
}
