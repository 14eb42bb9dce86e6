package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	head := e.head()
	r := e.run(0, "--dry-run", "deploy", "--version", "v1")
	for _, want := range []string{"+++ b/apps/myapp/overlays/blue/kustomization.yaml", "--- a/apps/myapp/bgrender-state.yaml", "ghcr.io/acme/myapp:v1", "nothing written"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, r.stdout)
		}
	}
	if e.head() != head {
		t.Fatal("--dry-run moved the remote")
	}
	var out transitionResult
	decodeJSON(t, e.run(0, "--dry-run", "-o", "json", "deploy", "--version", "v1").stdout, &out)
	if !out.DryRun || out.Commit != "" || !strings.Contains(out.Diff, "overlays/blue/snapshot/workload-patch.yaml") {
		t.Fatalf("json dry run: %+v", out)
	}
}

func TestStatusJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	var empty map[string]any
	decodeJSON(t, e.run(0, "-o", "json", "status").stdout, &empty)
	for _, k := range []string{"app", "phase", "active", "test", "standby", "commit"} {
		if _, ok := empty[k]; !ok {
			t.Errorf("status json lacks key %q: %v", k, empty)
		}
	}
	if empty["phase"] != "empty" || empty["active"] != nil || empty["commit"] != e.head() {
		t.Errorf("empty status: %v", empty)
	}
	e.run(0, "deploy", "--version", "v1")
	e.run(0, "promote", "--force", "--reason", "ok")
	e.run(0, "deploy", "--version", "v2")
	deployCommit := e.head()
	// Another app's commit on the same branch must not change our "commit".
	other := newEnvOn(t, e.url, "apps/other")
	other.run(0, "init", "--name", "other", "--image", "ghcr.io/acme/other")
	var st statusOut
	decodeJSON(t, e.run(0, "-o", "json", "status").stdout, &st)
	if st.Phase != "testing" || st.Active == nil || st.Active.Color != "blue" || st.Active.Version != "v1" ||
		st.Test == nil || st.Test.Color != "green" || st.Test.Version != "v2" || st.Test.Release == "" || st.Standby != nil {
		t.Fatalf("status: %+v", st)
	}
	if st.Commit != deployCommit {
		t.Fatalf("status commit %s, want the app's last transition %s (not the other app's)", st.Commit, deployCommit)
	}
	text := e.run(0, "status").stdout
	for _, want := range []string{"phase:   testing", "active:  blue v1", "test:    green v2", "standby: -", deployCommit[:7]} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
}

func newEnvOn(t *testing.T, url, app string) *env {
	return &env{t: t, url: url, app: app, branch: "main"}
}

// TestAppsShareARepo checks that transitions of one app never touch another's dir.
func TestAppsShareARepo(t *testing.T) {
	t.Parallel()
	a := newEnv(t, "apps/a")
	b := newEnvOn(t, a.url, "apps/b")
	a.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a", "--host", "a.example.com")
	b.run(0, "init", "--name", "b", "--image", "ghcr.io/acme/b", "--namespace", "team-b", "--host", "b.example.com")
	bFiles := gitopstest.Files(t, a.url, "main", "apps/b")
	a.run(0, "deploy", "--version", "v1")
	a.run(0, "promote", "--force", "--reason", "ok")
	after := gitopstest.Files(t, a.url, "main", "apps/b")
	if len(after) != len(bFiles) {
		t.Fatalf("apps/b changed: %d files, was %d", len(after), len(bFiles))
	}
	for p, s := range bFiles {
		if after[p] != s {
			t.Errorf("apps/b/%s changed by a transition of apps/a", p)
		}
	}
	r := mustBG(t, 0, "--repo", a.url, "check", "--all")
	if !strings.Contains(r.stdout, "ok    apps/a") || !strings.Contains(r.stdout, "ok    apps/b") {
		t.Fatalf("check --all:\n%s", r.stdout)
	}
}

