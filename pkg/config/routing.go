package config

import (
	"errors"
	"fmt"
	"strings"
)

// Routers: the API the routes are written in.
const (
	// RoutingIstio is Istio's VirtualService and DestinationRule (subsets
	// of the app's Service), the default.
	RoutingIstio = "istio"
	// RoutingGatewayAPI is Gateway API's HTTPRoute
	// (gateway.networking.k8s.io/v1) to a Service per color, for any
	// implementation: at the edge (a Gateway) and in the mesh (GAMMA).
	RoutingGatewayAPI = "gateway-api"
)

// GatewayAPIVersion is the API version of the HTTPRoute, and of the Gateway
// bgrender scaffolds when asked: GA since Gateway API v1.0.
const GatewayAPIVersion = "gateway.networking.k8s.io/v1"

// GatewayAPI is how the app is routed with routing: gateway-api.
type GatewayAPI struct {
	// ParentRefs are the Gateways (or listeners of them) the HTTPRoute
	// attaches to, usually one shared Gateway the platform team owns,
	// often in another namespace. Empty with gateway set means the
	// scaffolded Gateway.
	ParentRefs []ParentRef `yaml:"parentRefs,omitempty"`
	// Hostnames the HTTPRoute serves; empty means every hostname of the
	// listeners it attaches to.
	Hostnames []string `yaml:"hostnames,omitempty"`
	// Bind says which traffic the routes govern, as istio.bind does:
	// "gateway" (the default: requests through the parents), "mesh" (calls
	// from pods of the mesh to the app's Service, by a second HTTPRoute
	// whose parent is that Service: GAMMA) or "both".
	Bind string `yaml:"bind,omitempty"`
	// Gateway, when set, makes bgrender init scaffold a Gateway in base/
	// (there is none otherwise).
	Gateway *GatewayObject `yaml:"gateway,omitempty"`
}

// ParentRef is a Gateway the HTTPRoute attaches to.
type ParentRef struct {
	Name string `yaml:"name"`
	// Namespace of the Gateway; empty means the app's. A Gateway in
	// another namespace must allow routes from the app's (its listeners'
	// allowedRoutes), or it does not accept the route.
	Namespace string `yaml:"namespace,omitempty"`
	// SectionName picks a listener by name; Port, one by port.
	SectionName string `yaml:"sectionName,omitempty"`
	Port        int    `yaml:"port,omitempty"`
}

// GatewayObject is the Gateway bgrender init scaffolds.
type GatewayObject struct {
	// Name of the Gateway; empty means <app>-gateway.
	Name             string     `yaml:"name,omitempty"`
	GatewayClassName string     `yaml:"gatewayClassName"`
	Listeners        []Listener `yaml:"listeners"`
}

// Listener is one listener of a scaffolded Gateway.
type Listener struct {
	Name     string `yaml:"name"`
	Port     int    `yaml:"port"`
	Protocol string `yaml:"protocol"` // HTTP or HTTPS
	Hostname string `yaml:"hostname,omitempty"`
	// CertificateSecret is the Secret (in the app's namespace) holding the
	// TLS certificate of an HTTPS listener; the Secret is not in git.
	CertificateSecret string `yaml:"certificateSecret,omitempty"`
}

// GatewayAPIRouted reports whether the app is routed with Gateway API.
func (c Config) GatewayAPIRouted() bool { return c.Routing == RoutingGatewayAPI }

// Edge reports whether the routes bind to the parents (Gateways); Mesh,
// whether to the mesh.
func (g GatewayAPI) Edge() bool { return g.Bind != BindMesh }
func (g GatewayAPI) Mesh() bool { return g.Bind == BindMesh || g.Bind == BindBoth }

// GatewayName is the scaffolded Gateway's name.
func (c Config) GatewayName() string {
	if g := c.GatewayAPI.Gateway; g != nil && g.Name != "" {
		return g.Name
	}
	return c.App + "-gateway"
}

// Parents are the HTTPRoute's parents at the edge: ParentRefs, else the
// scaffolded Gateway.
func (c Config) Parents() []ParentRef {
	if len(c.GatewayAPI.ParentRefs) > 0 || c.GatewayAPI.Gateway == nil {
		return c.GatewayAPI.ParentRefs
	}
	return []ParentRef{{Name: c.GatewayName()}}
}

// Hosts are the hostnames the test route is reached at, for smoke checks:
// the Istio Gateway's hosts, or the HTTPRoute's hostnames.
func (c Config) Hosts() []string {
	if c.GatewayAPIRouted() {
		return c.GatewayAPI.Hostnames
	}
	return c.Gateway.Hosts
}

// gatewayAPIHostname is a Gateway API Hostname: a DNS name, or one with a
// leading "*." label; no IP, no port, no lone "*".
var gatewayAPIHostname = hostPattern

