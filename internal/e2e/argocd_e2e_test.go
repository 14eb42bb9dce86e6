//go:build e2e

package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/wait"
)

// argoOnlyCommit accepts no revision but the commit itself (which Wait accepts
// without asking).
type argoOnlyCommit struct{}

func (argoOnlyCommit) Accept(ctx context.Context, commit, revision string) (bool, string, error) {
	return false, "not the commit", nil
}

var argoConfigMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// TestArgoCD: a real Argo CD applies what is pushed to the real git server
// (basic auth) to the real API server, prunes what is removed, and bgrender's
// waits read its verdict through its REST API and through the Kubernetes API:
// done at the pushed commit, and a broken kustomization fails fast with Argo
// CD's ComparisonError although the app stays Healthy.
func TestArgoCD(t *testing.T) {
	const user, pass = "argo-bot", "s3cret-argo"
	const app, dir = "hello", "apps/hello"
	c := kubetest.Start(t, kubetest.WithControllers())
	gs := StartGitServer(t, user, pass)
	repo := gs.NewRepo(t, "env")
	withAuth := strings.Replace(repo, "://", "://"+user+":"+pass+"@", 1)
	ns := c.Namespace(t)

	first := gitopstest.Seed(t, withAuth, "main", map[string]string{
		dir + "/kustomization.yaml": "resources:\n- hello.yaml\n- extra.yaml\n",
		dir + "/hello.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  greeting: hello\n",
		dir + "/extra.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  doomed: \"yes\"\n",
	}, "hello and extra")

	a := StartArgoCD(t, c)
	a.AddRepo(t, repo, user, pass)
	a.AddApp(t, app, repo, dir, ns)

	rest := &wait.ArgoCDREST{Server: a.URL, Token: a.Token, App: app, Cooldown: time.Second}
	kube := &wait.ArgoCDKube{Client: c.Dynamic, Namespace: ArgoCDNamespace, App: app, Cooldown: time.Second}

	// The first sync: the controller also builds its cluster cache.
	argoWaitApplied(t, rest, first.String(), time.Now(), 3*time.Minute)
	if got := argoCMData(t, c, ns, "hello", "greeting"); got != "hello" {
		t.Fatalf("ConfigMap hello: greeting=%q, want hello", got)
	}
	argoCMData(t, c, ns, "extra", "doomed")

	// A change and a deletion: applied and pruned.
	pushed := time.Now()
	second := argoPush(t, withAuth, dir, map[string]string{
		"kustomization.yaml": "resources:\n- hello.yaml\n",
		"hello.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  greeting: bonjour\n",
	}, "change hello, remove extra")
	argoWaitApplied(t, rest, second, pushed, 2*time.Minute)
	if got := argoCMData(t, c, ns, "hello", "greeting"); got != "bonjour" {
		t.Errorf("ConfigMap hello: greeting=%q after the change, want bonjour", got)
	}
	if _, err := c.Dynamic.Resource(argoConfigMaps).Namespace(ns).Get(context.Background(), "extra", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap extra was not pruned: %v", err)
	}
	// Through the Kubernetes API the same app is done at the same commit.
	if res, err := wait.Wait(context.Background(), kube, second, argoOnlyCommit{}, wait.Options{Timeout: time.Minute, Interval: 200 * time.Millisecond}); err != nil {
		t.Errorf("ArgoCDKube: %v", err)
	} else {
		t.Logf("ArgoCDKube agrees: %s at %s after %d polls", res.Source, res.Revision, res.Polls)
	}

	// A broken kustomization: Argo CD stays Healthy with a ComparisonError,
	// and both waits fail fast quoting it.
	const timeout = 3 * time.Minute
	pushed = time.Now()
	broken := argoPush(t, withAuth, dir, map[string]string{
		"kustomization.yaml": "resources:\n- hello.yaml\n- missing.yaml\n",
		"hello.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  greeting: bonjour\n",
	}, "break the kustomization")
	for _, src := range []wait.Source{rest, kube} {
		start := time.Now()
		_, err := wait.Wait(context.Background(), src, broken, argoOnlyCommit{}, wait.Options{Timeout: timeout, Interval: 200 * time.Millisecond})
		took := time.Since(start)
		var fe *wait.FailedError
		if !errors.As(err, &fe) {
			t.Fatalf("%T: wait for the broken commit: %v, want a *wait.FailedError", src, err)
		}
		if fe.Reason != "ComparisonError" || !strings.Contains(fe.Message, "missing.yaml") {
			t.Errorf("%T: %s: %s, want ComparisonError about missing.yaml", src, fe.Reason, fe.Message)
		}
		if took > timeout/4 {
			t.Errorf("%T: failed after %s, not fast (timeout %s)", src, took, timeout)
		}
		t.Logf("%T failed after %s (push->verdict %s): %v", src, took.Round(time.Millisecond), time.Since(pushed).Round(time.Millisecond), err)
	}
	// A waiter that trusted health alone would have passed it.
	if h := argoAppHealth(t, c, app); h != "Healthy" {
		t.Errorf("health is %s with the ComparisonError, want Healthy (as REAL-LOOP.md saw)", h)
	}

	// Repaired: the error clears and the wait is done again.
	pushed = time.Now()
	fixed := argoPush(t, withAuth, dir, map[string]string{
		"kustomization.yaml": "resources:\n- hello.yaml\n",
		"hello.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  greeting: hallo\n",
	}, "repair the kustomization")
	argoWaitApplied(t, kube, fixed, pushed, 2*time.Minute)
	if got := argoCMData(t, c, ns, "hello", "greeting"); got != "hallo" {
		t.Errorf("ConfigMap hello: greeting=%q after the repair, want hallo", got)
	}
}

