package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestMessagesNameTheNextStep: each of these errors says what to do.
func TestMessagesNameTheNextStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	newEnvOn(t, e.url, "apps/b").run(0, "init", "--name", "b", "--image", "ghcr.io/acme/b")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown app", []string{"--repo", e.url, "--app", "apps/c", "deploy", "--version", "v1"}, 1,
			[]string{"no bgrender.yaml", "the app dirs there are apps/a, apps/b (give one with --app)"}},
		{"global flag after the command", []string{"--app", "apps/a", "deploy", "--repo", e.url, "--version", "v1"}, 2,
			[]string{"--repo is a global flag: put it before the command (bgrender --repo ... deploy ...)"}},
		{"short global flag after the command", []string{"--repo", e.url, "status", "-o", "json"}, 2,
			[]string{"-o is a global flag: put it before the command"}},
		{"two colors in a tag", []string{"--repo", e.url, "--app", "apps/a", "deploy", "--from-tag", "v1-green-blue"}, 2,
			[]string{`the version "v1-green" ends in a color too`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustBG(t, tc.code, tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}

	// A detached HEAD, for a transition.
	checkout := gitopstest.Clone(t, e.url)
	gitopstest.Git(t, checkout, "checkout", "-q", "--detach")
	r := mustBG(t, 1, "--repo", checkout, "--app", "apps/a", "deploy", "--version", "v1")
	if !strings.Contains(r.stderr, "HEAD is detached: name the branch to read and commit to with --branch") {
		t.Errorf("detached HEAD:\n%s", r.stderr)
	}
	mustBG(t, 0, "--repo", checkout, "--branch", "main", "--app", "apps/a", "deploy", "--version", "v1")
}

// TestAuthAndServerErrors: missing credentials name where they go; a push
// the server refuses for its own reasons is not retried as a lost race (it
// used to be, 10 times, then "the branch keeps moving").
func TestAuthAndServerErrors(t *testing.T) {
	t.Parallel()
	s := gitopstest.ServeGit(t, "bot", "s3cret")
	url := s.NewRepo(t, "env")
	setenv(t, "BGRENDER_GIT_USERNAME", "bot")
	setenv(t, "BGRENDER_GIT_TOKEN", "s3cret")
	mustBG(t, 0, "--repo", url, "--app", "apps/a", "init", "--name", "a", "--image", "ghcr.io/acme/a")

	setenv(t, "BGRENDER_GIT_TOKEN", "")
	r := mustBG(t, 1, "--repo", url, "--app", "apps/a", "status")
	for _, w := range []string{"authentication required", "--git-token or $BGRENDER_GIT_TOKEN", "--ssh-key"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("no token: stderr lacks %q:\n%s", w, r.stderr)
		}
	}

	setenv(t, "BGRENDER_GIT_TOKEN", "s3cret")
	gitopstest.Git(t, s.Dir("env"), "config", "receive.maxInputSize", "10")
	head := gitopstest.Head(t, s.Dir("env"), "main")
	r = mustBG(t, 1, "--repo", url, "--app", "apps/a", "deploy", "--version", "v1")
	if !strings.Contains(r.stderr, "the server could not store the pushed objects: unpack") || strings.Contains(r.stderr, "keeps moving") || strings.Contains(r.stderr, "s3cret") {
		t.Errorf("storage failure:\n%s", r.stderr)
	}
	if gitopstest.Head(t, s.Dir("env"), "main") != head {
		t.Error("the remote moved")
	}
}

// TestCheckNotesUncommitted: check in a checkout with uncommitted changes in
// an app dir says they were not checked (it checks what is committed).
func TestCheckNotesUncommitted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	checkout := gitopstest.Clone(t, e.url)
	if err := os.WriteFile(filepath.Join(checkout, "apps/a/base/service.yaml"), []byte("broken: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustBG(t, 0, "--repo", checkout, "check", "--all")
	if !strings.Contains(r.stderr, "note: uncommitted changes under apps/a: apps/a/base/service.yaml; they are not part of what was checked") {
		t.Errorf("check's notes:\n%s", r.stderr)
	}
	r = mustBG(t, 0, "--repo", checkout, "-o", "json", "check", "--all")
	if !strings.Contains(r.stdout, `"notes": [`) || !strings.Contains(r.stdout, `"uncommitted changes under apps/a: apps/a/base/service.yaml;`) {
		t.Errorf("check -o json:\n%s", r.stdout)
	}
}

// TestLocksAndIndexNameTheFix: a lock file another process left in the
// remote is never removed; the transition says which file and how to remove
// it (it used to be deleted once 3 s old, and a fresh one was reported as
// "pull"). An index a killed git left empty is named, with how to rebuild it
// (it used to say "commit or discard local changes").
func TestLocksAndIndexNameTheFix(t *testing.T) {
	t.Parallel()
	dir, url := gitopstest.NewRemote(t, "main")
	e := newEnvOn(t, url, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	lock := filepath.Join(dir, "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(lock, old, old)
	r := e.run(1, "deploy", "--version", "v1")
	if !strings.Contains(r.stderr, lock+" exists") || !strings.Contains(r.stderr, "(rm "+lock+")") || strings.Contains(r.stderr, "keeps moving") {
		t.Errorf("deploy with a lock in the way:\n%s", r.stderr)
	}
	if !fileExists(lock) {
		t.Fatal("the lock was removed")
	}
	os.Remove(lock)
	e.run(0, "deploy", "--version", "v1")

	checkout := gitopstest.Clone(t, url)
	if err := os.WriteFile(filepath.Join(checkout, ".git", "index"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustBG(t, 1, "--repo", checkout, "--app", "apps/a", "promote", "--force", "--reason", "x")
	if !strings.Contains(r.stderr, "the index (.git/index) cannot be read") || !strings.Contains(r.stderr, "`rm .git/index && git reset` rebuilds it") || strings.Contains(r.stderr, "commit or discard") {
		t.Errorf("promote with an empty index:\n%s", r.stderr)
	}
	// As the message says.
	os.Remove(filepath.Join(checkout, ".git", "index"))
	gitopstest.Git(t, checkout, "reset", "-q")
	mustBG(t, 0, "--repo", checkout, "--app", "apps/a", "promote", "--force", "--reason", "x")
}
