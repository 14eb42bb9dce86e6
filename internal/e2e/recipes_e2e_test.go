//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

var argoApplicationSetsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}

// bgAt runs the CLI against another env repo than the scenario's.
func (s *scenario) bgAt(repo, app string, args ...string) {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"--repo", repo, "--app", app}, args...)...)
	cmd.Env = s.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("bgrender --app %s %s: %v\n%s", app, strings.Join(args, " "), err, out.String())
	}
}

// deploymentImage returns the image of Deployment name in namespace, "" if
// there is none.
func deploymentImage(t *testing.T, c *kubetest.Cluster, namespace, name string) string {
	t.Helper()
	d, err := c.Dynamic.Resource(deploymentsGVR).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if ignoreNotFound(err) != nil {
		t.Fatal(err)
	}
	if err != nil {
		return ""
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("Deployment %s/%s has %d containers", namespace, name, len(containers))
	}
	img, _, _ := unstructured.NestedString(containers[0].(map[string]any), "image")
	return img
}

// TestRecipeArgoCD applies the Argo CD recipes to a real Argo CD v2.14:
//
//   - docs/recipes/argocd/application.yaml, exactly as written but for the
//     env repo URL: bgrender releases v1 and then v2 through it (deploy,
//     wait, verify through the test route, promote, wait), and the API
//     server holds the Deployments at the released images, the subsets
//     and routes the state says;
//   - docs/recipes/argocd/applicationset.yaml, exactly as written but for
//     the repo URL, run by the real argocd-applicationset-controller over a
//     second env repo with two bgrender app dirs: it makes one Application
//     per app dir, named after it, and Argo CD syncs each one's Deployment
//     at the deployed image. (No Traffic stands in for those two apps'
//     pods: their Applications are Synced, not Healthy, which is all this
//     part is about.)
func TestRecipeArgoCD(t *testing.T) {
	c := kubetest.Start(t, kubetest.WithControllers())
	s, gs := newScenario(t, c)
	s.bg(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp", "--host", "myapp.example.com")
	a := StartArgoCD(t, c)
	a.AddRepo(t, s.repo, scenarioUser, scenarioPass)

	app, err := ArgoApplicationRecipe("myapp", s.repo, "apps/myapp", "default")
	if err != nil {
		t.Fatal(err)
	}
	a.CreateApp(t, app)
	s.env = append(s.env, "BGRENDER_ARGOCD_TOKEN="+a.Token)
	s.configure("wait:\n  controller: argocd\n  server: " + a.URL + "\n  cooldown: 2s\n  timeout: 3m\n")
	gw := []string{"--gateway-url", s.traffic.GatewayURL, "--poll-interval", "200ms"}
	for _, v := range []string{"v1", "v2"} {
		start := time.Now()
		s.bg(0, append([]string{"release", "--version", v}, gw...)...)
		t.Logf("release %s through the Application recipe: %s", v, time.Since(start).Round(time.Millisecond))
		s.assertCluster("after release " + v + " through the Application recipe")
	}
	for color, want := range map[string]string{"blue": "ghcr.io/acme/myapp:v1", "green": "ghcr.io/acme/myapp:v2"} {
		if got := deploymentImage(t, c, "default", "myapp-"+color); got != want {
			t.Errorf("Deployment myapp-%s: image %q, want %q", color, got, want)
		}
	}

	// The ApplicationSet over a second env repo with two app dirs.
	fleet := gs.NewRepo(t, "fleet")
	images := map[string]string{"shop": "ghcr.io/acme/shop:v1.4", "blog": "ghcr.io/acme/blog:v2.7"}
	for name, img := range images {
		s.bgAt(fleet, "apps/"+name, "init", "--name", name, "--image", strings.Split(img, ":")[0], "--host", name+".example.com")
		s.bgAt(fleet, "apps/"+name, "deploy", "--version", strings.Split(img, ":")[1])
	}
	head := gitopstest.Head(t, strings.Replace(fleet, "://", "://"+scenarioUser+":"+scenarioPass+"@", 1), "main").String()
	a.AddRepo(t, fleet, scenarioUser, scenarioPass)
	a.StartApplicationSetController(t)
	set, err := ArgoApplicationSetRecipe(fleet)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Dynamic.Resource(argoApplicationSetsGVR).Namespace(ArgoCDNamespace).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the ApplicationSet: %v", err)
	}
	start := time.Now()
	var last string
	err = argoPollUntil(ctx, 4*time.Minute, func() (bool, error) {
		list, err := c.Dynamic.Resource(argoApplicationsGVR).Namespace(ArgoCDNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var states []string
		synced := 0
		for _, app := range list.Items {
			owners := app.GetOwnerReferences()
			if len(owners) != 1 || owners[0].Kind != "ApplicationSet" || owners[0].Name != set.GetName() {
				continue
			}
			name := app.GetName()
			path, _, _ := unstructured.NestedString(app.Object, "spec", "source", "path")
			status, _, _ := unstructured.NestedString(app.Object, "status", "sync", "status")
			rev, _, _ := unstructured.NestedString(app.Object, "status", "sync", "revision")
			states = append(states, fmt.Sprintf("%s(%s): %s at %.7s", name, path, status, rev))
			if _, ok := images[name]; !ok || path != "apps/"+name {
				return false, fmt.Errorf("the ApplicationSet made Application %s for %s; want one per app dir, named after it", name, path)
			}
			if status == "Synced" && rev == head && deploymentImage(t, c, "default", name+"-blue") == images[name] {
				synced++
			}
		}
		last = strings.Join(states, "; ")
		return synced == len(images), nil
	})
	if err != nil {
		t.Fatalf("the ApplicationSet's Applications: %v (last seen: %s)", err, last)
	}
	t.Logf("the ApplicationSet made and synced %s in %s", last, time.Since(start).Round(time.Millisecond))
}

// TestRecipeFlux applies docs/recipes/flux/gitrepository.yaml and
// kustomization.yaml, exactly as written but for the env repo URL (and
// Flux's shard label, which scopes this test's controllers), to real Flux
// source-controller and kustomize-controller v1.9, with the recipe's
// wait: true (Ready only once the Deployments are healthy, which the
// Traffic stand-in makes them). bgrender releases v1 and v2 through them,
// waiting on the Kustomization, and the API server holds the Deployments at
// the released images, the subsets and routes the state says.
func TestRecipeFlux(t *testing.T) {
	c := kubetest.Start(t, kubetest.WithControllers())
	s, _ := newScenario(t, c)
	s.bg(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp", "--host", "myapp.example.com")
	s.configure("wait:\n  controller: flux\n  name: myapp\n  namespace: flux-system\n  timeout: 3m\n")
	f := StartFlux(t, c)
	f.AddRecipeApp(t, FluxNamespace, "env", s.repo, scenarioUser, scenarioPass, "myapp", "apps/myapp")

	ks, err := c.Dynamic.Resource(fluxKustomizationGVR).Namespace(FluxNamespace).Get(context.Background(), "myapp", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wait, _, _ := unstructured.NestedBool(ks.Object, "spec", "wait")
	prune, _, _ := unstructured.NestedBool(ks.Object, "spec", "prune")
	if !wait || !prune {
		t.Fatalf("the Kustomization in the API server has wait %v, prune %v; the recipe says true, true", wait, prune)
	}
	gw := []string{"--gateway-url", s.traffic.GatewayURL, "--poll-interval", "200ms"}
	for _, v := range []string{"v1", "v2"} {
		start := time.Now()
		s.bg(0, append([]string{"release", "--version", v}, gw...)...)
		t.Logf("release %s through the Flux recipes: %s", v, time.Since(start).Round(time.Millisecond))
		s.assertCluster("after release " + v + " through the Flux recipes")
	}
	for color, want := range map[string]string{"blue": "ghcr.io/acme/myapp:v1", "green": "ghcr.io/acme/myapp:v2"} {
		if got := deploymentImage(t, c, "default", "myapp-"+color); got != want {
			t.Errorf("Deployment myapp-%s: image %q, want %q", color, got, want)
		}
	}
}
