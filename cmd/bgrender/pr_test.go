package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/forge/forgetest"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// newRollbackEnv is an app with blue v1 warm as standby behind green v2: a
// rollback is possible. It returns the bare remote's directory too.
func newRollbackEnv(t *testing.T) (*env, string) {
	t.Helper()
	dir, url := gitopstest.NewRemote(t, "main")
	e := &env{t: t, url: url, app: "apps/myapp", branch: "main"}
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	for _, v := range []string{"v1", "v2"} {
		e.run(0, "deploy", "--version", v)
		e.run(0, "promote", "--force", "--reason", "test")
	}
	return e, dir
}

// copyRemote copies a bare remote, for a direct transition to compare with.
func copyRemote(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy.git")
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return gitopstest.FileURL(dst)
}

// gitIn runs git in the bare repository dir (the test's stand-in for the
// forge's merge button, which moves the base branch).
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestRollbackPR opens a rollback pull request on each forge's API: the base
// branch does not move, the branch holds exactly the rollback, the pull
// request says what changes, running it again updates the same pull
// request, check passes on the branch, and merging it gives the state a
// direct rollback gives.
func TestRollbackPR(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"github", "gitlab", "gitea"} {
		t.Run(kind, func(t *testing.T) {
			e, dir := newRollbackEnv(t)
			token := "forge-T0KEN-" + kind + "-s3cret"
			tokenVar := map[string]string{"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "gitea": "BGRENDER_FORGE_TOKEN"}[kind]
			setenv(t, tokenVar, token)
			srv := forgetest.New(t, kind, "acme/env", token)
			direct := copyRemote(t, dir)
			base := e.head()
			blue := trailerMap(e.log()[2])["Bgrender-Release"] // deploy v1 to blue
			if blue == "" {
				t.Fatal("no release id for v1")
			}

			args := []string{"-o", "json", "rollback", "--pr", "--forge", kind, "--forge-url", srv.URL, "--forge-repo", "acme/env"}
			r := e.run(0, args...)
			var out transitionResult
			decodeJSON(t, r.stdout, &out)
			wantBranch := "bgrender/myapp/rollback-" + blue
			if out.PR == nil || out.PR.Branch != wantBranch || out.PR.Base != "main" || !out.PR.Created || out.PR.Number != 1 || out.PR.Forge != kind {
				t.Fatalf("pullRequest = %+v, want a new #1 from %s to main on %s", out.PR, wantBranch, kind)
			}
			if want := srv.WebURL(1); out.PR.URL != want {
				t.Errorf("pull request URL %q, want the forge's %q", out.PR.URL, want)
			}
			if got := e.head(); got != base {
				t.Fatalf("--pr moved main from %s to %s", base, got)
			}
			if got := gitopstest.Head(t, e.url, wantBranch).String(); got != out.Commit || out.Parent != base {
				t.Fatalf("branch %s at %s, parent %s; want commit %s on %s", wantBranch, got, out.Parent, out.Commit, base)
			}
			prs := srv.PRs()
			if len(prs) != 1 {
				t.Fatalf("%d pull requests, want 1", len(prs))
			}
			p := prs[0]
			if p.Head != wantBranch || p.Base != "main" || !strings.Contains(p.Title, "myapp: rollback to v1 in blue") {
				t.Errorf("pull request %+v", p)
			}
			for _, s := range []string{
				"| route | default -> green v2 | default -> blue v1 |",
				"`ghcr.io/acme/myapp:v1` (standby) | `ghcr.io/acme/myapp:v1` (active)",
				"bgrender --repo " + e.url + " --app apps/myapp rollback --pr --forge " + kind + " --forge-url " + srv.URL + " --forge-repo acme/env",
				"bgrender check --all --base main",
				"```diff",
				"-        subset: green",
			} {
				if !strings.Contains(p.Body, s) {
					t.Errorf("pull request body lacks %q:\n%s", s, p.Body)
				}
			}
			branchLog := gitopstest.Log(t, e.url, wantBranch)
			for what, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "body": p.Body, "title": p.Title, "commit": branchLog[0].Message} {
				if strings.Contains(s, token) {
					t.Errorf("the forge token is in the %s", what)
				}
			}

			// Again: the same branch and pull request, updated, not duplicated.
			r = e.run(0, args...)
			decodeJSON(t, r.stdout, &out)
			if out.PR == nil || out.PR.Created || out.PR.Number != 1 {
				t.Fatalf("second run: pullRequest = %+v, want #1 updated", out.PR)
			}
			if prs := srv.PRs(); len(prs) != 1 || prs[0].Updates != 1 {
				t.Fatalf("after the second run: %+v, want one pull request updated once", prs)
			}
			if got := gitopstest.Head(t, e.url, wantBranch).String(); got != out.Commit || out.Parent != base {
				t.Fatalf("second run: branch at %s (parent %s), want %s on %s", got, out.Parent, out.Commit, base)
			}

			// The pull request check passes on the branch.
			mustBG(t, 0, "--repo", e.url, "--branch", wantBranch, "check", "--all", "--base", "main")

			// Merge it, and compare with a direct rollback of the same state.
			gitIn(t, strings.TrimPrefix(e.url, "file://"), "update-ref", "refs/heads/main", out.Commit, base)
			mustBG(t, 0, "--repo", direct, "--app", "apps/myapp", "rollback")
			got := gitopstest.TreeHash(t, e.url, "main", "apps/myapp")
			want := gitopstest.TreeHash(t, direct, "main", "apps/myapp")
			if got != want {
				t.Fatalf("merged pull request: apps/myapp is tree %s, a direct rollback gives %s\nmerged: %v\ndirect: %v", got, want,
					gitopstest.Files(t, e.url, "main", "apps/myapp"), gitopstest.Files(t, direct, "main", "apps/myapp"))
			}
			mustBG(t, 0, "--repo", e.url, "check", "--all")
		})
	}
}

