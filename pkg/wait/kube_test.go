package wait_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/wait"
)

// The tests of the Kubernetes-API sources (TestKube*, TestFlux*,
// TestArgoKube*) share one real API server, started by the first of them
// (kubetest.Shared) and stopped here. Each works in its own namespace.
func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

var (
	kustomizationsGVR  = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	gitRepositoriesGVR = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	applicationsGVR    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
)

// writeKubeconfig writes a kubeconfig with the cluster's server and CA, a
// context "good" with the cluster's token and a context "bad" with token,
// current context current.
func writeKubeconfig(t *testing.T, c *kubetest.Cluster, badToken, current string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	kc.AuthInfos["good"] = &clientcmdapi.AuthInfo{Token: c.Token}
	kc.AuthInfos["bad"] = &clientcmdapi.AuthInfo{Token: badToken}
	kc.Contexts["good"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "good"}
	kc.Contexts["bad"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "bad"}
	kc.CurrentContext = current
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKubeClient(t *testing.T) {
	c := kubetest.Shared(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	const badToken = "bad-token-7f3a9c1e5d"
	good := writeKubeconfig(t, c, badToken, "good")
	bad := writeKubeconfig(t, c, badToken, "bad")

	list := func(t *testing.T, kubeconfig, context string) error {
		t.Helper()
		client, err := wait.KubeClient(kubeconfig, context)
		if err != nil {
			return err
		}
		_, err = client.Resource(kustomizationsGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
		return err
	}

	t.Run("explicit path, current context", func(t *testing.T) {
		t.Setenv("KUBECONFIG", bad) // the explicit path wins
		if err := list(t, good, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("explicit path, named context", func(t *testing.T) {
		if err := list(t, bad, "good"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("KUBECONFIG", func(t *testing.T) {
		t.Setenv("KUBECONFIG", good)
		if err := list(t, "", ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refused token", func(t *testing.T) {
		src := &wait.FluxKustomization{Namespace: ns, Kustomization: "app"}
		var err error
		if src.Client, err = wait.KubeClient(bad, ""); err != nil {
			t.Fatal(err)
		}
		_, err = src.Observe(ctx, "05c5a5c", nil, time.Time{})
		if !errors.Is(err, wait.ErrUnauthorized) || !wait.IsPermanent(err) {
			t.Fatalf("got %v, want a permanent ErrUnauthorized", err)
		}
		if strings.Contains(err.Error(), badToken) {
			t.Fatalf("the error shows the token: %v", err)
		}
	})
	t.Run("errors hide tokens", func(t *testing.T) {
		broken := filepath.Join(t.TempDir(), "broken")
		// A token in a field of the wrong type makes the decoder complain
		// about that field.
		if err := os.WriteFile(broken, []byte(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: `+badToken+`, username: [`+badToken+`]}}]
contexts: [{name: c, context: {cluster: test, user: u}}]
current-context: c
`), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, path, context string }{
			{"unknown context", bad, "nope"},
			{"missing file", filepath.Join(t.TempDir(), "missing"), ""},
			{"malformed file", broken, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := wait.KubeClient(tc.path, tc.context)
				if err == nil {
					t.Fatal("no error")
				}
				if strings.Contains(err.Error(), badToken) || strings.Contains(err.Error(), c.Token) {
					t.Fatalf("the error shows a token: %v", err)
				}
				t.Log(err)
			})
		}
	})
}
