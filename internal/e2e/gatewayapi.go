package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
	"github.com/bgrender/bgrender/pkg/state"
)

// GVRs of the Gateway API objects Traffic reads (and the HTTPRoute status
// it writes, as a Gateway API controller would).
var (
	httpRoutesGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	gatewaysGVR   = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	servicesGVR   = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// trafficController is the controllerName Traffic writes into HTTPRoute
// status, as the Gateway API controller it stands in for.
const trafficController = "e2e.bgrender.dev/traffic"

// httpRoutes programs the gateway and the mesh caller from the app's
// HTTPRoutes (<app>-blue-green to Gateways, <app>-blue-green-mesh to the
// app's Service, GAMMA) and writes each route's status.parents as a
// Gateway API controller does: Accepted (its parent Gateway exists, has the
// listener, and allows routes from the route's namespace: allowedRoutes
// from Same, the default, or All) and ResolvedRefs (every backend Service
// exists), at the route's generation. A route no parent accepts programs
// nothing. found is false when the app has no HTTPRoute.
func (tr *Traffic) httpRoutes(ctx context.Context, podLabels map[state.Color]map[string]string) (gateway, mesh routeSet, found bool, err error) {
	gateway.hosts = []string{"*"}
	for _, name := range []string{render.RoutingName(tr.app), render.MeshRoutingName(tr.app)} {
		route, err := tr.client.Resource(httpRoutesGVR).Namespace(tr.namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if err := ignoreNotFound(err); err != nil {
				return gateway, mesh, found, err
			}
			continue
		}
		found = true
		accepted, err := tr.admitRoute(ctx, route)
		if err != nil {
			return gateway, mesh, found, err
		}
		if !accepted {
			continue
		}
		hosts, _, _ := unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
		if len(hosts) == 0 {
			hosts = []string{"*"}
		}
		rules, err := tr.httpRouteRules(ctx, route, podLabels)
		if err != nil {
			return gateway, mesh, found, err
		}
		if name == render.MeshRoutingName(tr.app) {
			mesh = routeSet{hosts: hosts, rules: rules}
		} else {
			gateway = routeSet{hosts: hosts, rules: rules}
		}
	}
	return gateway, mesh, found, nil
}

// httpRouteRules turns an HTTPRoute's rules into the stand-ins' rules. A
// backend Service routes to the color whose Ready pods its selector selects
// (no endpoints otherwise, a 503).
func (tr *Traffic) httpRouteRules(ctx context.Context, route *unstructured.Unstructured, podLabels map[state.Color]map[string]string) ([]smoketest.Rule, error) {
	items, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	var rules []smoketest.Rule
	for i, it := range items {
		m, _ := it.(map[string]any)
		rule := smoketest.Rule{Name: fmt.Sprintf("%s#%d", route.GetName(), i+1)}
		matches, _, _ := unstructured.NestedSlice(m, "matches")
		for _, mt := range matches {
			headers, _, _ := unstructured.NestedSlice(mt.(map[string]any), "headers")
			for _, h := range headers {
				hm, _ := h.(map[string]any)
				name, _ := hm["name"].(string)
				value, _ := hm["value"].(string)
				switch hm["type"] {
				case "RegularExpression":
					if name == "Cookie" {
						rule.CookieRegex = value
					}
				case "Exact", nil:
					rule.HeaderName, rule.HeaderExact = name, value
				}
			}
		}
		refs, _, _ := unstructured.NestedSlice(m, "backendRefs")
		if len(refs) > 0 {
			svcName, _ := refs[0].(map[string]any)["name"].(string)
			rule.Color = state.Color("no-endpoints:" + svcName)
			svc, err := tr.client.Resource(servicesGVR).Namespace(tr.namespace).Get(ctx, svcName, metav1.GetOptions{})
			if err != nil && ignoreNotFound(err) != nil {
				return nil, err
			}
			if err == nil {
				sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
				for color, labels := range podLabels {
					if selects(sel, labels) {
						rule.Color = color
					}
				}
			}
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

// admitRoute judges each of the route's parents, writes status.parents if
// it changed, and reports whether any parent accepted the route.
func (tr *Traffic) admitRoute(ctx context.Context, route *unstructured.Unstructured) (bool, error) {
	gen := route.GetGeneration()
	resolved, resolvedMsg := true, "Resolved all the Object references for the Route"
	for _, n := range backendNames(route) {
		if _, err := tr.client.Resource(servicesGVR).Namespace(tr.namespace).Get(ctx, n, metav1.GetOptions{}); err != nil {
			if ignoreNotFound(err) != nil {
				return false, err
			}
			resolved, resolvedMsg = false, fmt.Sprintf("Service %s/%s not found", tr.namespace, n)
			break
		}
	}
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	var status []any
	anyAccepted := false
	for _, p := range parents {
		ref, _ := p.(map[string]any)
		ok, reason, msg, err := tr.judgeParent(ctx, route, ref)
		if err != nil {
			return false, err
		}
		anyAccepted = anyAccepted || ok
		cond := func(typ string, ok bool, reason, msg string) map[string]any {
			st := "True"
			if !ok {
				st = "False"
			}
			return map[string]any{"type": typ, "status": st, "reason": reason, "message": msg, "observedGeneration": gen, "lastTransitionTime": "2026-01-01T00:00:00Z"}
		}
		resolvedReason := "ResolvedRefs"
		if !resolved {
			resolvedReason = "BackendNotFound"
		}
		status = append(status, map[string]any{
			"parentRef":      ref,
			"controllerName": trafficController,
			"conditions":     []any{cond("Accepted", ok, reason, msg), cond("ResolvedRefs", resolved, resolvedReason, resolvedMsg)},
		})
	}
	old, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	if !sameJSON(old, status) {
		route.Object["status"] = map[string]any{"parents": status}
		if _, err := tr.client.Resource(httpRoutesGVR).Namespace(tr.namespace).UpdateStatus(ctx, route, metav1.UpdateOptions{}); err != nil {
			return false, ignoreConflict(err)
		}
	}
	return anyAccepted && resolved, nil
}

// judgeParent says whether one parent accepts the route, and why not.
func (tr *Traffic) judgeParent(ctx context.Context, route *unstructured.Unstructured, ref map[string]any) (bool, string, string, error) {
	kind, _ := ref["kind"].(string)
	name, _ := ref["name"].(string)
	ns, _ := ref["namespace"].(string)
	if ns == "" {
		ns = route.GetNamespace()
	}
	if kind == "Service" {
		if _, err := tr.client.Resource(servicesGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			if ignoreNotFound(err) != nil {
				return false, "", "", err
			}
			return false, "NoMatchingParent", fmt.Sprintf("Service %s/%s not found", ns, name), nil
		}
		return true, "Accepted", "Route is accepted", nil
	}
	gw, err := tr.client.Resource(gatewaysGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if ignoreNotFound(err) != nil {
			return false, "", "", err
		}
		return false, "NoMatchingParent", fmt.Sprintf("Gateway %s/%s not found", ns, name), nil
	}
	section, _ := ref["sectionName"].(string)
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	matched := false
	for _, l := range listeners {
		lm, _ := l.(map[string]any)
		if section != "" && lm["name"] != section {
			continue
		}
		matched = true
		from, _, _ := unstructured.NestedString(lm, "allowedRoutes", "namespaces", "from")
		allowed := from == "All" || ((from == "" || from == "Same") && ns == route.GetNamespace())
		if from == "Selector" {
			if allowed, err = tr.namespaceSelected(ctx, route.GetNamespace(), lm); err != nil {
				return false, "", "", err
			}
		}
		if allowed {
			return true, "Accepted", "Route is accepted", nil
		}
	}
	if !matched {
		return false, "NoMatchingParent", fmt.Sprintf("Gateway %s/%s has no listener %q", ns, name, section), nil
	}
	return false, "NotAllowedByListeners", fmt.Sprintf("no listener of Gateway %s/%s allows routes from namespace %s", ns, name, route.GetNamespace()), nil
}

// backendNames are the Services the route's rules send to.
func backendNames(route *unstructured.Unstructured) []string {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	var out []string
	for _, r := range rules {
		refs, _, _ := unstructured.NestedSlice(r.(map[string]any), "backendRefs")
		for _, ref := range refs {
			if n, ok := ref.(map[string]any)["name"].(string); ok {
				out = append(out, n)
			}
		}
	}
	return out
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// namespaceSelected reports whether namespace ns has every label of the
// listener's allowedRoutes.namespaces.selector.matchLabels (matchExpressions
// are not evaluated: a selector with them selects nothing here).
func (tr *Traffic) namespaceSelected(ctx context.Context, ns string, listener map[string]any) (bool, error) {
	sel, _, _ := unstructured.NestedMap(listener, "allowedRoutes", "namespaces", "selector")
	if _, has := sel["matchExpressions"]; has {
		return false, nil
	}
	want, _, _ := unstructured.NestedStringMap(sel, "matchLabels")
	obj, err := tr.client.Resource(namespacesGVR).Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return false, ignoreNotFound(err)
	}
	return selects(want, obj.GetLabels()), nil
}
