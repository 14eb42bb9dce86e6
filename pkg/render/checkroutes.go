package render

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/state"
)

// maxBackendRefs is the Gateway API CRD's limit on a rule's backendRefs.
const maxBackendRefs = 16

// checkGatewayAPI checks the routing of a gateway-api build:
//
//   - a Service <app>-<color> exists for every Deployment <app>-<color>
//     (else the color gets no traffic), and selects that color's pods;
//   - the HTTPRoutes <app>-blue-green and <app>-blue-green-mesh exist only
//     while a color (or the adopted workload) is deployed;
//   - every backendRef is a Service of the app (<app>-<color>, or
//     <app>-adopted) that the build has and that selects a Deployment's
//     pods, and no rule has more than 16 backendRefs;
//   - the default rule (the one without a header match) comes last.
func (c *checker) checkGatewayAPI(objs []*yaml.RNode) {
	services := map[string]*yaml.RNode{}
	var routes []*yaml.RNode
	for _, o := range objs {
		switch {
		case o.GetKind() == "Service" && o.GetApiVersion() == "v1":
			services[o.GetName()] = o
		case o.GetKind() == "HTTPRoute" && (o.GetName() == RoutingName(c.app) || o.GetName() == MeshRoutingName(c.app)):
			routes = append(routes, o)
		}
	}
	deployed := c.colorDeployments()
	adopted := c.podsWith(map[string]string{LabelApp: c.app, LabelColor: AdoptedColor}) != ""
	for _, color := range state.Colors() {
		name := ColorServiceName(c.app, string(color))
		svc, dep := services[name], c.deployments[DeploymentName(c.app, color)]
		switch {
		case dep != nil && svc == nil:
			c.fail("Service/"+name, "", "missing, but Deployment %s exists: the HTTPRoute cannot route to it", DeploymentName(c.app, color))
		case svc != nil:
			c.checkColorService(svc, string(color))
		}
	}
	if len(deployed) == 0 && !adopted {
		for _, r := range routes {
			c.fail("HTTPRoute/"+r.GetName(), "", "exists, but no Deployment %s or %s does", DeploymentName(c.app, state.Blue), DeploymentName(c.app, state.Green))
		}
	}
	for _, r := range routes {
		c.checkHTTPRoute(r, services)
	}
}

// checkColorService: a color's Service selects the app's pods of that
// color, or it would send one color's traffic to the other.
func (c *checker) checkColorService(svc *yaml.RNode, color string) {
	obj := "Service/" + svc.GetName()
	sel := stringMap(lookup(svc, "spec", "selector"))
	if sel[LabelColor] != color || sel[LabelApp] != c.app {
		c.fail(obj, "spec.selector", "selects %s, want %s=%s and %s=%s: it would reach the pods of another color", formatLabels(sel), LabelApp, c.app, LabelColor, color)
	}
}

func (c *checker) checkHTTPRoute(route *yaml.RNode, services map[string]*yaml.RNode) {
	obj := "HTTPRoute/" + route.GetName()
	rules, _ := lookup(route, "spec", "rules").Elements()
	if len(rules) == 0 {
		c.fail(obj, "", "has no rules")
	}
	for i, rule := range rules {
		where := fmt.Sprintf("rule #%d", i+1)
		if !hasHeaderMatch(rule) && i != len(rules)-1 {
			c.fail(obj, where, "has no header match but is not the last rule: it is the default rule, and the %d rule(s) after it are for requests it already takes", len(rules)-1-i)
		}
		refs, _ := lookup(rule, "backendRefs").Elements()
		switch {
		case len(refs) == 0:
			c.fail(obj, where, "has no backendRefs: its requests get an error")
		case len(refs) > maxBackendRefs:
			c.fail(obj, where, "has %d backendRefs, more than Gateway API's %d", len(refs), maxBackendRefs)
		}
		for _, ref := range refs {
			c.checkBackendRef(obj, where, ref, services)
		}
	}
}

// hasHeaderMatch reports whether a rule matches on a header (the test rule).
func hasHeaderMatch(rule *yaml.RNode) bool {
	matches, _ := lookup(rule, "matches").Elements()
	for _, m := range matches {
		if hs, _ := lookup(m, "headers").Elements(); len(hs) > 0 {
			return true
		}
	}
	return false
}

func (c *checker) checkBackendRef(obj, where string, ref *yaml.RNode, services map[string]*yaml.RNode) {
	name := yaml.GetValue(lookup(ref, "name"))
	if kind := yaml.GetValue(lookup(ref, "kind")); (kind != "" && kind != "Service") || yaml.GetValue(lookup(ref, "group")) != "" {
		c.fail(obj, where, "routes to %s %s, not to a Service of a color", kind, name)
		return
	}
	color, ok := strings.CutPrefix(name, c.app+"-")
	if _, err := state.ParseColor(color); !ok || (err != nil && color != AdoptedColor) {
		c.fail(obj, where, "routes to Service %q, which is not a color's (%s or %s)", name, ColorServiceName(c.app, "blue"), ColorServiceName(c.app, "green"))
		return
	}
	svc := services[name]
	if svc == nil {
		c.fail(obj, where, "routes to Service %s, which the build does not have", name)
		return
	}
	want := stringMap(lookup(svc, "spec", "selector"))
	if len(want) == 0 || c.podsWith(want) == "" {
		c.fail(obj, where, "routes to Service %s, whose selector %s matches no Deployment's pods", name, formatLabels(want))
	}
}
