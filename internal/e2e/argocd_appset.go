package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/childproc"
)

// StartApplicationSetController starts Argo CD's ApplicationSet controller
// next to a (the same multi-call binary, run as
// argocd-applicationset-controller), watching ApplicationSets in namespace
// argocd, with the repo-server a started for its git generators, and waits
// until its controller manager serves metrics. It is stopped with the rest of a.
func (a *ArgoCD) StartApplicationSetController(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	ports, err := argoFreePorts(3)
	if err != nil {
		t.Fatalf("argocd: %v", err)
	}
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", ports[i]) }
	const name = "argocd-applicationset-controller"
	p, err := childproc.Start(name, filepath.Join(a.bin, name), []string{
		"--kubeconfig", a.cluster.Kubeconfig, "--namespace", ArgoCDNamespace,
		"--argocd-repo-server", a.repoAddr, "--repo-server-plaintext",
		"--metrics-addr", addr(0), "--probe-addr", addr(1), "--webhook-addr", addr(2),
		"--enable-leader-election=false",
	}, a.env, filepath.Join(a.dir, name+".log"))
	if err != nil {
		t.Fatalf("argocd: %v", err)
	}
	a.procs = append(a.procs, p)
	begin := time.Now()
	// It registers no health checks (its probe server answers 404): its
	// metrics server answers once the controller manager has started.
	if err := waitArgoHTTP(ctx, p, "http://"+addr(0)+"/metrics", 60*time.Second); err != nil {
		t.Fatalf("argocd: %v", err)
	}
	t.Logf("argocd: %s up in %s", name, time.Since(begin).Round(10*time.Millisecond))
}