// TestPRCheckWhenBaseMoves: after a rollback pull request is opened, the
// base branch changes. check on the branch fails, saying whether the
// rollback is still possible (render it again) or no longer valid.
func TestPRCheckWhenBaseMoves(t *testing.T) {
	t.Parallel()
	const token = "forge-T0KEN-moves"
	setenv(t, "GITHUB_TOKEN", token)
	open := func(t *testing.T) (*env, string) {
		e, _ := newRollbackEnv(t)
		srv := forgetest.New(t, "github", "acme/env", token)
		r := e.run(0, "-o", "json", "rollback", "--pr", "--forge", "github", "--forge-url", srv.URL, "--forge-repo", "acme/env")
		var out transitionResult
		decodeJSON(t, r.stdout, &out)
		return e, out.PR.Branch
	}
	check := func(e *env, branch string, want int) string {
		r := mustBG(e.t, want, "--repo", e.url, "--branch", branch, "check", "--all", "--base", "main")
		return r.stdout
	}

	t.Run("another app changed", func(t *testing.T) {
		e, branch := open(t)
		other := &env{t: t, url: e.url, app: "apps/other", branch: "main"}
		other.run(0, "init", "--name", "other", "--image", "ghcr.io/acme/other")
		check(e, branch, 0)
	})
	t.Run("no longer valid", func(t *testing.T) {
		e, branch := open(t)
		e.run(0, "decommission") // blue v1, the rollback's target, is gone
		out := check(e, branch, 1)
		for _, s := range []string{"main changed apps/myapp after the rollback on this branch", "no longer valid", "decommission v1 in blue", "close this pull request"} {
			if !strings.Contains(out, s) {
				t.Errorf("check output lacks %q:\n%s", s, out)
			}
		}
	})
	t.Run("still possible but stale", func(t *testing.T) {
		e, branch := open(t)
		cfg := gitopstest.Files(t, e.url, "main", "apps/myapp")["bgrender.yaml"]
		gitopstest.Seed(t, e.url, "main", map[string]string{"apps/myapp/bgrender.yaml": strings.Replace(cfg, "port: 3000", "port: 9090", 1)}, "myapp: new port")
		out := check(e, branch, 1)
		for _, s := range []string{"main changed apps/myapp after the rollback", `"myapp: new port"`, "merging would not give what bgrender renders now", "--pr` again"} {
			if !strings.Contains(out, s) {
				t.Errorf("check output lacks %q:\n%s", s, out)
			}
		}
		if strings.Contains(out, "no longer valid") {
			t.Errorf("a still-possible rollback reported as invalid:\n%s", out)
		}
	})
}

// TestPRBadInputChangesNothing: --pr problems are found before anything is
// pushed, and name what to fix.
func TestPRBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	e, _ := newRollbackEnv(t)
	srv := forgetest.New(t, "gitea", "acme/env", "tok")
	for _, k := range []string{"BGRENDER_FORGE_TOKEN", "GITHUB_TOKEN", "GITLAB_TOKEN", "GITEA_TOKEN"} {
		setenv(t, k, "")
	}
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"rollback", "--pr"}, "--forge: cannot tell the forge from the remote"},
		{[]string{"rollback", "--pr", "--forge", "bitbucket"}, "--forge \"bitbucket\""},
		{[]string{"rollback", "--pr", "--forge", "gitea", "--forge-url", srv.URL, "--forge-repo", "acme/env"}, "GITEA_TOKEN"},
	}
	before := e.head()
	for _, c := range cases {
		r := e.run(2, c.args...)
		if !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: stderr %q does not say %q", c.args, r.stderr, c.msg)
		}
	}
	if e.head() != before {
		t.Fatal("main moved")
	}
	if branches := gitIn(t, strings.TrimPrefix(e.url, "file://"), "for-each-ref", "--format=%(refname)", "refs/heads/bgrender"); branches != "" {
		t.Fatalf("a refused --pr pushed %s", branches)
	}
	if len(srv.PRs()) != 0 {
		t.Fatal("a refused --pr opened a pull request")
	}
	// A refused transition is refused with --pr too (exit 3), before any push.
	setenv(t, "GITEA_TOKEN", "tok")
	r := e.run(3, "abort", "--pr", "--forge", "gitea", "--forge-url", srv.URL, "--forge-repo", "acme/env")
	if !strings.Contains(r.stderr, "nothing to abort") {
		t.Errorf("abort --pr: %s", r.stderr)
	}
	if len(srv.PRs()) != 0 {
		t.Fatal("a refused transition opened a pull request")
	}
}

