// Command prepare builds and caches everything the end-to-end tests run —
// kube-apiserver and the CRDs (internal/kubetest), Flux's controllers, Argo
// CD and the kustomize CLI — and checks the Debian packages they need, so
// that CI pays for the builds before the tests start their clocks:
//
//	apt-get install -y etcd-server redis-server git
//	go run ./internal/e2e/cmd/prepare
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/bgrender/bgrender/internal/e2e"
	"github.com/bgrender/bgrender/internal/kubetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
	for _, step := range []struct {
		name string
		run  func() error
	}{
		{"Kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler, kwok) and CRDs", func() error { return kubetest.Prepare(ctx, os.Stdout) }},
		{"Flux", func() error { return e2e.PrepareFlux(ctx, logf) }},
		{"Argo CD", func() error { return e2e.PrepareArgoCD(ctx, logf) }},
	} {
		if err := step.run(); err != nil {
			fmt.Fprintf(os.Stderr, "prepare %s: %v\n", step.name, err)
			os.Exit(1)
		}
	}
}
