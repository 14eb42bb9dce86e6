package render

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
)

// RoutingError is one broken routing invariant found by CheckRouting.
type RoutingError struct {
	// Object is "Kind/name", e.g. "VirtualService/myapp-blue-green".
	Object string
	// Where names the part of the object, e.g. `rule "myapp-test"`,
	// `subset "green"` or `container "myapp"`; empty for the whole object.
	Where string
	// Problem says what is wrong.
	Problem string
}

func (e *RoutingError) Error() string {
	if e.Where == "" {
		return e.Object + ": " + e.Problem
	}
	return e.Object + ": " + e.Where + ": " + e.Problem
}

// CheckRouting parses built YAML (the output of Build) and returns one error
// per broken routing invariant, or nil when routing is sound:
//
//   - the VirtualService and DestinationRule <app>-blue-green exist if and only
//     if a Deployment <app>-<color> exists;
//   - every subset a VirtualService rule routes to exists in the
//     DestinationRule, for the DestinationRule's host, and its color has a
//     Deployment;
//   - every DestinationRule subset selects the pods of a Deployment (pod
//     template labels app=<app> plus the subset's labels);
//   - only the last rule may have no match (the default rule), since rules
//     after it would never match;
//   - every container image of every Deployment has a tag or digest.
//
// With routing gateway-api, the HTTPRoutes and per-color Services are
// checked instead of the VirtualService and DestinationRule (see
// checkGatewayAPI).
//
// Errors are *RoutingError values, except a parse error for unreadable input.
func CheckRouting(cfg config.Config, built []byte) []error {
	objs, err := parseBuilt(built)
	if err != nil {
		return []error{fmt.Errorf("check routing of %s: %w", cfg.App, err)}
	}
	return checkRouting(cfg, objs)
}

// Inspect is CheckRouting and Objects of one build, parsed once.
func Inspect(cfg config.Config, built []byte) (routing []error, ids []ObjectID, err error) {
	objs, err := parseBuilt(built)
	if err != nil {
		return nil, nil, err
	}
	return checkRouting(cfg, objs), objectIDs(objs, cfg.Namespace), nil
}

func parseBuilt(built []byte) ([]*yaml.RNode, error) {
	objs, err := (&kio.ByteReader{Reader: bytes.NewReader(built), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, fmt.Errorf("parse build output: %w", err)
	}
	return objs, nil
}

func checkRouting(cfg config.Config, objs []*yaml.RNode) []error {
	app := cfg.App
	c := checker{app: app, deployments: map[string]*yaml.RNode{}}
	if cfg.GatewayAPIRouted() {
		for _, o := range objs {
			if o.GetKind() == "Deployment" {
				c.deployments[o.GetName()] = o
				c.deploymentOrder = append(c.deploymentOrder, o.GetName())
			}
		}
		c.checkGatewayAPI(objs)
		c.checkImages()
		return c.errs
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			c.deployments[o.GetName()] = o
			c.deploymentOrder = append(c.deploymentOrder, o.GetName())
		case "VirtualService":
			switch o.GetName() {
			case RoutingName(app):
				c.vs = o
			case MeshRoutingName(app):
				c.meshVS = o
			}
		case "DestinationRule":
			if o.GetName() == RoutingName(app) {
				c.dr = o
			}
		}
	}
	c.checkPresence()
	subsets := c.checkDestinationRule()
	c.checkVirtualService(c.vs, c.vsName(), subsets)
	c.checkVirtualService(c.meshVS, "VirtualService/"+MeshRoutingName(app), subsets)
	c.checkImages()
	return c.errs
}

type checker struct {
	app             string
	deployments     map[string]*yaml.RNode
	deploymentOrder []string
	vs, meshVS, dr  *yaml.RNode
	errs            []error
}

func (c *checker) fail(object, where, format string, args ...any) {
	c.errs = append(c.errs, &RoutingError{Object: object, Where: where, Problem: fmt.Sprintf(format, args...)})
}

func (c *checker) vsName() string { return "VirtualService/" + RoutingName(c.app) }
func (c *checker) drName() string { return "DestinationRule/" + RoutingName(c.app) }

// colorDeployments names the Deployments <app>-<color> that exist.
func (c *checker) colorDeployments() []string {
	var names []string
	for _, color := range state.Colors() {
		if n := DeploymentName(c.app, color); c.deployments[n] != nil {
			names = append(names, n)
		}
	}
	return names
}

