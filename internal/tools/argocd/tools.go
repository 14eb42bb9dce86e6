//go:build tools

// Package tools records Argo CD as a dependency of this module so that
// `go build github.com/argoproj/argo-cd/v2/cmd` builds the pinned version.
// The build tag keeps it from ever being compiled.
package tools

import _ "github.com/argoproj/argo-cd/v2/cmd"
