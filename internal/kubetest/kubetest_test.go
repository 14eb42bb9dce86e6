package kubetest_test

import (
	"context"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/bgrender/bgrender/internal/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

var (
	kustomizations = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	applications   = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
)

// TestKubeCluster checks the shared cluster: the kubeconfig file works on its
// own (TLS verified, token), the default CRDs are served, Apply and SetStatus
// work with and without a status subresource, and a wrong token is refused.
func TestKubeCluster(t *testing.T) {
	t.Parallel()
	c := kubetest.Shared(t)
	ctx := context.Background()

	t.Run("kubeconfig", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Insecure || len(cfg.CAData) == 0 && cfg.CAFile == "" {
			t.Fatalf("kubeconfig does not verify TLS: %+v", cfg.TLSClientConfig)
		}
		dc, err := dynamic.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dc.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Fatalf("get namespace default through the kubeconfig: %v", err)
		}
	})

	t.Run("version", func(t *testing.T) {
		dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
		if err != nil {
			t.Fatal(err)
		}
		v, err := dc.ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("server version %s (%s)", v.GitVersion, v.GoVersion)
		if os.Getenv(kubetest.EnvAPIServer) == "" && v.GitVersion != kubetest.KubernetesVersion {
			t.Errorf("server version %s, want %s", v.GitVersion, kubetest.KubernetesVersion)
		}
	})

	t.Run("wrong token refused", func(t *testing.T) {
		cfg := rest.CopyConfig(c.Config)
		cfg.BearerToken = "not-" + c.Token
		dc := dynamic.NewForConfigOrDie(cfg)
		_, err := dc.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(ctx, "default", metav1.GetOptions{})
		if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
			t.Fatalf("got %v, want Unauthorized", err)
		}
	})

	t.Run("default CRDs served", func(t *testing.T) {
		crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
		for _, name := range kubetest.DefaultCRDs {
			if _, err := c.Dynamic.Resource(crds).Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("CRD %s: %v", name, err)
			}
		}
	})

	t.Run("status subresource", func(t *testing.T) {
		ns := c.Namespace(t)
		objs := c.Apply(t, `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: env, namespace: `+ns+`}
spec: {url: "https://git.example/env.git", interval: 1m, ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: `+ns+`}
spec:
  interval: 5m
  path: ./app
  prune: true
  sourceRef: {kind: GitRepository, name: env}
`)
		if len(objs) != 2 || objs[1].GetGeneration() != 1 {
			t.Fatalf("applied %d objects, generation %d", len(objs), objs[len(objs)-1].GetGeneration())
		}
		got := c.SetStatus(t, kustomizations, ns, "app", map[string]any{
			"observedGeneration":  1,
			"lastAppliedRevision": "main@sha1:0123456789abcdef0123456789abcdef01234567",
		})
		rev, _, _ := unstructuredString(got.Object, "status", "lastAppliedRevision")
		if rev != "main@sha1:0123456789abcdef0123456789abcdef01234567" || got.GetGeneration() != 1 {
			t.Fatalf("status not written: %v (generation %d)", got.Object["status"], got.GetGeneration())
		}
		// The schema is the real one: a field it does not know is pruned.
		got = c.SetStatus(t, kustomizations, ns, "app", map[string]any{"observedGeneration": 1, "bogus": "x"})
		if st := got.Object["status"].(map[string]any); st["bogus"] != nil || st["lastAppliedRevision"] != nil {
			t.Fatalf("status = %v, want only observedGeneration", st)
		}
	})

	t.Run("status without subresource", func(t *testing.T) {
		ns := c.Namespace(t)
		c.Apply(t, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: app, namespace: `+ns+`}
spec:
  project: default
  source: {repoURL: "https://git.example/env.git", path: app, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: app}
`)
		got := c.SetStatus(t, applications, ns, "app", map[string]any{
			"sync":   map[string]any{"status": "Synced", "revision": "0123456789abcdef0123456789abcdef01234567"},
			"health": map[string]any{"status": "Healthy"},
		})
		st, _ := got.Object["status"].(map[string]any)
		if sync, _ := st["sync"].(map[string]any); sync["status"] != "Synced" {
			t.Fatalf("status not written: %v", got.Object["status"])
		}
	})

	t.Run("invalid object refused", func(t *testing.T) {
		ns := c.Namespace(t)
		_, err := c.ApplyYAML(ctx, []byte(`
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: bad, namespace: `+ns+`}
spec: {interval: 5m, prune: true, sourceRef: {kind: NoSuchKind, name: env}}
`))
		if err == nil || !strings.Contains(err.Error(), "NoSuchKind") {
			t.Fatalf("got %v, want the CRD's schema to refuse sourceRef.kind NoSuchKind", err)
		}
	})
}

// TestKubeStartStop starts a second, private cluster with only one CRD and
// checks that Stop ends it.
func TestKubeStartStop(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t, kubetest.WithCRDs("virtualservices.networking.istio.io"))
	ctx := context.Background()
	vs := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	ns := c.Namespace(t)
	c.Apply(t, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app, namespace: `+ns+`}
spec:
  hosts: [app]
  http:
  - route:
    - {destination: {host: app-blue}, weight: 90}
    - {destination: {host: app-green}, weight: 10}
`)
	if _, err := c.Dynamic.Resource(vs).Namespace(ns).Get(ctx, "app", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dynamic.Resource(kustomizations).Namespace(ns).List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("Kustomizations are served although only the VirtualService CRD was asked for")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dynamic.Resource(vs).Namespace(ns).Get(ctx, "app", metav1.GetOptions{}); err == nil {
		t.Fatal("the API server still answers after Stop")
	}
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[f]
	}
	s, ok := cur.(string)
	return s, ok, nil
}
