//go:build tools

// Package tools records kube-apiserver, kube-controller-manager and
// kube-scheduler as dependencies of this module so that `go build
// k8s.io/kubernetes/cmd/<name>` builds the pinned version of each. The
// build tag keeps it from ever being compiled.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
