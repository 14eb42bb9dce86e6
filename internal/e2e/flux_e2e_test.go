//go:build e2e

package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/wait"
)

var (
	fluxConfigMapGVR  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	fluxDeploymentGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// fluxOnlyCommit is an Acceptor that accepts the commit itself and nothing else.
type fluxOnlyCommit struct{}

func (fluxOnlyCommit) Accept(_ context.Context, commit, revision string) (bool, string, error) {
	return false, "only " + commit + " itself is accepted", nil
}

// TestFlux: real source-controller and kustomize-controller apply what is
// pushed to the git server (basic auth), prune what is removed, and report
// a broken commit in a way that bgrender's wait fails on at once.
func TestFlux(t *testing.T) {
	c := kubetest.Start(t, kubetest.WithControllers())
	gs := StartGitServer(t, "bot", "s3cret")
	url := gs.NewRepo(t, "env")
	withAuth := strings.Replace(url, "://", "://bot:s3cret@", 1)
	push := fluxPusher(t, withAuth)
	appNS := c.Namespace(t)

	first := gitopstest.Seed(t, withAuth, "main", map[string]string{
		"apps/hello/kustomization.yaml": fluxKustomizationYAML(appNS, "hello.yaml"),
		"apps/hello/hello.yaml":         fluxConfigMapYAML("hello", "greeting", "hello v1"),
	}, "hello v1")
	f := StartFlux(t, c)
	added := time.Now()
	f.AddApp(t, "flux-system", "env", url, "bot", "s3cret", "hello", "apps/hello")
	fluxWaitApplied(t, f, "flux-system", "hello", first, added, "first commit (timed from AddApp)")
	fluxWantConfigMap(t, c, appNS, "hello", "greeting", "hello v1")

	change := push("apps/hello", map[string]string{
		"kustomization.yaml": fluxKustomizationYAML(appNS, "hello.yaml", "bye.yaml"),
		"hello.yaml":         fluxConfigMapYAML("hello", "greeting", "hello v2"),
		"bye.yaml":           fluxConfigMapYAML("bye", "greeting", "bye v1"),
	}, "hello v2, add bye")
	fluxWaitApplied(t, f, "flux-system", "hello", change, time.Now(), "push -> change + addition")
	fluxWantConfigMap(t, c, appNS, "hello", "greeting", "hello v2")
	fluxWantConfigMap(t, c, appNS, "bye", "greeting", "bye v1")

	deletion := push("apps/hello", map[string]string{
		"kustomization.yaml": fluxKustomizationYAML(appNS, "hello.yaml"),
		"hello.yaml":         fluxConfigMapYAML("hello", "greeting", "hello v2"),
	}, "remove bye")
	fluxWaitApplied(t, f, "flux-system", "hello", deletion, time.Now(), "push -> deletion (prune)")
	if _, err := c.Dynamic.Resource(fluxConfigMapGVR).Namespace(appNS).Get(context.Background(), "bye", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("ConfigMap bye was not pruned: get: %v", err)
	}

	// A commit that kustomize cannot build: the wait must end with Flux's own
	// words, long before its timeout.
	broken := push("apps/hello", map[string]string{
		"kustomization.yaml": fluxKustomizationYAML(appNS, "hello.yaml", "missing.yaml"),
		"hello.yaml":         fluxConfigMapYAML("hello", "greeting", "hello v3"),
	}, "broken")
	start := time.Now()
	const timeout = 3 * time.Minute
	_, err := wait.Wait(context.Background(), f.Kustomization("flux-system", "hello"), broken.String(), fluxOnlyCommit{},
		wait.Options{Timeout: timeout, Interval: 100 * time.Millisecond})
	elapsed := time.Since(start)
	var failed *wait.FailedError
	if !errors.As(err, &failed) {
		t.Fatalf("wait for a broken commit: got %v, want a *wait.FailedError", err)
	}
	if errors.Is(err, wait.ErrTimeout) || elapsed > timeout/3 {
		t.Fatalf("wait for a broken commit took %s (timeout %s): %v", elapsed, timeout, err)
	}
	if failed.Reason != "BuildFailed" || !strings.Contains(failed.Message, "missing.yaml") {
		t.Fatalf("wait for a broken commit: reason %q, message %q; want BuildFailed naming missing.yaml", failed.Reason, failed.Message)
	}
	t.Logf("timing: broken commit %s: wait failed after %s: %v", fluxShort(broken), elapsed.Round(time.Millisecond), err)
	fluxWantConfigMap(t, c, appNS, "hello", "greeting", "hello v2") // the last good commit stays

	// And a good commit after it recovers.
	fixed := push("apps/hello", map[string]string{
		"kustomization.yaml": fluxKustomizationYAML(appNS, "hello.yaml"),
		"hello.yaml":         fluxConfigMapYAML("hello", "greeting", "hello v4"),
	}, "fixed")
	fluxWaitApplied(t, f, "flux-system", "hello", fixed, time.Now(), "push -> fix after a broken commit")
	fluxWantConfigMap(t, c, appNS, "hello", "greeting", "hello v4")
}

// TestFluxWaitDeployment: with spec.wait (Flux.Wait), the Kustomization is
// Ready only once the deployment controller reports its Deployment rolled
// out, over pods kwok runs: a release whose pods never become Ready keeps
// it from Ready (until its progress deadline makes the health check fail
// early; else Flux would hold on to it for spec.timeout), and the next one,
// whose pods do, makes it Ready.
func TestFluxWaitDeployment(t *testing.T) {
	c := kubetest.Start(t, kubetest.WithControllers())
	gs := StartGitServer(t, "bot", "s3cret")
	url := gs.NewRepo(t, "env")
	push := fluxPusher(t, strings.Replace(url, "://", "://bot:s3cret@", 1))
	appNS := c.Namespace(t)
	unready := push("apps/web", map[string]string{
		"kustomization.yaml": fluxKustomizationYAML(appNS, "web.yaml"),
		"web.yaml":           fluxDeploymentYAML("web", "example.com/web:v1", map[string]any{"kubetest.bgrender.dev/ready": "false"}, 10),
	}, "web v1, pods never Ready")
	f := StartFlux(t, c)
	f.Wait = true
	added := time.Now()
	f.AddApp(t, "flux-system", "env", url, "bot", "s3cret", "web", "apps/web")

	// Once the deployment controller has seen the Deployment and its pod is
	// running unready, the Kustomization must not be done.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		d, err := c.Dynamic.Resource(fluxDeploymentGVR).Namespace(appNS).Get(ctx, "web", metav1.GetOptions{})
		if err != nil && (!apierrors.IsNotFound(err) || ctx.Err() != nil) {
			t.Fatalf("get deployment web: %v", err)
		}
		if err == nil {
			observed, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
			unavailable, _, _ := unstructured.NestedInt64(d.Object, "status", "unavailableReplicas")
			if observed == d.GetGeneration() && unavailable == 1 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	ks := f.Kustomization("flux-system", "web")
	obs, err := ks.Observe(ctx, unready.String(), fluxOnlyCommit{}, time.Now())
	var fe *wait.FailedError
	if err != nil && (!errors.As(err, &fe) || fe.Reason != "HealthCheckFailed") {
		t.Fatal(err)
	}
	if obs.Done {
		t.Fatalf("the Kustomization is done while its Deployment has no Ready pod: %+v", obs)
	}
	t.Logf("pods unready: %s, %s", obs.Health, obs.Waiting)

	ready := push("apps/web", map[string]string{
		"kustomization.yaml": fluxKustomizationYAML(appNS, "web.yaml"),
		"web.yaml":           fluxDeploymentYAML("web", "example.com/web:v2", nil, 0),
	}, "web v2")
	pushed := time.Now()
	fluxWaitApplied(t, f, "flux-system", "web", ready, pushed, "pods Ready -> rolled out -> Ready (health check)")
	t.Logf("timing: web: AddApp -> v2 Ready %s", time.Since(added).Round(time.Millisecond))
}

// fluxPusher returns a function that commits files as the whole content of dir
// (what is not in files is deleted) and pushes it to url.
func fluxPusher(t *testing.T, url string) func(dir string, files map[string]string, message string) plumbing.Hash {
	return func(dir string, files map[string]string, message string) plumbing.Hash {
		t.Helper()
		ctx := context.Background()
		r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: "main", Push: true})
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		defer r.Close()
		fs := map[string][]byte{}
		for p, s := range files {
			fs[p] = []byte(s)
		}
		res, err := r.Apply(ctx, gitops.Change{Dir: dir, Files: fs, Replace: []string{"."}, Message: message, Author: gitopstest.Author()})
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		return res.Commit
	}
}

