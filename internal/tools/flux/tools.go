//go:build tools

// Package tools records Flux's source-controller and kustomize-controller as
// dependencies of this module so that `go build github.com/fluxcd/source-controller`
// and `go build github.com/fluxcd/kustomize-controller` build the pinned
// versions. The build tag keeps it from ever being compiled.
package tools

import (
	_ "github.com/fluxcd/kustomize-controller"
	_ "github.com/fluxcd/source-controller"
)
