package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
	"github.com/bgrender/bgrender/pkg/state"
)

// GVRs of the objects Traffic reads.
var (
	deploymentsGVR      = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	podsGVR             = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	virtualServicesGVR  = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	destinationRulesGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"}
)

// Traffic stands in for the network path from the gateway to the pods and
// for the containers (see the package doc): the pods themselves are the
// real controllers' over kwok's fake node (kubetest.WithControllers). It
// runs a stand-in app per color that has a Ready pod, serving that pod's
// image tag and release, and routes a gateway by the VirtualService bound
// to a Gateway and a mesh caller by the one bound to "mesh", with the
// DestinationRule, as they are in the API server; for an app routed with
// Gateway API, by its HTTPRoutes, whose status it writes (gatewayapi.go).
// It polls every 100 ms until the test ends.
type Traffic struct {
	// GatewayURL is where smoke checks go (the ingress gateway).
	GatewayURL string
	// MeshURL stands in for a pod inside the mesh calling the app's
	// Service by name (send Host "<app>"): with no VirtualService bound to
	// the mesh, its calls reach every color.
	MeshURL string
	// MetricsTarget (host:port) serves, at /metrics, the request and error
	// counters of every stand-in pod (smoketest.App.WriteMetrics): one
	// scrape target standing in for Prometheus's discovery of the pods.
	MetricsTarget string

	t         testing.TB
	client    dynamic.Interface
	namespace string
	app       string
	gateway   *smoketest.Gateway
	mesh      *smoketest.Gateway

	mu sync.Mutex
	// AppOptions gives the stand-in pods of a version their behaviour.
	appOptions map[string][]smoketest.AppOption
	pods       map[state.Color]*smoketest.App
	// retired are stand-in pods replaced since, whose counters stay
	// exported (a counter never goes back, as a pod's metrics outlive it
	// in Prometheus).
	retired []*smoketest.App
	lastErr error
}

// StartTraffic starts the stand-ins for app's objects in namespace.
func StartTraffic(t testing.TB, client dynamic.Interface, namespace, app string) *Traffic {
	tr := &Traffic{t: t, client: client, namespace: namespace, app: app,
		appOptions: map[string][]smoketest.AppOption{}, pods: map[state.Color]*smoketest.App{}}
	tr.gateway = smoketest.StartGateway(t, nil)
	tr.GatewayURL = tr.gateway.URL
	tr.mesh = smoketest.StartMeshCaller(t, nil)
	tr.MeshURL = tr.mesh.URL
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, smoketest.MetricTypes)
		tr.mu.Lock()
		seen := map[*smoketest.App]bool{}
		var apps []*smoketest.App
		for _, p := range tr.pods {
			apps = append(apps, p)
		}
		apps = append(apps, tr.retired...)
		tr.mu.Unlock()
		for _, a := range apps {
			if !seen[a] {
				seen[a] = true
				a.WriteMetrics(w, tr.app)
			}
		}
	}))
	t.Cleanup(metrics.Close)
	tr.MetricsTarget = strings.TrimPrefix(metrics.URL, "http://")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if err := tr.sync(ctx); err != nil && ctx.Err() == nil {
				tr.mu.Lock()
				tr.lastErr = err
				tr.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return tr
}

// SetAppOptions makes the stand-in pods of version behave as opts say, from
// the next Deployment of that version on.
func (tr *Traffic) SetAppOptions(version string, opts ...smoketest.AppOption) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.appOptions[version] = opts
}

// MeshRouted returns the mesh caller's routing decisions so far.
func (tr *Traffic) MeshRouted() []smoketest.Routed { return tr.mesh.Routed() }

// Err returns the last error of the stand-ins' sync loop, if any.
func (tr *Traffic) Err() error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.lastErr
}

// sync brings the stand-ins in line with the API server once: a stand-in
// app per color that has a Ready pod (the newest, when a rollout leaves two),
// with that pod's image tag and release label.
func (tr *Traffic) sync(ctx context.Context) error {
	list, err := tr.client.Resource(podsGVR).Namespace(tr.namespace).List(ctx, metav1.ListOptions{LabelSelector: render.LabelApp + "=" + tr.app})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	newest := map[state.Color]*unstructured.Unstructured{}
	for i := range list.Items {
		p := &list.Items[i]
		if p.GetDeletionTimestamp() != nil || !podReady(p) {
			continue
		}
		color := state.Color(p.GetLabels()[render.LabelColor])
		if n := newest[color]; n == nil || p.GetCreationTimestamp().After(n.GetCreationTimestamp().Time) {
			newest[color] = p
		}
	}
	pods := map[state.Color]*smoketest.App{}
	podLabels := map[state.Color]map[string]string{}
	for color, p := range newest {
		labels := p.GetLabels()
		release := labels[render.LabelRelease]
		version := imageTag(p, "spec", "containers")
		podLabels[color] = labels
		tr.mu.Lock()
		pod := tr.pods[color]
		if pod == nil || pod.Release != release || pod.Version != version {
			pod = smoketest.StartApp(tr.t, version, release, color, tr.appOptions[version]...)
		}
		tr.mu.Unlock()
		pods[color] = pod
	}
	gateway, mesh, err := tr.routes(ctx, podLabels)
	if err != nil {
		return err
	}
	tr.mu.Lock()
	for c, old := range tr.pods {
		if pods[c] != old {
			tr.retired = append(tr.retired, old)
		}
	}
	tr.pods = pods
	tr.mu.Unlock()
	for _, p := range []struct {
		g *smoketest.Gateway
		r routeSet
	}{{tr.gateway, gateway}, {tr.mesh, mesh}} {
		p.g.SetBackends(pods)
		p.g.SetHosts(p.r.hosts...)
		p.g.SetRoutes(p.r.rules)
	}
	return nil
}

