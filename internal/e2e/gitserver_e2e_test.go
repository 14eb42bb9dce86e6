//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestGitServer: the real git server takes bgrender's pushes with basic auth
// and refuses a wrong password.
func TestGitServer(t *testing.T) {
	s := StartGitServer(t, "bot", "s3cret")
	url := s.NewRepo(t, "env")
	withAuth := strings.Replace(url, "://", "://bot:s3cret@", 1)
	h := gitopstest.Seed(t, withAuth, "main", map[string]string{"a.txt": "a\n"}, "first")
	if got := gitopstest.Head(t, s.Dir("env"), "main"); got != h {
		t.Fatalf("head %s, pushed %s", got, h)
	}
}
