package e2e

import (
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// GitServer serves bare repositories over smart HTTP with the real git
// (git http-backend as CGI), behind basic auth, on loopback.
type GitServer = gitopstest.GitServer

// StartGitServer starts a git HTTP server for the test. Pushing is enabled.
func StartGitServer(t testing.TB, user, pass string) *GitServer {
	return gitopstest.ServeGit(t, user, pass)
}
