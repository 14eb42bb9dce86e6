package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
	"github.com/bgrender/bgrender/pkg/state"
)

// fakeArgoCD stands in for Argo CD and the cluster behind it, which the
// end-to-end tests of issue 4 replace with the real ones. On every refresh
// request it does what Argo CD, the kubelet and istiod would do with the
// remote's head: it builds the app dir with kustomize, runs one stand-in
// pod (a smoketest.App serving the image's version and the release label)
// per Deployment, and programs the stand-in gateway with the built
// VirtualService's rules, in order. It answers GET /api/v1/applications/NAME
// with Argo CD v2.14's Application JSON (the recorded reference response,
// with the revision, times and statuses of this sync).
type fakeArgoCD struct {
	t      *testing.T
	remote string
	dir    string
	// app is the Application's name and container the container whose
	// image tag is a pod's version ("myapp" both, unless set).
	app, container string
	token          string
	gateway        *smoketest.Gateway
	srv            *httptest.Server
	// appOptions gives the stand-in pods of a version their behaviour.
	appOptions map[string][]smoketest.AppOption
	// dropTestRoute makes the stand-in gateway ignore the test rule, as a
	// misprogrammed route would: cookie requests reach the active color.
	dropTestRoute bool
	// response, when set, is served instead of the synced Application.
	response string

	mu       sync.Mutex
	revision string
	synced   time.Time
	pods     map[state.Color]*smoketest.App
	syncs    int
}

func newFakeArgoCD(t *testing.T, remote, dir, token string) *fakeArgoCD {
	f := &fakeArgoCD{t: t, remote: remote, dir: dir, app: "myapp", container: "myapp", token: token, pods: map[state.Color]*smoketest.App{}, appOptions: map[string][]smoketest.AppOption{}}
	f.gateway = smoketest.StartGateway(t, nil)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeArgoCD) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, `{"error":"invalid session","code":16}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Path != "/api/v1/applications/"+f.app {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("refresh") != "" {
		f.sync()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.response != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(f.response))
		return
	}
	data, err := os.ReadFile("../../testdata/wait/argocd-v2.14-application-synced.json")
	if err != nil {
		f.t.Errorf("fake argocd: %v", err)
		return
	}
	var app map[string]any
	if err := json.Unmarshal(data, &app); err != nil {
		f.t.Errorf("fake argocd: %v", err)
		return
	}
	at := f.synced.UTC().Format(time.RFC3339)
	st := app["status"].(map[string]any)
	st["sync"].(map[string]any)["revision"] = f.revision
	st["health"].(map[string]any)["lastTransitionTime"] = at
	st["reconciledAt"] = at
	op := st["operationState"].(map[string]any)
	op["operation"].(map[string]any)["sync"].(map[string]any)["revision"] = f.revision
	op["syncResult"].(map[string]any)["revision"] = f.revision
	op["startedAt"], op["finishedAt"] = at, at
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(app)
}

// sync applies the remote's head.
func (f *fakeArgoCD) sync() {
	head := gitopstest.Head(f.t, f.remote, "main").String()
	files := render.Files{}
	for p, s := range gitopstest.Files(f.t, f.remote, head, f.dir) {
		files[p] = []byte(s)
	}
	var b render.Builder
	built, err := b.BuildFiles(files)
	if err != nil {
		f.t.Errorf("fake argocd: build %s at %s: %v", f.dir, head, err)
		return
	}
	nodes, err := kio.FromBytes(built)
	if err != nil {
		f.t.Errorf("fake argocd: %v", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pods := map[state.Color]*smoketest.App{}
	var rules []smoketest.Rule
	for _, n := range nodes {
		switch n.GetKind() {
		case "Deployment":
			// The pods' color: a Deployment kept from before bgrender
			// (init --adopt) has it on its pods alone.
			label := func(k string) string {
				v, _ := n.Pipe(yaml.Lookup("spec", "template", "metadata", "labels", k))
				return yaml.GetValue(v)
			}
			color, release := state.Color(label(render.LabelColor)), label(render.LabelRelease)
			image, _ := n.GetString("spec.template.spec.containers.[name=" + f.container + "].image")
			version := image[strings.LastIndex(image, ":")+1:]
			if old := f.pods[color]; old != nil && old.Release == release {
				pods[color] = old // unchanged Deployment: same pods
				continue
			}
			pods[color] = smoketest.StartApp(f.t, version, release, color, f.appOptions[version]...)
		case "VirtualService":
			http, _ := n.Pipe(yaml.Lookup("spec", "http"))
			for _, r := range http.Content() {
				rn := yaml.NewRNode(r)
				route, _ := rn.Pipe(yaml.Lookup("route"))
				subset, _ := yaml.NewRNode(route.Content()[0]).GetString("destination.subset")
				regex := ""
				if m, _ := rn.Pipe(yaml.Lookup("match")); m != nil {
					re, _ := yaml.NewRNode(m.Content()[0]).Pipe(yaml.Lookup("headers", "cookie", "regex"))
					regex = yaml.GetValue(re)
				}
				if regex != "" && f.dropTestRoute {
					continue
				}
				rules = append(rules, smoketest.Rule{Name: yaml.GetValue(rn.Field("name").Value), CookieRegex: regex, Color: state.Color(subset)})
			}
		}
	}
	f.pods = pods
	f.gateway.SetBackends(pods)
	f.gateway.SetRoutes(rules)
	f.revision, f.synced = head, time.Now()
	f.syncs++
}
