// Package gitopstest has helpers for tests that need real git repositories:
// empty bare remotes in temporary directories (NewRemote), commits pushed to
// them (Seed), local checkouts (Clone), reading branches back (Log, Files,
// Head) and a smart-HTTP server with basic auth for a bare repository
// (ServeHTTP).
//
// Everything goes through go-git; the git binary is never run. Helpers take
// a testing.TB, fail the test on error and clean up with t.TempDir and
// t.Cleanup.
package gitopstest
