package main

import (
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestHTTPRemoteWithToken runs transitions against a smart-HTTP git server
// with basic auth (the token from the environment, as CI passes it) and
// checks that the token appears in no output, error or commit.
func TestHTTPRemoteWithToken(t *testing.T) {
	t.Parallel()
	const token = "s3cr3t-T0KEN-4d9f"
	dir, _ := gitopstest.NewRemote(t, "main")
	url := gitopstest.ServeHTTP(t, dir, "ci-bot", token)
	setenv(t, "BGRENDER_GIT_USERNAME", "ci-bot")
	setenv(t, "BGRENDER_GIT_TOKEN", token)

	var printed []string
	runHTTP := func(want int, args ...string) result {
		t.Helper()
		r := mustBG(t, want, append([]string{"--repo", url, "--app", "apps/myapp"}, args...)...)
		printed = append(printed, r.stdout, r.stderr)
		return r
	}
	runHTTP(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	runHTTP(0, "deploy", "--version", "v1")
	runHTTP(0, "-o", "json", "status")
	runHTTP(3, "deploy", "--version", "v2")
	log := gitopstest.Log(t, dir, "main")
	if len(log) != 2 {
		t.Fatalf("%d commits on the HTTP remote, want 2", len(log))
	}

	// Failures with the token around: a wrong token, and the token in the URL.
	setenv(t, "BGRENDER_GIT_TOKEN", token+"-wrong")
	r := runHTTP(1, "status")
	if !strings.Contains(r.stderr, "open repo") {
		t.Errorf("auth failure does not say what failed: %s", r.stderr)
	}
	setenv(t, "BGRENDER_GIT_TOKEN", "")
	withCreds := strings.Replace(url, "://", "://ci-bot:"+token+"@", 1)
	wrongInURL := strings.Replace(url, "://", "://ci-bot:"+token+"x@", 1)
	r = mustBG(t, 1, "--repo", wrongInURL, "--app", "apps/myapp", "status")
	printed = append(printed, r.stdout, r.stderr)
	r = mustBG(t, 0, "--repo", withCreds, "--app", "apps/myapp", "status")
	printed = append(printed, r.stdout, r.stderr)

	for _, out := range printed {
		if strings.Contains(out, token) {
			t.Errorf("the token was printed:\n%s", out)
		}
	}
	for _, c := range gitopstest.Log(t, dir, "main") {
		if strings.Contains(c.Message, token) {
			t.Errorf("the token is in commit %s", c.Hash)
		}
		for p, content := range gitopstest.Files(t, dir, c.Hash.String(), ".") {
			if strings.Contains(content, token) {
				t.Errorf("the token is in %s at %s", p, c.Hash)
			}
		}
	}
}

// TestSSHRemoteWithKey runs a transition against an SSH git server that
// accepts only our key (passphrase-protected), given as --ssh-key with the
// passphrase from the environment, and checks the passphrase is never printed.
func TestSSHRemoteWithKey(t *testing.T) {
	t.Parallel()
	const passphrase = "pass-PHRASE-8c1e"
	dir, _ := gitopstest.NewRemote(t, "main")
	key, pub := gitopstest.NewSSHKey(t, passphrase)
	url, knownHosts := gitopstest.ServeSSH(t, dir, pub)
	setenv(t, "SSH_KNOWN_HOSTS", knownHosts)
	setenv(t, "BGRENDER_SSH_KEY_PASSPHRASE", passphrase)
	args := []string{"--repo", url, "--app", "apps/myapp", "--ssh-key", key}
	r := mustBG(t, 0, append(args, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")...)
	log := gitopstest.Log(t, dir, "main")
	if len(log) != 1 || !strings.Contains(r.stdout, log[0].Hash.String()[:7]) {
		t.Fatalf("init over SSH did not land: %d commits\n%s", len(log), r.stdout)
	}
	setenv(t, "BGRENDER_SSH_KEY_PASSPHRASE", passphrase+"-wrong")
	r = mustBG(t, 1, append(args, "deploy", "--version", "v1")...)
	if !strings.Contains(r.stderr, "load SSH key") || strings.Contains(r.stderr+r.stdout, passphrase) {
		t.Fatalf("wrong passphrase: %s", r.stderr)
	}
	if got := gitopstest.Head(t, dir, "main"); got != log[0].Hash {
		t.Fatal("a failed SSH transition moved the remote")
	}
}
