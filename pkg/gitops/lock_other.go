//go:build !unix

package gitops

import "os"

// Without flock, no lock is ever proven dead: every lock left behind is
// reported.
func flock(*os.File) (bool, error) { return false, nil }
func unflock(*os.File)             {}
