// Command prepare builds and caches what internal/kubetest needs (the
// kube-apiserver binary, the CRD files) and checks that etcd is installed, so
// that CI pays for the build before the tests start their clocks:
//
//	apt-get install -y etcd-server
//	go run ./internal/kubetest/cmd/prepare
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/bgrender/bgrender/internal/kubetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := kubetest.Prepare(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "prepare:", err)
		os.Exit(1)
	}
}
