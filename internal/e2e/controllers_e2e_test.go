//go:build e2e

package e2e

import (
	"testing"

	"github.com/bgrender/bgrender/internal/kubetest"
)

// fluxScenario is the scenario's env repo with the app initialised, applied
// by Flux on the real controllers; with health, the Kustomization waits for
// its workloads' health (spec.wait).
func fluxScenario(t *testing.T, health bool) *scenario {
	c := kubetest.Start(t, kubetest.WithControllers())
	s, _ := newScenario(t, c)
	s.bg(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp", "--host", "myapp.example.com")
	s.configure("wait:\n  controller: flux\n  name: myapp\n  namespace: flux-system\n  timeout: 3m\n")
	f := StartFlux(t, c)
	f.Wait = health
	f.AddApp(t, "flux-system", "env", s.repo, scenarioUser, scenarioPass, "myapp", "apps/myapp")
	return s
}

// argoCDScenario is the scenario's env repo with the app initialised,
// applied by Argo CD on the real controllers, bgrender waiting through Argo
// CD's REST API.
func argoCDScenario(t *testing.T) *scenario {
	c := kubetest.Start(t, kubetest.WithControllers())
	s, _ := newScenario(t, c)
	s.bg(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp", "--host", "myapp.example.com")
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
