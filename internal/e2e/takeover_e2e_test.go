//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// plainApp is myapp as a team runs it before bgrender: a Deployment and a
// Service, applied by Argo CD.
var plainApp = map[string]string{
	"apps/myapp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- service.yaml\n- deployment.yaml\n",
	"apps/myapp/service.yaml":       "apiVersion: v1\nkind: Service\nmetadata:\n  name: myapp\n  labels: {app: myapp}\nspec:\n  selector: {app: myapp}\n  ports:\n  - {name: http, port: 3000}\n",
	"apps/myapp/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: myapp
  labels: {app: myapp}
spec:
  replicas: 2
  selector:
    matchLabels: {app: myapp}
  template:
    metadata:
      labels: {app: myapp}
    spec:
      containers:
      - name: myapp
        image: ghcr.io/acme/myapp:v0
        ports:
        - {name: http, containerPort: 3000}
        readinessProbe:
          httpGet: {path: /ready, port: http}
`,
}

// meshProbe calls the app's Service from inside the mesh (the Traffic
// stand-in's mesh caller) every 50 ms, without the test cookie, and keeps
// what each call got, as a user of the app would see it.
type meshProbe struct {
	once  sync.Once
	mu    sync.Mutex
	calls []probeCall
	stop  chan struct{}
	done  chan struct{}
}

type probeCall struct {
	at     time.Time
	result string // "200 v1", or the error
}

func startMeshProbe(t *testing.T, url string) *meshProbe {
	p := &meshProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		client := &http.Client{Timeout: 2 * time.Second, Transport: httptransport.New()}
		for {
			res := meshCall(client, url, "")
			p.mu.Lock()
			p.calls = append(p.calls, probeCall{time.Now(), res})
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { p.finish() }) // a test that stops early stops the probe too
	return p
}

func (p *meshProbe) finish() []probeCall {
	p.once.Do(func() { close(p.stop) })
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// TestTakeoverArgoCD takes over an app that Argo CD already runs: from the
// adoption to the decommission of what it ran before, every call from
// inside the mesh gets an answer, from the old Deployment until the first
// promote and from the release after it; a rollback goes back to the old
// one. (The stand-ins replace a Deployment's pods at once, where a kubelet
// would roll them; see the package doc.)
func TestTakeoverArgoCD(t *testing.T) {
	c := kubetest.Start(t, kubetest.WithControllers())
	s, _ := newScenario(t, c)
	gitopstest.Seed(t, s.authURL, "main", plainApp, "myapp as it runs before bgrender")
	a := StartArgoCD(t, c)
	a.AddRepo(t, s.repo, scenarioUser, scenarioPass)
	a.AddApp(t, "myapp", s.repo, "apps/myapp", "default")
	s.expectMesh("before bgrender", map[string]string{"": "200 v0"})
	probe := startMeshProbe(t, s.traffic.MeshURL)

	s.bg(0, "init", "--adopt", "--name", "myapp", "--image", "ghcr.io/acme/myapp", "--host", "myapp.example.com")
	s.env = append(s.env, "BGRENDER_ARGOCD_TOKEN="+a.Token)
	s.configure("wait:\n  controller: argocd\n  server: " + a.URL + "\n  cooldown: 2s\n  timeout: 3m\n")
	s.bg(0, "wait", "--poll-interval", "200ms")
	s.expectMesh("adopted", map[string]string{"": "200 v0"})

	s.bg(0, "deploy", "--version", "v1")
	s.bg(0, "wait", "--poll-interval", "200ms")
	s.expectMesh("v1 under test", map[string]string{"": "200 v0", "test=true": "200 v1"})
	s.bg(0, "verify", "--gateway-url", s.traffic.GatewayURL, "--poll-interval", "200ms")
	promoted := time.Now()
	s.bg(0, "promote")
	s.bg(0, "wait", "--poll-interval", "200ms")
	s.expectMesh("v1 promoted", map[string]string{"": "200 v1"})

	s.bg(0, "rollback")
	s.bg(0, "wait", "--poll-interval", "200ms")
	s.expectMesh("rolled back to what ran before", map[string]string{"": "200 v0", "test=true": "200 v1"})
	s.bg(0, "promote", "--force", "--reason", "rollback drill")
	s.bg(0, "wait", "--poll-interval", "200ms")
	s.bg(0, "decommission")
	s.bg(0, "wait", "--poll-interval", "200ms")
	s.expectMesh("decommissioned", map[string]string{"": "200 v1"})
	if _, err := c.Dynamic.Resource(deploymentsGVR).Namespace("default").Get(context.Background(), "myapp", metav1.GetOptions{}); err == nil {
		t.Error("the Deployment from before bgrender is still in the API server after decommission")
	}

	calls := probe.finish()
	bad := 0
	for _, call := range calls {
		if !strings.HasPrefix(call.result, "200 ") {
			bad++
			t.Errorf("a call from inside the mesh at %s got %q", call.at.Format("15:04:05.000"), call.result)
		}
		if call.result == "200 v1" && call.at.Before(promoted) {
			t.Errorf("an ordinary call reached v1 under test at %s, before the promote", call.at.Format("15:04:05.000"))
		}
		if bad > 5 {
			break
		}
	}
	t.Logf("%d calls from inside the mesh during the takeover, %d without an answer", len(calls), bad)
}