func (c *checker) checkPresence() {
	deployed := c.colorDeployments()
	for _, o := range []struct {
		name string
		node *yaml.RNode
	}{{c.vsName(), c.vs}, {c.drName(), c.dr}} {
		switch {
		// No VirtualService is fine: a release deployed without its test
		// route yet (make-before-break) has a subset and no rule.
		case len(deployed) > 0 && o.node == nil && o.name == c.drName():
			c.fail(o.name, "", "missing, but Deployments %s exist: they get no traffic", strings.Join(deployed, ", "))
		case len(deployed) == 0 && o.node != nil && c.podsWith(map[string]string{LabelApp: c.app, LabelColor: AdoptedColor}) == "":
			c.fail(o.name, "", "exists, but no Deployment %s or %s does", DeploymentName(c.app, state.Blue), DeploymentName(c.app, state.Green))
		}
	}
}

// subset is a DestinationRule subset.
type subset struct {
	labels map[string]string
}

// checkDestinationRule checks that every subset selects a Deployment's pods
// and returns the subsets by name.
func (c *checker) checkDestinationRule() map[string]subset {
	subsets := map[string]subset{}
	if c.dr == nil {
		return subsets
	}
	items, _ := lookup(c.dr, "spec", "subsets").Elements()
	if len(items) == 0 {
		c.fail(c.drName(), "", "has no subsets")
	}
	for i, item := range items {
		name := yaml.GetValue(lookup(item, "name"))
		where := fmt.Sprintf("subset %q", name)
		if name == "" {
			where = fmt.Sprintf("subset #%d", i+1)
			c.fail(c.drName(), where, "has no name")
			continue
		}
		labels := stringMap(lookup(item, "labels"))
		subsets[name] = subset{labels: labels}
		if len(labels) == 0 {
			c.fail(c.drName(), where, "has no labels: it selects the pods of every color")
			continue
		}
		want := map[string]string{LabelApp: c.app}
		for k, v := range labels {
			want[k] = v
		}
		if c.podsWith(want) == "" {
			c.fail(c.drName(), where, "no Deployment has pod labels %s", formatLabels(want))
		}
	}
	return subsets
}