// argoWaitApplied waits with src until commit is applied and logs how long it
// took from the push: until Argo CD first reported it Synced, and until the
// wait was done (Synced, Healthy, operation finished, cooldown).
func argoWaitApplied(t *testing.T, src wait.Source, commit string, pushed time.Time, timeout time.Duration) {
	t.Helper()
	var synced time.Duration
	start := time.Now()
	res, err := wait.Wait(context.Background(), src, commit, argoOnlyCommit{}, wait.Options{
		Timeout:  timeout,
		Interval: 100 * time.Millisecond,
		Progress: func(p wait.Progress) {
			if synced == 0 && p.Err == nil && p.Observation.Revision == commit && p.Observation.Sync == "Synced" {
				synced = time.Since(pushed)
			}
		},
	})
	if err != nil {
		t.Fatalf("wait for %s: %v", commit[:7], err)
	}
	t.Logf("%s: push->Synced %s, push->done %s (wait %s, %d polls, cooldown 1s)", commit[:7],
		synced.Round(time.Millisecond), time.Since(pushed).Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), res.Polls)
}

// push commits files as the whole content of dir and pushes it; files
// missing from the map are deleted.
func argoPush(t *testing.T, url, dir string, files map[string]string, message string) string {
	t.Helper()
	ctx := context.Background()
	r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: "main", Push: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fs := map[string][]byte{}
	for p, s := range files {
		fs[p] = []byte(s)
	}
	res, err := r.Apply(ctx, gitops.Change{Dir: dir, Files: fs, Replace: []string{"."}, Message: message, Author: gitopstest.Author()})
	if err != nil {
		t.Fatal(err)
	}
	return res.Commit.String()
}

func argoCMData(t *testing.T, c *kubetest.Cluster, ns, name, key string) string {
	t.Helper()
	cm, err := c.Dynamic.Resource(argoConfigMaps).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ConfigMap %s/%s: %v", ns, name, err)
	}
	v, _, _ := unstructured.NestedString(cm.Object, "data", key)
	return v
}

func argoAppHealth(t *testing.T, c *kubetest.Cluster, name string) string {
	t.Helper()
	gvr := schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	u, err := c.Dynamic.Resource(gvr).Namespace(ArgoCDNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Application %s: %v", name, err)
	}
	h, _, _ := unstructured.NestedString(u.Object, "status", "health", "status")
	return h
}
