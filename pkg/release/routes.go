package release

import (
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/wait"
)

// GateRoutes makes src, for an app with cfg, wait also for the app's
// HTTPRoutes to be accepted by their parents when it is routed with
// Gateway API (wait.Routes); it returns src as it is otherwise. Smoke
// checks through a route its Gateway has not accepted prove nothing.
func GateRoutes(cfg config.Config, src wait.Source) wait.Source {
	if !cfg.GatewayAPIRouted() {
		return src
	}
	var routes []wait.Route
	if cfg.GatewayAPI.Edge() {
		r := wait.Route{Namespace: cfg.Namespace, Name: render.RoutingName(cfg.App)}
		for _, p := range cfg.Parents() {
			r.Parents = append(r.Parents, wait.RouteParent{Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: p.Namespace, Name: p.Name, SectionName: p.SectionName, Port: p.Port})
		}
		routes = append(routes, r)
	}
	if cfg.GatewayAPI.Mesh() {
		routes = append(routes, wait.Route{Namespace: cfg.Namespace, Name: render.MeshRoutingName(cfg.App),
			Parents: []wait.RouteParent{{Group: "", Kind: "Service", Name: cfg.App}}})
	}
	return wait.Routes(src, routes)
}
