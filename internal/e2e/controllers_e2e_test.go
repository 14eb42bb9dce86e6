//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/kubetest"
)

// fluxScenario is the scenario's env repo with the app initialised, applied
// by Flux on the real controllers; with health, the Kustomization waits for
// its workloads' health (spec.wait).
func fluxScenario(t *testing.T, health bool, r ...router) *scenario {
	c := kubetest.Start(t, kubetest.WithControllers())
	s, _ := newScenario(t, c)
	s.initApp(r...)
	s.configure("wait:\n  controller: flux\n  name: myapp\n  namespace: flux-system\n  timeout: 3m\n")
	f := StartFlux(t, c)
	f.Wait = health
	f.AddApp(t, "flux-system", "env", s.repo, scenarioUser, scenarioPass, "myapp", "apps/myapp")
	return s
}

// argoCDScenario is the scenario's env repo with the app initialised,
// applied by Argo CD on the real controllers, bgrender waiting through Argo
// CD's REST API.
func argoCDScenario(t *testing.T, r ...router) *scenario {
	c := kubetest.Start(t, kubetest.WithControllers())
	s, _ := newScenario(t, c)
	s.initApp(r...)
	a := StartArgoCD(t, c)
	a.AddRepo(t, s.repo, scenarioUser, scenarioPass)
	a.AddApp(t, "myapp", s.repo, "apps/myapp", "default")
	s.env = append(s.env, "BGRENDER_ARGOCD_TOKEN="+a.Token)
	s.configure("wait:\n  controller: argocd\n  server: " + a.URL + "\n  cooldown: 2s\n  timeout: 3m\n")
	return s
}

// TestScenarioFlux runs the scenario with Flux applying the env repo and
// bgrender waiting through the Kustomization's status.
func TestScenarioFlux(t *testing.T) { fluxScenario(t, false).run() }

// TestScenarioArgoCD runs the scenario with Argo CD applying the env repo and
// bgrender waiting through Argo CD's REST API.
func TestScenarioArgoCD(t *testing.T) { argoCDScenario(t).run() }

// TestScenarioGatewayAPIArgoCD runs the scenario with the app routed by
// Gateway API (HTTPRoutes at a shared Gateway in another namespace and in
// the mesh), Argo CD applying it.
func TestScenarioGatewayAPIArgoCD(t *testing.T) {
	argoCDScenario(t, router{gatewayAPI: true, parent: "infra/shared"}).run()
}

// TestScenarioGatewayAPIFlux is the same with Flux applying it.
func TestScenarioGatewayAPIFlux(t *testing.T) {
	fluxScenario(t, false, router{gatewayAPI: true, parent: "infra/shared"}).run()
}

// TestGatewayAPIRouteNotAccepted: the HTTPRoute names a Gateway whose
// listener allows routes from its own namespace only (a shared Gateway
// the app's namespace was never granted). Argo CD applies the commit and
// reports it healthy, but the Gateway does not accept the route, and wait
// stops at once quoting the Gateway's condition instead of letting smoke
// checks run through a route that serves nothing.
func TestGatewayAPIRouteNotAccepted(t *testing.T) {
	s := argoCDScenario(t, router{gatewayAPI: true, parent: "locked/private"})
	s.bg(0, "deploy", "--version", "v1", "--no-wait")
	start := time.Now()
	stderr := s.bgFail("wait", "--poll-interval", "200ms", "--timeout", "3m")
	t.Logf("wait (%s):\n%s", time.Since(start).Round(time.Second), stderr)
	for _, want := range []string{"RouteNotAccepted", "HTTPRoute default/myapp-blue-green: Gateway locked/private listener http reports Accepted=False: NotAllowedByListeners: no listener of Gateway locked/private allows routes from namespace default"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("wait does not say %q", want)
		}
	}
	if time.Since(start) > 2*time.Minute {
		t.Errorf("wait took %s: it should stop as soon as the route's status is in", time.Since(start))
	}
}
