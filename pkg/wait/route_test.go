package wait_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/wait"
)

var httpRoutesGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// routeParentStatus is one entry of an HTTPRoute's status.parents, as a
// Gateway API controller writes it.
func routeParentStatus(ns, name, section string, gen int64, accepted, resolved [3]string) map[string]any {
	cond := func(typ string, c [3]string) map[string]any {
		return map[string]any{"type": typ, "status": c[0], "reason": c[1], "message": c[2], "observedGeneration": gen, "lastTransitionTime": "2026-12-01T10:00:00Z"}
	}
	ref := map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": ns, "name": name}
	if section != "" {
		ref["sectionName"] = section
	}
	return map[string]any{
		"parentRef":      ref,
		"controllerName": "example.com/gateway-controller",
		"conditions":     []any{cond("Accepted", accepted), cond("ResolvedRefs", resolved)},
	}
}

// TestRouteGate: with Gateway API routing, a commit the controller applied
// is done only once the HTTPRoute's parent accepts it at its current
// generation (the route and its status go through the real API server, with
// the Gateway API CRDs).
func TestRouteGate(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := context.Background()
	ok := [3]string{"True", "Accepted", "Route is accepted"}
	resolved := [3]string{"True", "ResolvedRefs", "Resolved all the Object references for the Route"}
	cases := []struct {
		name    string
		route   bool
		parents []any // status.parents; nil: no status
		gen     int64 // observedGeneration written (0: the route's)
		done    bool
		waiting string
		failed  string
	}{
		{name: "no route in the commit", done: true},
		{name: "accepted", route: true, parents: []any{routeParentStatus("infra", "shared", "https", 1, ok, resolved)}, done: true},
		{name: "no status yet", route: true, waiting: "no status from Gateway infra/shared listener https yet"},
		{name: "another listener's status", route: true, parents: []any{routeParentStatus("infra", "shared", "http", 1, ok, resolved)}, waiting: "no status from Gateway infra/shared listener https"},
		{name: "an older generation", route: true, parents: []any{routeParentStatus("infra", "shared", "https", 0, ok, resolved)}, waiting: "has not reported Accepted for generation 1 yet"},
		{
			name: "not allowed by the listener", route: true,
			parents: []any{routeParentStatus("infra", "shared", "https", 1, [3]string{"False", "NotAllowedByListeners", "No listener allows routes from namespace app"}, resolved)},
			failed:  "Gateway infra/shared listener https reports Accepted=False: NotAllowedByListeners: No listener allows routes from namespace app",
		},
		{
			name: "a backend not found", route: true,
			parents: []any{routeParentStatus("infra", "shared", "https", 1, ok, [3]string{"False", "BackendNotFound", "Service app-green not found"})},
			failed:  "reports ResolvedRefs=False: BackendNotFound: Service app-green not found",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := c.Namespace(t)
			c.Apply(t, fluxObjects(ns, "5m"))
			c.SetStatus(t, kustomizationsGVR, ns, "app", fluxStatus(1, "main@sha1:"+fluxCommit, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxCommit, 1)))
			if tc.route {
				c.Apply(t, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app-blue-green, namespace: `+ns+`}
spec:
  parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: shared, namespace: infra, sectionName: https}]
  rules: [{backendRefs: [{name: app-blue, port: 3000}]}]
`)
				if tc.parents != nil {
					c.SetStatus(t, httpRoutesGVR, ns, "app-blue-green", map[string]any{"parents": tc.parents})
				}
			}
			src := wait.Routes(&wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "app"}, []wait.Route{{
				Namespace: ns, Name: "app-blue-green",
				Parents: []wait.RouteParent{{Kind: "Gateway", Namespace: "infra", Name: "shared", SectionName: "https"}},
			}})
			obs, err := src.Observe(ctx, fluxCommit, nil, time.Now())
			if tc.failed != "" {
				var fe *wait.FailedError
				if !errors.As(err, &fe) || fe.Reason != "RouteNotAccepted" || !strings.Contains(fe.Message, tc.failed) {
					t.Fatalf("got %+v, %v; want RouteNotAccepted saying %q", obs, err, tc.failed)
				}
				return
			}
			if err != nil || obs.Done != tc.done || !strings.Contains(obs.Waiting, tc.waiting) {
				t.Fatalf("got %+v, %v; want done=%v waiting %q", obs, err, tc.done, tc.waiting)
			}
		})
	}
}
