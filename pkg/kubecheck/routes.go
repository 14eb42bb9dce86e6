package kubecheck

import (
	"fmt"
	"sort"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// RouteClaim is one hostname and path on one Gateway (or one listener of
// it) that an HTTPRoute's rule matches. Two apps that make the same claim
// fight over those requests: Gateway API gives them to the older route.
type RouteClaim struct {
	// Parent is "namespace/name" of the Gateway, with " listener L" or
	// " port P" when the route picks one.
	Parent string
	// Host is the route's hostname, "*" when it lists none (every
	// hostname of the listener).
	Host string
	// Path is the match's path, e.g. "PathPrefix /".
	Path string
	// Route is "namespace/name" of the HTTPRoute.
	Route string
}

// String names the claim without the route.
func (c RouteClaim) String() string {
	return fmt.Sprintf("hostname %s, path %s on Gateway %s", c.Host, c.Path, c.Parent)
}

// RouteClaims lists the claims of the HTTPRoutes of a build that attach to
// Gateways (not the mesh's, whose parent is a Service), sorted and without
// repeats. A route or match without a namespace or path takes the
// defaults: defaultNamespace, and PathPrefix "/".
func RouteClaims(built []byte, defaultNamespace string) []RouteClaim {
	nodes, err := kio.FromBytes(built)
	if err != nil {
		return nil
	}
	seen := map[RouteClaim]bool{}
	var out []RouteClaim
	for _, n := range nodes {
		if n.GetKind() != "HTTPRoute" || n.GetApiVersion() != "gateway.networking.k8s.io/v1" {
			continue
		}
		ns := n.GetNamespace()
		if ns == "" {
			ns = defaultNamespace
		}
		hosts := stringList(n, "spec", "hostnames")
		if len(hosts) == 0 {
			hosts = []string{"*"}
		}
		var paths []string
		rules, _ := n.Pipe(yaml.Lookup("spec", "rules"))
		items, _ := rules.Elements()
		for _, r := range items {
			matches, _ := r.Pipe(yaml.Lookup("matches"))
			ms, _ := matches.Elements()
			if len(ms) == 0 {
				paths = append(paths, "PathPrefix /")
			}
			for _, m := range ms {
				typ, val := "PathPrefix", "/"
				if v := str(m, "path", "type"); v != "" {
					typ = v
				}
				if v := str(m, "path", "value"); v != "" {
					val = v
				}
				paths = append(paths, typ+" "+val)
			}
		}
		parents, _ := n.Pipe(yaml.Lookup("spec", "parentRefs"))
		ps, _ := parents.Elements()
		for _, p := range ps {
			if kind := str(p, "kind"); kind != "" && kind != "Gateway" {
				continue
			}
			pns := str(p, "namespace")
			if pns == "" {
				pns = ns
			}
			parent := pns + "/" + str(p, "name")
			if s := str(p, "sectionName"); s != "" {
				parent += " listener " + s
			}
			if s := str(p, "port"); s != "" {
				parent += " port " + s
			}
			for _, h := range hosts {
				for _, path := range paths {
					c := RouteClaim{Parent: parent, Host: h, Path: path, Route: ns + "/" + n.GetName()}
					if !seen[c] {
						seen[c] = true
						out = append(out, c)
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func str(n *yaml.RNode, path ...string) string {
	v, _ := n.Pipe(yaml.Lookup(path...))
	return yaml.GetValue(v)
}

func stringList(n *yaml.RNode, path ...string) []string {
	v, _ := n.Pipe(yaml.Lookup(path...))
	items, _ := v.Elements()
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, yaml.GetValue(it))
	}
	return out
}