// TestPromotePRShowsEvidence: deploy, verify and promote each as a pull
// request. deploy --pr is one commit with the test route (a merge lands at
// once, so there is nothing to wait for between route and subset); verify
// --pr proposes the evidence; the promotion's pull request shows it.
func TestPromotePRShowsEvidence(t *testing.T) {
	t.Parallel()
	r := newReleaseEnv(t)
	setenv(t, "GITLAB_TOKEN", "gl-tok")
	srv := forgetest.New(t, "gitlab", "acme/env", "gl-tok")
	pr := []string{"--pr", "--forge", "gitlab", "--forge-url", srv.URL, "--forge-repo", "acme/env"}
	r.release(0, "--version", "v1")

	base := r.head()
	res := r.run(0, append([]string{"-o", "json", "deploy", "--version", "v2"}, pr...)...)
	var out transitionResult
	decodeJSON(t, res.stdout, &out)
	if r.head() != base || out.PR == nil || !strings.HasPrefix(out.PR.Branch, "bgrender/myapp/deploy-r-") {
		t.Fatalf("deploy --pr: base moved or no pull request: %+v", out.PR)
	}
	if !strings.Contains(out.Route, "cookie test=true -> green v2") {
		t.Fatalf("deploy --pr without the test route in its one commit: %s", out.Route)
	}
	// Merge it, as a reviewer would; then verify and propose the promotion.
	gitIn(t, strings.TrimPrefix(r.url, "file://"), "update-ref", "refs/heads/main", out.Commit, base)
	// The evidence, too, lands by pull request on a protected branch.
	base = r.head()
	res = r.run(0, append([]string{"-o", "json", "verify", "--gateway-url", r.argo.gateway.URL, "--poll-interval", "20ms"}, pr...)...)
	decodeJSON(t, res.stdout, &out)
	if r.head() != base || out.PR == nil || !strings.HasPrefix(out.PR.Branch, "bgrender/myapp/verify-r-") {
		t.Fatalf("verify --pr: base moved or no pull request: %+v", out.PR)
	}
	r.run(3, "promote") // no evidence on main until the verify pull request merges
	gitIn(t, strings.TrimPrefix(r.url, "file://"), "update-ref", "refs/heads/main", out.Commit, base)
	res = r.run(0, append([]string{"-o", "json", "promote"}, pr...)...)
	decodeJSON(t, res.stdout, &out)
	var body string
	for _, p := range srv.PRs() {
		if p.Head == out.PR.Branch {
			body = p.Body
		}
	}
	for _, s := range []string{"### Verification", "Evidence: release " + out.Active.Release, "Checks passed: ready, home", "| route | cookie test=true -> green v2; default -> blue v1 | default -> green v2 |"} {
		if !strings.Contains(body, s) {
			t.Errorf("promote pull request body lacks %q:\n%s", s, body)
		}
	}
}

// TestPRForgeFailure: when the forge refuses, the branch is pushed but the
// base is not moved, the error says what happened and what to do, exit 1,
// and the token appears nowhere.
func TestPRForgeFailure(t *testing.T) {
	t.Parallel()
	e, _ := newRollbackEnv(t)
	const token = "wrong-T0KEN-value"
	setenv(t, "GITEA_TOKEN", token)
	srv := forgetest.New(t, "gitea", "acme/env", "right-token")
	base := e.head()
	r := e.run(1, "rollback", "--pr", "--forge", "gitea", "--forge-url", srv.URL, "--forge-repo", "acme/env")
	for _, s := range []string{"is pushed", "opening the pull request failed", "401", "run the command again"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	if strings.Contains(r.stderr+r.stdout, token) {
		t.Error("the token is in the output")
	}
	if e.head() != base {
		t.Fatal("the base branch moved")
	}
	// With the right token, running it again opens the pull request for the same branch.
	setenv(t, "GITEA_TOKEN", "right-token")
	e.run(0, "rollback", "--pr", "--forge", "gitea", "--forge-url", srv.URL, "--forge-repo", "acme/env")
	if prs := srv.PRs(); len(prs) != 1 || !strings.HasPrefix(prs[0].Head, "bgrender/myapp/rollback-") {
		t.Fatalf("pull requests: %+v", prs)
	}
}

// TestReproduceCommandHidesCredentials: the command a pull request body
// shows never carries the credentials of a --repo URL, and quotes what a
// shell would split.
func TestReproduceCommandHidesCredentials(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://x-access-token:s3cr3t@github.com/acme/env.git": "https://github.com/acme/env.git",
		"git@github.com:acme/env.git":                           "git@github.com:acme/env.git",
	} {
		if got := gitops.WithoutCredentials(in); got != want {
			t.Errorf("gitops.WithoutCredentials(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"apps/myapp": "apps/myapp",
		"a b":        "'a b'",
		"it's":       `'it'\''s'`,
		"":           "''",
		"$(rm -rf)":  "'$(rm -rf)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
