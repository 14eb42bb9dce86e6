//go:build tools

// Package tools records kube-apiserver as a dependency of this module so that
// `go build k8s.io/kubernetes/cmd/kube-apiserver` builds the pinned version.
// The build tag keeps it from ever being compiled.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
