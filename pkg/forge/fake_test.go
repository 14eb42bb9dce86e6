package forge

import (
	"testing"

	"github.com/bgrender/bgrender/pkg/forge/forgetest"
)

// testToken is distinctive so that a test can assert it never appears in an
// error.
const testToken = "tok_Zq9SECRET7xw3_bgrender"

// fakePR is a pull request held by the stand-in.
type fakePR = forgetest.PR

// fakeForge is the forge stand-in of package forgetest, with the Config
// that reaches it.
type fakeForge struct {
	*forgetest.Server
	kind Kind
}

func newFake(t *testing.T, kind Kind, prefix string) *fakeForge {
	t.Helper()
	repo := "acme/env"
	if kind == GitLab {
		repo = "group/sub/env"
	}
	s := forgetest.NewAt(t, string(kind), prefix, repo, testToken)
	s.Branches = map[string]bool{"main": true, "bgrender/shop/rollback-v2": true, "other": true}
	return &fakeForge{Server: s, kind: kind}
}

// config is a valid Config for this fake.
func (f *fakeForge) config() Config {
	return Config{Kind: f.kind, BaseURL: f.URL, Repo: f.Repo, Token: f.Token}
}

func (f *fakeForge) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(f.config())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
