package main

import (
	"strings"
	"testing"
)

// TestCheckJobs: --jobs bounds the app dirs checked at once; one job
// reports what one per core does, and a negative count is a usage error.
func TestCheckJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a", "--host", "a.example.com")
	(&env{t: t, url: e.url, app: "apps/b", branch: "main"}).run(0, "init", "--name", "b", "--image", "ghcr.io/acme/b", "--host", "b.example.com")
	one := e.run(0, "check", "--all", "--jobs", "1")
	all := e.run(0, "check", "--all")
	if one.stdout != all.stdout || !strings.Contains(one.stdout, "ok    apps/a\nok    apps/b\n") {
		t.Fatalf("--jobs 1:\n%s\none per core:\n%s", one.stdout, all.stdout)
	}
	if r := e.run(2, "check", "--all", "--jobs", "-1"); !strings.Contains(r.stderr, "--jobs -1: must be 1 or more") {
		t.Fatalf("--jobs -1: %s", r.stderr)
	}
}