// TestLocalCheckout runs transitions in a local clone: the commit is pushed,
// the worktree is updated and clean; --no-push commits locally only.
func TestLocalCheckout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	dir := gitopstest.Clone(t, e.url)
	local := func(want int, args ...string) result {
		t.Helper()
		return mustBG(t, want, append([]string{"--repo", dir, "--app", "apps/myapp"}, args...)...)
	}
	local(0, "deploy", "--version", "v1")
	if got, want := gitopstest.Head(t, dir, "main"), gitopstest.Head(t, e.url, "main"); got != want {
		t.Fatalf("local head %s, remote head %s: not pushed", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "apps/myapp/overlays/blue/kustomization.yaml")); err != nil {
		t.Fatalf("worktree not updated: %v", err)
	}
	assertClean(t, dir)
	// A refusal in a local checkout changes neither the checkout nor the remote.
	before, remoteBefore := gitopstest.Head(t, dir, "main"), e.head()
	local(3, "deploy", "--version", "v2")
	if gitopstest.Head(t, dir, "main") != before || e.head() != remoteBefore {
		t.Fatal("a refused transition moved the local branch or the remote")
	}
	assertClean(t, dir)
	remoteHead := e.head()
	local(0, "--no-push", "promote", "--force", "--reason", "ok")
	if e.head() != remoteHead {
		t.Fatal("--no-push pushed")
	}
	assertClean(t, dir)
	// A dirty app dir is refused before anything is written.
	if err := os.WriteFile(filepath.Join(dir, "apps/myapp/overlays/blue/kustomization.yaml"), []byte("# hand edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	localHead := gitopstest.Head(t, dir, "main")
	r := local(1, "deploy", "--version", "v2")
	if !strings.Contains(r.stderr, "overlays/blue/kustomization.yaml") {
		t.Errorf("dirty refusal does not name the file: %s", r.stderr)
	}
	if gitopstest.Head(t, dir, "main") != localHead {
		t.Fatal("a refused transition moved the local branch")
	}
	// render repairs the drift from the state.
	out := local(0, "render")
	if !strings.Contains(out.stdout, "-# hand edit") {
		t.Errorf("render output does not show the repaired drift:\n%s", out.stdout)
	}
	assertClean(t, dir)
}

func assertClean(t *testing.T, dir string) {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	st, err := wt.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsClean() {
		t.Fatalf("worktree not clean:\n%s", st)
	}
}

// TestCheckFindsDrift commits hand-edited overlays and a broken base and
// expects check to report them with exit 1.
func TestCheckFindsDrift(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	e.run(0, "deploy", "--version", "v1")
	files := gitopstest.Files(t, e.url, "main", "apps/myapp")
	vs := files["overlays/virtualservice.yaml"]
	gitopstest.Seed(t, e.url, "main", map[string]string{
		"apps/myapp/overlays/virtualservice.yaml": strings.Replace(vs, "subset: blue", "subset: green", 1),
	}, "hand edit")
	r := e.run(1, "check")
	for _, want := range []string{"FAIL  apps/myapp", "drift", "-        subset: green", "+        subset: blue", "routing:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, r.stdout)
		}
	}
	var out checkOut
	decodeJSON(t, e.run(1, "-o", "json", "check").stdout, &out)
	if out.OK || len(out.Apps) != 1 || len(out.Apps[0].Findings) < 2 {
		t.Fatalf("json check: %+v", out)
	}
	// A transition whose result would not build is refused before committing.
	gitopstest.Seed(t, e.url, "main", map[string]string{"apps/myapp/base/kustomization.yaml": "resources: [missing.yaml]\n"}, "break base")
	head := e.head()
	r = e.run(1, "abort")
	if !strings.Contains(r.stderr, "kustomize build failed") || e.head() != head {
		t.Fatalf("broken base: exit %d, %s; remote moved: %v", r.code, r.stderr, e.head() != head)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	r := mustBG(t, 0, "demo", "--dir", dir)
	for _, want := range []string{"myapp: init", "deploy v1 to blue", "promote v1 in blue", "deploy v2 to green", "rollback to v1 in blue", "decommission v2 in green", "default -> blue v1", "demo done"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	log := gitopstest.Log(t, "file://"+filepath.Join(dir, "remote.git"), "main")
	if len(log) != 7 {
		t.Fatalf("demo made %d commits, want 7", len(log))
	}
}

// TestHelpExplainsExitCodes (every command's examples: TestHelpEveryCommandHasExamples).
func TestHelpExplainsExitCodes(t *testing.T) {
	t.Parallel()
	r := mustBG(t, 0, "--help")
	if !strings.Contains(r.stdout, "Exit codes") {
		t.Errorf("--help does not explain exit codes")
	}
}

// TestLocalCheckoutBehindRemote: when the remote moved since the checkout was
// pulled, the transition fetches, renders again on the remote's head, lands
// on top of it, and brings the checkout forward (it used to fail, saying to
// pull). With local changes in a file the remote changed, the commit still
// lands, and the checkout stays as it was, saying what to run.
func TestLocalCheckoutBehindRemote(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	dir := gitopstest.Clone(t, e.url)
	other := newEnvOn(t, e.url, "apps/other")
	other.run(0, "init", "--name", "other", "--image", "ghcr.io/acme/other")
	remoteHead := e.head()
	r := mustBG(t, 0, "--repo", dir, "--app", "apps/myapp", "deploy", "--version", "v1")
	log := e.log()
	if log[1].Hash.String() != remoteHead {
		t.Fatalf("the deploy landed on %s, want the remote's head %s", log[1].Hash, remoteHead)
	}
	if gitopstest.Head(t, dir, "main") != log[0].Hash {
		t.Fatalf("the checkout is at %s, want the pushed %s:\n%s", gitopstest.Head(t, dir, "main"), log[0].Hash, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "apps/other/bgrender.yaml")); err != nil {
		t.Fatalf("the other app's files did not come with the checkout: %v", err)
	}
	assertClean(t, dir)

	// Another pipeline changes apps/other, which has local edits here.
	other.run(0, "deploy", "--version", "v1")
	edited := filepath.Join(dir, "apps/other/bgrender-state.yaml")
	if err := os.WriteFile(edited, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := gitopstest.Head(t, dir, "main")
	r = mustBG(t, 0, "--repo", dir, "--app", "apps/myapp", "promote", "--force", "--reason", "test")
	if !strings.Contains(r.stdout, "pushed") || !strings.Contains(r.stdout, "your checkout stays behind it: local changes in apps/other/bgrender-state.yaml") {
		t.Errorf("promote's output:\n%s", r.stdout)
	}
	if got := trailerMap(e.log()[0])["Bgrender-Transition"]; got != "promote" {
		t.Errorf("the remote's head is a %q, want the promote", got)
	}
	if gitopstest.Head(t, dir, "main") != before {
		t.Errorf("the checkout moved though it has local changes")
	}
	if b, _ := os.ReadFile(edited); string(b) != "# mine\n" {
		t.Errorf("the local change was overwritten: %q", b)
	}
}

// TestAppDirBehindSymlinkRefused: an app dir reached through a symbolic link
// in a local checkout is refused before anything is written.
func TestAppDirBehindSymlinkRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	dir := gitopstest.Clone(t, e.url)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "apps", "link")); err != nil {
		t.Fatal(err)
	}
	head := gitopstest.Head(t, dir, "main")
	for _, args := range [][]string{
		{"init", "--name", "x", "--image", "ghcr.io/acme/x"},
		{"render"},
		{"status"},
	} {
		r := mustBG(t, exitUsage, append([]string{"--repo", dir, "--app", "apps/link"}, args...)...)
		if !strings.Contains(r.stderr, "is a symbolic link") {
			t.Errorf("%v: %s", args, r.stderr)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 || gitopstest.Head(t, dir, "main") != head {
		t.Fatal("something was written through the symlink")
	}
}

// TestCheckoutRemotes: a checkout pushes to its branch's upstream remote,
// else origin, else the one --remote names; with remotes and none chosen, a
// transition fails listing them (it used to say "committed locally (not
// pushed)" and exit 0, and a release would then wait for a sync that never
// comes). Only --no-push, or no remote at all, commits locally.
func TestCheckoutRemotes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	otherDir, otherURL := gitopstest.NewRemote(t, "main")
	checkout := gitopstest.Clone(t, e.url)
	git := func(args ...string) string { return gitopstest.Git(t, checkout, args...) }
	git("remote", "rename", "origin", "upstream")
	git("remote", "add", "mirror", otherURL)
	git("push", "-q", "mirror", "main")
	in := func(want int, args ...string) result {
		return mustBG(t, want, append([]string{"--repo", checkout, "--app", "apps/myapp"}, args...)...)
	}

	// The branch tracks upstream (the clone's origin, renamed): pushed there.
	r := in(0, "deploy", "--version", "v1")
	if !strings.Contains(r.stdout, "pushed") || e.head() != gitopstest.Head(t, checkout, "main").String() {
		t.Fatalf("deploy with an upstream remote:\n%s", r.stdout)
	}
	git("push", "-q", "mirror", "main")
	mirrorHead := gitopstest.Head(t, otherDir, "main")

	// No upstream, no origin: the transition names the remotes, changes nothing.
	git("branch", "--unset-upstream")
	head := e.head()
	r = in(1, "promote", "--force", "--reason", "test")
	if !strings.Contains(r.stderr, "has no upstream remote and there is no origin: choose one of mirror, upstream") || !strings.Contains(r.stderr, "--remote") {
		t.Errorf("promote without a chosen remote:\n%s", r.stderr)
	}
	if e.head() != head || gitopstest.Head(t, checkout, "main").String() != head {
		t.Fatal("a transition without a remote to push to moved a branch")
	}
	in(0, "status") // reading needs no remote

	// --remote chooses; an unknown one is named with the remotes there are.
	r = in(1, "--remote", "nope", "promote", "--force", "--reason", "test")
	if !strings.Contains(r.stderr, `no remote "nope": the remotes are mirror, upstream`) {
		t.Errorf("--remote nope:\n%s", r.stderr)
	}
	r = mustBG(t, 0, "--repo", checkout, "--remote", "mirror", "--app", "apps/myapp", "promote", "--force", "--reason", "test")
	if !strings.Contains(r.stdout, "pushed") || gitopstest.Head(t, otherDir, "main") == mirrorHead || e.head() != head {
		t.Fatalf("--remote mirror pushed elsewhere:\n%s", r.stdout)
	}

	// --no-push, and a repository without remotes, commit locally.
	r = mustBG(t, 0, "--repo", checkout, "--no-push", "--app", "apps/myapp", "deploy", "--version", "v2")
	if !strings.Contains(r.stdout, "committed locally (not pushed)") {
		t.Errorf("--no-push:\n%s", r.stdout)
	}
	git("remote", "remove", "mirror")
	git("remote", "remove", "upstream")
	r = in(0, "abort")
	if !strings.Contains(r.stdout, "committed locally (not pushed)") {
		t.Errorf("no remote at all:\n%s", r.stdout)
	}
}

// TestNoPushRefusesEveryRemoteForm: --no-push with a location that is
// cloned into memory would lose the commit; every form gitops treats as
// remote is refused, the scp-like one without a user included (it was
// taken for a local path, and the commit was reported as made locally).
func TestNoPushRefusesEveryRemoteForm(t *testing.T) {
	t.Parallel()
	for _, repo := range []string{"github.com:acme/env.git", "git@github.com:acme/env.git", "https://github.com/acme/env.git", "file:///srv/env.git"} {
		r := mustBG(t, 2, "--repo", repo, "--app", "apps/myapp", "--no-push", "deploy", "--version", "v1")
		if !strings.Contains(r.stderr, "--no-push: a remote URL is cloned into memory") || strings.Contains(r.stdout+r.stderr, "committed locally") {
			t.Errorf("--repo %s --no-push:\n%s%s", repo, r.stdout, r.stderr)
		}
	}
}
