// Command bgrender runs blue-green releases on Kubernetes and Istio the GitOps
// way: every transition is one commit to the environment repo, rendered as
// kustomize overlays, for Argo CD or Flux to apply.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