func (c Config) validateRouting() error {
	switch c.Routing {
	case "", RoutingIstio:
		if c.GatewayAPI.Bind != "" || len(c.GatewayAPI.ParentRefs) > 0 || len(c.GatewayAPI.Hostnames) > 0 || c.GatewayAPI.Gateway != nil {
			return errors.New("gatewayAPI: only with routing: gateway-api (routing is istio)")
		}
		return c.validateIstio()
	case RoutingGatewayAPI:
	default:
		return fmt.Errorf("routing %q: must be %s or %s", c.Routing, RoutingIstio, RoutingGatewayAPI)
	}
	if c.Gateway.Name != "" || len(c.Gateway.Hosts) > 0 {
		return errors.New("gateway: is the Istio Gateway; with routing gateway-api set gatewayAPI.parentRefs and gatewayAPI.hostnames")
	}
	if c.Istio != (Istio{}) {
		return errors.New("istio: only with routing: istio (routing is gateway-api)")
	}
	g := c.GatewayAPI
	switch g.Bind {
	case BindGateway, BindMesh, BindBoth:
	default:
		return fmt.Errorf("gatewayAPI.bind %q: must be gateway, mesh or both", g.Bind)
	}
	if g.Edge() && len(c.Parents()) == 0 {
		return errors.New("gatewayAPI.parentRefs: name the Gateway the HTTPRoute attaches to (or set gatewayAPI.gateway to scaffold one, or bind: mesh)")
	}
	if len(g.ParentRefs) > 32 {
		return fmt.Errorf("gatewayAPI.parentRefs: %d entries, at most 32", len(g.ParentRefs))
	}
	seen := map[ParentRef]bool{}
	for i, p := range g.ParentRefs {
		field := fmt.Sprintf("gatewayAPI.parentRefs[%d]", i)
		if len(p.Name) > 253 || !dns1123Subdomain.MatchString(p.Name) {
			return fmt.Errorf("%s.name %q: must be a Gateway's name", field, p.Name)
		}
		if p.Namespace != "" && (len(p.Namespace) > 63 || !dns1123Subdomain.MatchString(p.Namespace) || strings.Contains(p.Namespace, ".")) {
			return fmt.Errorf("%s.namespace %q: must be a DNS-1123 label", field, p.Namespace)
		}
		if p.SectionName != "" && (len(p.SectionName) > 253 || !dns1123Subdomain.MatchString(p.SectionName)) {
			return fmt.Errorf("%s.sectionName %q: must be a listener's name", field, p.SectionName)
		}
		if p.Port < 0 || p.Port > 65535 {
			return fmt.Errorf("%s.port %d: must be between 1 and 65535", field, p.Port)
		}
		if seen[p] {
			return fmt.Errorf("%s: the same parent twice", field)
		}
		seen[p] = true
	}
	if len(g.Hostnames) > 16 {
		return fmt.Errorf("gatewayAPI.hostnames: %d entries, at most 16", len(g.Hostnames))
	}
	for i, h := range g.Hostnames {
		if h == "*" || len(h) > 253 || !gatewayAPIHostname.MatchString(h) {
			return fmt.Errorf("gatewayAPI.hostnames[%d] %q: must be a DNS name or *.example.com (not \"*\": leave hostnames empty for every hostname)", i, h)
		}
	}
	if gw := g.Gateway; gw != nil {
		if err := gw.validate(c.GatewayName()); err != nil {
			return err
		}
	}
	return nil
}

func (gw GatewayObject) validate(name string) error {
	if len(name) > 253 || !dns1123Subdomain.MatchString(name) {
		return fmt.Errorf("gatewayAPI.gateway.name %q: must be a DNS-1123 name", name)
	}
	if len(gw.GatewayClassName) > 253 || !dns1123Subdomain.MatchString(gw.GatewayClassName) {
		return fmt.Errorf("gatewayAPI.gateway.gatewayClassName %q: must name a GatewayClass, e.g. istio, eg (Envoy Gateway), cilium", gw.GatewayClassName)
	}
	if len(gw.Listeners) == 0 || len(gw.Listeners) > 64 {
		return fmt.Errorf("gatewayAPI.gateway.listeners: %d listeners, want 1 to 64", len(gw.Listeners))
	}
	names := map[string]bool{}
	for i, l := range gw.Listeners {
		field := fmt.Sprintf("gatewayAPI.gateway.listeners[%d]", i)
		if len(l.Name) > 253 || !dns1123Subdomain.MatchString(l.Name) {
			return fmt.Errorf("%s.name %q: must be a DNS-1123 name", field, l.Name)
		}
		if names[l.Name] {
			return fmt.Errorf("%s.name %q: used twice", field, l.Name)
		}
		names[l.Name] = true
		if l.Port < 1 || l.Port > 65535 {
			return fmt.Errorf("%s.port %d: must be between 1 and 65535", field, l.Port)
		}
		switch l.Protocol {
		case "HTTP":
			if l.CertificateSecret != "" {
				return fmt.Errorf("%s.certificateSecret: only for protocol HTTPS", field)
			}
		case "HTTPS":
			if l.CertificateSecret == "" || len(l.CertificateSecret) > 253 || !dns1123Subdomain.MatchString(l.CertificateSecret) {
				return fmt.Errorf("%s.certificateSecret %q: an HTTPS listener names the Secret with its certificate", field, l.CertificateSecret)
			}
		default:
			return fmt.Errorf("%s.protocol %q: must be HTTP or HTTPS", field, l.Protocol)
		}
		if l.Hostname != "" && (l.Hostname == "*" || !gatewayAPIHostname.MatchString(l.Hostname)) {
			return fmt.Errorf("%s.hostname %q: must be a DNS name or *.example.com", field, l.Hostname)
		}
	}
	return nil
}
