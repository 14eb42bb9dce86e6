package kubecheck

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// GatewayClaim is one host on one port of an ingress gateway that an Istio
// Gateway object serves. Two apps that make the same claim fight over it:
// the ingress gateway serves one app for both.
type GatewayClaim struct {
	// Selector is the Gateway's spec.selector, as sorted key=value pairs.
	Selector string
	Host     string
	Port     int
	// Gateway is "namespace/name" of the Gateway object.
	Gateway string
}

// String names the claim without the Gateway object, so that two objects
// making the same claim print the same.
func (c GatewayClaim) String() string {
	return fmt.Sprintf("host %s on port %d of the ingress gateway %s", c.Host, c.Port, c.Selector)
}

// GatewayClaims lists the claims of the Istio Gateways of a build, in the
// order of the objects. A host's namespace prefix ("ns/host") is dropped:
// the ingress gateway matches on the host alone.
func GatewayClaims(built []byte) []GatewayClaim {
	nodes, err := kio.FromBytes(built)
	if err != nil {
		return nil
	}
	var out []GatewayClaim
	for _, n := range nodes {
		if n.GetKind() != "Gateway" || !strings.HasPrefix(n.GetApiVersion(), "networking.istio.io/") {
			continue
		}
		selector := selectorString(n)
		servers, _ := n.Pipe(yaml.Lookup("spec", "servers"))
		if servers == nil {
			continue
		}
		items, _ := servers.Elements()
		for _, s := range items {
			port := 0
			if p, _ := s.Pipe(yaml.Lookup("port", "number")); p != nil {
				_ = p.YNode().Decode(&port)
			}
			hosts, _ := s.Pipe(yaml.Lookup("hosts"))
			if hosts == nil {
				continue
			}
			for _, h := range hosts.YNode().Content {
				host := h.Value
				if _, after, ok := strings.Cut(host, "/"); ok {
					host = after
				}
				out = append(out, GatewayClaim{Selector: selector, Host: host, Port: port, Gateway: n.GetNamespace() + "/" + n.GetName()})
			}
		}
	}
	return out
}

func selectorString(n *yaml.RNode) string {
	sel, _ := n.Pipe(yaml.Lookup("spec", "selector"))
	if sel == nil {
		return "(every gateway)"
	}
	var m map[string]string
	if err := sel.YNode().Decode(&m); err != nil {
		return strings.TrimSpace(sel.MustString())
	}
	pairs := make([]string, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}