// podReady reports whether pod p's Ready condition is True.
func podReady(p *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" {
			return m["status"] == "True"
		}
	}
	return false
}

// routeSet is what one VirtualService programs: its hosts and rules.
type routeSet struct {
	hosts []string
	rules []smoketest.Rule
}

// imageTag is the tag of the first container's image under path of obj
// (a pod's spec.containers, a Deployment's spec.template.spec.containers).
func imageTag(obj *unstructured.Unstructured, path ...string) string {
	containers, _, _ := unstructured.NestedSlice(obj.Object, path...)
	for _, c := range containers {
		if m, ok := c.(map[string]any); ok {
			img, _ := m["image"].(string)
			if i := strings.LastIndex(img, ":"); i >= 0 && !strings.Contains(img[i:], "/") {
				return img[i+1:]
			}
		}
	}
	return ""
}

// routes reads the app's HTTPRoutes (routing gateway-api: see httpRoutes)
// or else its VirtualServices and DestinationRule and returns
// the rules of the one bound to a Gateway (no VirtualService: hosts "*" and
// no rules, every request 404) and of the one bound to "mesh" (none: no
// rules, calls go to the Service). A rule routes to a color only if its
// subset exists in the DestinationRule and selects pods of a Deployment,
// like Envoy finding no endpoints (503) otherwise.
func (tr *Traffic) routes(ctx context.Context, podLabels map[state.Color]map[string]string) (gateway, mesh routeSet, err error) {
	if gateway, mesh, found, err := tr.httpRoutes(ctx, podLabels); err != nil || found {
		return gateway, mesh, err
	}
	gateway.hosts = []string{"*"}
	subsets := map[string]map[string]string{}
	if dr, err := tr.client.Resource(destinationRulesGVR).Namespace(tr.namespace).Get(ctx, render.RoutingName(tr.app), metav1.GetOptions{}); err == nil {
		items, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
		for _, it := range items {
			m, _ := it.(map[string]any)
			n, _ := m["name"].(string)
			labels, _, _ := unstructured.NestedStringMap(m, "labels")
			subsets[n] = labels
		}
	} else if err := ignoreNotFound(err); err != nil {
		return gateway, mesh, err
	}
	for _, name := range []string{render.RoutingName(tr.app), render.MeshRoutingName(tr.app)} {
		vs, err := tr.client.Resource(virtualServicesGVR).Namespace(tr.namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if err := ignoreNotFound(err); err != nil {
				return gateway, mesh, err
			}
			continue
		}
		hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
		set := routeSet{hosts: hosts, rules: rulesOf(vs, subsets, podLabels)}
		gateways, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "gateways")
		for _, g := range gateways {
			if g == "mesh" {
				mesh = set
			} else {
				gateway = set
			}
		}
	}
	return gateway, mesh, nil
}

// rulesOf turns a VirtualService's http rules into the stand-ins' rules.
func rulesOf(vs *unstructured.Unstructured, subsets map[string]map[string]string, podLabels map[state.Color]map[string]string) []smoketest.Rule {
	httpRules, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	var rules []smoketest.Rule
	for _, hr := range httpRules {
		m, _ := hr.(map[string]any)
		rule := smoketest.Rule{}
		rule.Name, _ = m["name"].(string)
		if matches, _, _ := unstructured.NestedSlice(m, "match"); len(matches) > 0 {
			mm, _ := matches[0].(map[string]any)
			rule.CookieRegex, _, _ = unstructured.NestedString(mm, "headers", "cookie", "regex")
			if rule.CookieRegex == "" {
				headers, _, _ := unstructured.NestedMap(mm, "headers")
				for h, v := range headers {
					if exact, _, _ := unstructured.NestedString(v.(map[string]any), "exact"); exact != "" {
						rule.HeaderName, rule.HeaderExact = h, exact
					}
				}
			}
		}
		route, _, _ := unstructured.NestedSlice(m, "route")
		if len(route) > 0 {
			r, _ := route[0].(map[string]any)
			subset, _, _ := unstructured.NestedString(r, "destination", "subset")
			rule.Color = state.Color("no-endpoints:" + subset)
			if sel, ok := subsets[subset]; ok {
				for color, labels := range podLabels {
					if selects(sel, labels) {
						rule.Color = color
					}
				}
			}
		}
		rules = append(rules, rule)
	}
	return rules
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// ignoreConflict drops a conflict: the object changed since it was read,
// and the next sync judges it again.
func ignoreConflict(err error) error {
	if err == nil || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

func ignoreNotFound(err error) error {
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
