package render

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
)

// Files of the Gateway API routing, in overlays/ (the per-color Service in
// overlays/<color>/).
const (
	HTTPRouteFile      = "httproute.yaml"
	MeshHTTPRouteFile  = "httproute-mesh.yaml"
	ColorServiceFile   = "service.yaml"
	AdoptedServiceFile = "service-adopted.yaml"
)

// ColorServiceName is the Service of one color (or of the adopted workload,
// for AdoptedColor) that an HTTPRoute routes to: Gateway API routes to
// Services, not subsets.
func ColorServiceName(app, color string) string { return app + "-" + color }

// appService finds the app's own Service, kind Service named after the app,
// among the files of base/; the per-color Services are made from it.
func appService(cfg config.Config, base Files) (*yaml.RNode, error) {
	names := make([]string, 0, len(base))
	for p := range base {
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, p := range names {
		nodes, err := kio.FromBytes(base[p])
		if err != nil {
			continue // check reports a broken file; here it cannot hold the Service
		}
		for _, n := range nodes {
			if n.GetKind() == "Service" && n.GetApiVersion() == "v1" && n.GetName() == cfg.App {
				return n, nil
			}
		}
	}
	return nil, fmt.Errorf("routing gateway-api: %s/ has no Service named %s; the per-color Services %s and %s that the HTTPRoute routes to are made from it",
		BaseDir, cfg.App, ColorServiceName(cfg.App, "blue"), ColorServiceName(cfg.App, "green"))
}

// servicePorts copies the ports of the app's Service (name, protocol,
// appProtocol, port, targetPort; never a nodePort, which is the app
// Service's own).
func (r *renderer) servicePorts(svc *yaml.RNode) (*yaml.RNode, error) {
	ports, err := lookup(svc, "spec", "ports").Elements()
	if err != nil || len(ports) == 0 {
		return nil, fmt.Errorf("routing gateway-api: Service %s in %s/ has no spec.ports to route to", r.cfg.App, BaseDir)
	}
	out := make([]*yaml.RNode, 0, len(ports))
	for _, p := range ports {
		var fields []field
		for _, k := range []string{"name", "protocol", "appProtocol", "port", "targetPort"} {
			if v := lookup(p, k); v != nil {
				fields = append(fields, kv(k, v.Copy()))
			}
		}
		out = append(out, r.b.mapping(fields...))
	}
	return seq(out...), nil
}

// colorService is a color's Service, made from the app's: the same ports
// and selector; the color's kustomization suffixes its name and adds the
// color to its selector, so it selects that color's pods alone.
func (r *renderer) colorService(ports, selector *yaml.RNode) *yaml.RNode {
	b := &r.b
	return b.object("v1", "Service",
		b.mapping(kv("name", str(r.cfg.App))),
		kv("spec", b.mapping(
			kv("selector", selector.Copy()),
			kv("ports", ports.Copy()),
		)),
	)
}

// adoptedService selects the adopted workload's pods (labelled
// color=adopted by init --adopt), for the default rule while the app is
// taken over.
func (r *renderer) adoptedService(ports, selector *yaml.RNode) *yaml.RNode {
	b := &r.b
	sel := selector.Copy()
	if err := sel.PipeE(yaml.SetField(LabelColor, yaml.NewStringRNode(AdoptedColor))); err != nil && b.err == nil {
		b.err = err
	}
	return b.object("v1", "Service",
		b.mapping(kv("name", str(ColorServiceName(r.cfg.App, AdoptedColor)))),
		kv("spec", b.mapping(
			kv("selector", sel),
			kv("ports", ports.Copy()),
		)),
	)
}

// gatewayAPIRouting renders the per-color Services and the HTTPRoutes into
// files, returning the overlays/ resources they add.
func (r *renderer) gatewayAPIRouting(base Files, deployed []state.Release, add func(string, *yaml.RNode)) ([]string, error) {
	if len(deployed) == 0 && (r.s.Adopted == nil || !r.s.Adopted.Routed) {
		return nil, nil
	}
	svc, err := appService(r.cfg, base)
	if err != nil {
		return nil, err
	}
	ports, err := r.servicePorts(svc)
	if err != nil {
		return nil, err
	}
	selector := lookup(svc, "spec", "selector")
	if len(stringMap(selector)) == 0 {
		return nil, fmt.Errorf("routing gateway-api: Service %s in %s/ has no spec.selector; the per-color Services select its pods and the color", r.cfg.App, BaseDir)
	}
	first, _ := ports.Elements()
	r.port = yaml.GetValue(lookup(first[0], "port"))
	var resources []string
	for _, rel := range deployed {
		add(path.Join(ColorDir(rel.Color), ColorServiceFile), r.colorService(ports, selector))
	}
	if r.s.Adopted != nil {
		add(path.Join(OverlaysDir, AdoptedServiceFile), r.adoptedService(ports, selector))
		resources = append(resources, AdoptedServiceFile)
	}
	g := r.cfg.GatewayAPI
	if g.Edge() {
		if route := r.httpRoute(RoutingName(r.cfg.App), r.edgeParents(), g.Hostnames); route != nil {
			add(path.Join(OverlaysDir, HTTPRouteFile), route)
			resources = append(resources, HTTPRouteFile)
		}
	}
	if g.Mesh() {
		mesh := r.b.mapping(kv("group", str("")), kv("kind", str("Service")), kv("name", str(r.cfg.App)))
		if route := r.httpRoute(MeshRoutingName(r.cfg.App), []*yaml.RNode{mesh}, nil); route != nil {
			add(path.Join(OverlaysDir, MeshHTTPRouteFile), route)
			resources = append(resources, MeshHTTPRouteFile)
		}
	}
	return resources, nil
}

// edgeParents are the parentRefs of the edge HTTPRoute, written in full
// (group and kind too: the CRD would default them, and a GitOps
// controller would then see the live route differ from git).
func (r *renderer) edgeParents() []*yaml.RNode {
	b := &r.b
	var out []*yaml.RNode
	for _, p := range r.cfg.Parents() {
		fields := []field{
			kv("group", str("gateway.networking.k8s.io")),
			kv("kind", str("Gateway")),
			kv("name", str(p.Name)),
		}
		if p.Namespace != "" {
			fields = append(fields, kv("namespace", str(p.Namespace)))
		}
		if p.SectionName != "" {
			fields = append(fields, kv("sectionName", str(p.SectionName)))
		}
		if p.Port != 0 {
			fields = append(fields, kv("port", integer(p.Port)))
		}
		out = append(out, b.mapping(fields...))
	}
	return out
}

// httpRoute returns an HTTPRoute named name with the app's rules: while a
// release is under test (and routed), first the test rule to its color's
// Service, then the default rule to the active color's (or the adopted
// workload's). nil when no rule routes anywhere. Every field the CRD
// would default is written, so that the live route is what git holds.
//
// Gateway API orders the rules of all routes on a listener by their
// matches, not by position: an exact path over a prefix, a longer prefix,
// a method, then more header matches, and only then by route age and rule
// order. Both rules match the path prefix "/"; the test rule has one header
// match and the default rule none, so the test rule wins for a request that
// carries the cookie or header, as it does by coming first.
func (r *renderer) httpRoute(name string, parents []*yaml.RNode, hostnames []string) *yaml.RNode {
	b := &r.b
	var rules []*yaml.RNode
	if t := r.s.Test; t != nil && !t.Unrouted {
		rules = append(rules, b.mapping(
			kv("matches", seq(b.mapping(
				kv("path", r.rootPath()),
				kv("headers", seq(r.testHeaderMatch())),
			))),
			kv("backendRefs", r.backendTo(string(t.Color))),
		))
	}
	def := ""
	switch {
	case r.s.Active != nil:
		def = string(r.s.Active.Color)
	case r.s.Adopted != nil && r.s.Adopted.Routed:
		def = AdoptedColor
	}
	if def != "" {
		rules = append(rules, b.mapping(
			kv("matches", seq(b.mapping(kv("path", r.rootPath())))),
			kv("backendRefs", r.backendTo(def)),
		))
	}
	if len(rules) == 0 {
		return nil
	}
	var hosts *yaml.RNode
	if len(hostnames) > 0 {
		hosts = strs(hostnames...)
	}
	return b.object(config.GatewayAPIVersion, "HTTPRoute",
		b.mapping(kv("name", str(name))),
		kv("spec", b.mapping(
			kv("parentRefs", seq(parents...)),
			kv("hostnames", hosts),
			kv("rules", seq(rules...)),
		)),
	)
}

func (r *renderer) rootPath() *yaml.RNode {
	return r.b.mapping(kv("type", str("PathPrefix")), kv("value", str("/")))
}

// testHeaderMatch matches the test cookie by RegularExpression on the
// Cookie header (the regex is anchored, so it means the same to an
// implementation that searches as to one that matches the whole value), or
// the test header exactly.
func (r *renderer) testHeaderMatch() *yaml.RNode {
	b := &r.b
	if c := r.cfg.TestRoute.Cookie; c != nil {
		return b.mapping(kv("type", str("RegularExpression")), kv("name", str("Cookie")), kv("value", str(CookieRegex(c.Name, c.Value))))
	}
	h := r.cfg.TestRoute.Header
	return b.mapping(kv("type", str("Exact")), kv("name", str(h.Name)), kv("value", str(h.Value)))
}

// backendTo routes to a color's Service (or the adopted workload's) on the
// app Service's first port.
func (r *renderer) backendTo(color string) *yaml.RNode {
	b := &r.b
	port := integer(0)
	if n, err := parsePort(r.port); err == nil {
		port = integer(n)
	} else if b.err == nil {
		b.err = fmt.Errorf("routing gateway-api: the app Service's first port %q: %w", r.port, err)
	}
	return seq(b.mapping(
		kv("group", str("")),
		kv("kind", str("Service")),
		kv("name", str(ColorServiceName(r.cfg.App, color))),
		kv("port", port),
		kv("weight", integer(1)),
	))
}

func parsePort(s string) (int, error) {
	var n int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d", &n); err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("not a port number")
	}
	return n, nil
}