// podsWith returns the name of the first Deployment whose pod template has all
// the labels, or "".
func (c *checker) podsWith(want map[string]string) string {
	for _, name := range c.deploymentOrder {
		got := stringMap(lookup(c.deployments[name], "spec", "template", "metadata", "labels"))
		ok := true
		for k, v := range want {
			if got[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return name
		}
	}
	return ""
}

func (c *checker) checkVirtualService(vs *yaml.RNode, vsName string, subsets map[string]subset) {
	if vs == nil {
		return
	}
	rules, _ := lookup(vs, "spec", "http").Elements()
	if len(rules) == 0 {
		c.fail(vsName, "", "has no http rules")
	}
	host := ""
	if c.dr != nil {
		host = yaml.GetValue(lookup(c.dr, "spec", "host"))
	}
	for i, rule := range rules {
		where := fmt.Sprintf("rule #%d", i+1)
		if name := yaml.GetValue(lookup(rule, "name")); name != "" {
			where = fmt.Sprintf("rule %q", name)
		}
		matches, _ := lookup(rule, "match").Elements()
		if len(matches) == 0 && i != len(rules)-1 {
			c.fail(vsName, where, "has no match but is not the last rule: the %d rule(s) after it never match", len(rules)-1-i)
		}
		routes, _ := lookup(rule, "route").Elements()
		if len(routes) == 0 {
			c.fail(vsName, where, "has no route")
		}
		for _, route := range routes {
			c.checkDestination(vsName, where, lookup(route, "destination"), host, subsets)
		}
	}
}

func (c *checker) checkDestination(vsName, where string, dest *yaml.RNode, host string, subsets map[string]subset) {
	destHost := yaml.GetValue(lookup(dest, "host"))
	name := yaml.GetValue(lookup(dest, "subset"))
	if host != "" && destHost != host {
		c.fail(vsName, where, "routes to host %q, but %s is for host %q", destHost, c.drName(), host)
	}
	if name == "" {
		c.fail(vsName, where, "routes to host %q without a subset: traffic would reach every color", destHost)
		return
	}
	s, ok := subsets[name]
	if !ok {
		c.fail(vsName, where, "routes to subset %q, which %s does not define", name, c.drName())
	}
	color := name
	if l, ok := s.labels[LabelColor]; ok {
		color = l
	}
	if color == AdoptedColor {
		// The adopted workload (init --adopt): its Deployment is the
		// app's own, whatever its name; the subset's pods must exist.
		if c.podsWith(map[string]string{LabelApp: c.app, LabelColor: AdoptedColor}) == "" {
			c.fail(vsName, where, "routes to subset %q, but no Deployment has pods labelled %s=%s", name, LabelColor, AdoptedColor)
		}
		return
	}
	if _, err := state.ParseColor(color); err != nil {
		c.fail(vsName, where, "routes to subset %q, which is not a color", name)
		return
	}
	if d := DeploymentName(c.app, state.Color(color)); c.deployments[d] == nil {
		c.fail(vsName, where, "routes to color %s, which has no Deployment %s", color, d)
	}
}

func (c *checker) checkImages() {
	for _, name := range c.deploymentOrder {
		containers, _ := lookup(c.deployments[name], "spec", "template", "spec", "containers").Elements()
		for _, ct := range containers {
			image := yaml.GetValue(lookup(ct, "image"))
			if !hasTag(image) {
				c.fail("Deployment/"+name, fmt.Sprintf("container %q", yaml.GetValue(lookup(ct, "name"))), "image %q has no tag", image)
			}
		}
	}
}

// hasTag reports whether an image reference has a tag or a digest.
func hasTag(image string) bool {
	if strings.Contains(image, "@") {
		return true
	}
	last := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(last, ":")
	return i >= 0 && i < len(last)-1
}

// lookup returns the node at path, or nil.
func lookup(n *yaml.RNode, path ...string) *yaml.RNode {
	if n == nil {
		return nil
	}
	v, err := n.Pipe(yaml.Lookup(path...))
	if err != nil {
		return nil
	}
	return v
}

// stringMap reads a mapping of scalars.
func stringMap(n *yaml.RNode) map[string]string {
	m := map[string]string{}
	if n == nil || n.YNode().Kind != yaml.MappingNode {
		return m
	}
	_ = n.VisitFields(func(f *yaml.MapNode) error {
		m[yaml.GetValue(f.Key)] = yaml.GetValue(f.Value)
		return nil
	})
	return m
}

// formatLabels renders labels as sorted k=v pairs.
func formatLabels(m map[string]string) string {
	pairs := make([]string, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// ObjectID identifies a built object the way Kubernetes does: two app dirs
// that render the same ObjectID would have their controllers fight over it.
type ObjectID struct {
	Group, Kind, Namespace, Name string
}

func (o ObjectID) String() string {
	kind := o.Kind
	if o.Group != "" {
		kind += "." + o.Group
	}
	if o.Namespace == "" {
		return kind + " " + o.Name
	}
	return kind + " " + o.Namespace + "/" + o.Name
}

// Objects returns the IDs of the objects in built YAML (the output of Build),
// in order. An object without a namespace is given defaultNamespace unless
// its kind is one of Kubernetes' cluster-scoped kinds.
func Objects(built []byte, defaultNamespace string) ([]ObjectID, error) {
	objs, err := parseBuilt(built)
	if err != nil {
		return nil, err
	}
	return objectIDs(objs, defaultNamespace), nil
}

func objectIDs(objs []*yaml.RNode, defaultNamespace string) []ObjectID {
	out := make([]ObjectID, 0, len(objs))
	for _, o := range objs {
		group, _, _ := strings.Cut(o.GetApiVersion(), "/")
		if !strings.Contains(o.GetApiVersion(), "/") {
			group = "" // core: "v1"
		}
		id := ObjectID{Group: group, Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
		if id.Namespace == "" && !clusterScoped[id.Group+"/"+id.Kind] {
			id.Namespace = defaultNamespace
		}
		out = append(out, id)
	}
	return out
}

// clusterScoped are Kubernetes' built-in cluster-scoped kinds, by group/kind.
var clusterScoped = map[string]bool{
	"/Namespace": true, "/Node": true, "/PersistentVolume": true,
	"rbac.authorization.k8s.io/ClusterRole": true, "rbac.authorization.k8s.io/ClusterRoleBinding": true,
	"apiextensions.k8s.io/CustomResourceDefinition": true, "storage.k8s.io/StorageClass": true,
	"scheduling.k8s.io/PriorityClass": true, "admissionregistration.k8s.io/ValidatingWebhookConfiguration": true,
	"admissionregistration.k8s.io/MutatingWebhookConfiguration": true, "networking.k8s.io/IngressClass": true,
	"gateway.networking.k8s.io/GatewayClass": true,
}
