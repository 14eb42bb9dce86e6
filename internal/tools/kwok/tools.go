//go:build tools

// Package tools records kwok as a dependency of this module so that
// `go build sigs.k8s.io/kwok/cmd/kwok` builds the pinned version. The build
// tag keeps it from ever being compiled.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