// fluxWaitApplied waits with bgrender's own waiter until the Kustomization has
// applied exactly the commit and is Ready, and logs how long that took from
// since.
func fluxWaitApplied(t *testing.T, f *Flux, ns, name string, commit plumbing.Hash, since time.Time, what string) {
	t.Helper()
	var polls []string
	res, err := wait.Wait(context.Background(), f.Kustomization(ns, name), commit.String(), fluxOnlyCommit{}, wait.Options{
		Timeout:  3 * time.Minute,
		Interval: 100 * time.Millisecond,
		Progress: func(p wait.Progress) {
			if s := p.Observation.Health + " " + p.Observation.Waiting; len(polls) == 0 || polls[len(polls)-1] != s {
				polls = append(polls, s)
			}
		},
	})
	if err != nil {
		t.Fatalf("wait for %s (%s): %v\nobservations: %q", fluxShort(commit), what, err, polls)
	}
	t.Logf("timing: %s %s: applied and Ready after %s (of which wait.Wait %s, %d polls)", what, fluxShort(commit),
		time.Since(since).Round(time.Millisecond), res.Elapsed.Round(time.Millisecond), res.Polls)
}

func fluxWantConfigMap(t *testing.T, c *kubetest.Cluster, ns, name, key, want string) {
	t.Helper()
	cm, err := c.Dynamic.Resource(fluxConfigMapGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ConfigMap %s/%s: %v", ns, name, err)
	}
	if got, _, _ := unstructured.NestedString(cm.Object, "data", key); got != want {
		t.Fatalf("ConfigMap %s/%s: %s is %q, want %q", ns, name, key, got, want)
	}
}

func fluxShort(h plumbing.Hash) string { return h.String()[:7] }

func fluxKustomizationYAML(ns string, resources ...string) string {
	return fluxYAML(map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"namespace":  ns,
		"resources":  resources,
	})
}

func fluxConfigMapYAML(name, key, value string) string {
	return fluxYAML(map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]any{"name": name},
		"data":       map[string]any{key: value},
	})
}

// fluxDeploymentYAML is a one-replica Deployment whose pods carry the
// annotations (kwok's stages read kubetest.bgrender.dev/ready), with
// progressDeadlineSeconds unless 0.
func fluxDeploymentYAML(name, image string, annotations map[string]any, deadline int) string {
	labels := map[string]any{"app": name}
	podMeta := map[string]any{"labels": labels}
	if annotations != nil {
		podMeta["annotations"] = annotations
	}
	d := map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"replicas": 1,
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": podMeta,
				"spec":     map[string]any{"containers": []any{map[string]any{"name": name, "image": image}}},
			},
		},
	}
	if deadline > 0 {
		d["spec"].(map[string]any)["progressDeadlineSeconds"] = deadline
	}
	return fluxYAML(d)
}

func fluxYAML(v any) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}
