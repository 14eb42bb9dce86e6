package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

var (
	binOnce sync.Once
	binFile string
	binErr  error
)

// binary is bgrender as a program of its own: this test binary under the
// name bgrender (see TestMain), made once, never built with go build.
// Concurrent CI jobs are separate processes, so the race tests run it as
// one: in one process, kustomize builds would take turns on its lock.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			binErr = err
			return
		}
		dir, err := os.MkdirTemp("", "bgrender-bin-")
		if err != nil {
			binErr = err
			return
		}
		binFile = filepath.Join(dir, "bgrender")
		binErr = copyExecutable(self, binFile)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binFile
}

// copyExecutable links (or else copies) the file from to to, executable.
// Not a symbolic link: the name it runs under must be "bgrender".
func copyExecutable(from, to string) error {
	if err := os.Link(from, to); err == nil {
		return nil
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}

type procResult struct {
	code           int
	stdout, stderr string
}

// runConcurrently starts every command at once and returns their results.
func runConcurrently(t *testing.T, cmds [][]string) []procResult {
	t.Helper()
	bin := binary(t)
	env := environ(t)
	results := make([]procResult, len(cmds))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, args := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			<-start
			err := cmd.Run()
			results[i] = procResult{stdout: out.String(), stderr: errb.String()}
			if ee, ok := err.(*exec.ExitError); ok {
				results[i].code = ee.ExitCode()
			} else if err != nil {
				results[i].code = -1
				results[i].stderr += err.Error()
			}
		}()
	}
	close(start)
	wg.Wait()
	return results
}

// TestConcurrentAppsAllLand: 32 pipelines (6 unless BGRENDER_TEST_FULL=1)
// deploy as many different apps of one repo at once; every one lands (the losers of each push race re-read and
// retry), the history is linear and every app's state is right.
func TestConcurrentAppsAllLand(t *testing.T) {
	t.Parallel()
	n := testSize(t, 6, 32)
	dir, url := gitopstest.NewRemote(t, "main")
	for i := 0; i < n; i++ {
		app := fmt.Sprintf("app%02d", i)
		mustBG(t, 0, "--repo", url, "--app", "apps/"+app, "init", "--name", app, "--image", "ghcr.io/acme/"+app, "--host", app+".example.com")
	}
	before := len(gitopstest.Log(t, url, "main"))
	var cmds [][]string
	for i := 0; i < n; i++ {
		cmds = append(cmds, []string{"--repo", url, "--app", fmt.Sprintf("apps/app%02d", i), "deploy", "--version", "v1"})
	}
	start := time.Now()
	results := runConcurrently(t, cmds)
	elapsed := time.Since(start)
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("app%02d: exit %d\n%s", i, r.code, r.stderr)
		}
	}
	log := gitopstest.Log(t, url, "main")
	if got := len(log) - before; got != n {
		t.Fatalf("%d deploy commits landed, want %d", got, n)
	}
	seen := map[string]bool{}
	for _, c := range log[:n] {
		tr := trailerMap(c)
		if tr["Bgrender-Transition"] != "deploy" || seen[tr["Bgrender-App"]] {
			t.Errorf("commit %s: %v", c.Hash, tr)
		}
		seen[tr["Bgrender-App"]] = true
	}
	for i := 0; i < n; i++ {
		e := newEnvOn(t, url, fmt.Sprintf("apps/app%02d", i))
		var st statusOut
		decodeJSON(t, e.run(0, "-o", "json", "status").stdout, &st)
		if st.Phase != "testing" || st.Test == nil || st.Test.Version != "v1" {
			t.Errorf("app%02d: %+v", i, st)
		}
	}
	mustBG(t, 0, "--repo", url, "check", "--all")
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	iter, err := repo.CommitObjects()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	_ = iter.ForEach(func(c *object.Commit) error {
		total++
		if c.NumParents() > 1 {
			t.Errorf("merge commit %s: the history is not linear", c.Hash)
		}
		return nil
	})
	// Commits beyond the first-parent line are the losers' objects, copied
	// before their compare-and-swap failed: unreachable, as after a rejected
	// git push, and collected by git gc.
	t.Logf("%d commit objects in the remote, %d reachable; none is a merge", total, len(log))
	t.Logf("%d concurrent deploys of %d apps: all landed in %s; history linear (first-parent log has %d commits, one per transition)", n, n, elapsed.Round(time.Millisecond), len(log))
}

// TestConcurrentDeploysOfOneApp: 16 pipelines deploy the same app at once;
// exactly one lands, the other 15 are refused (exit 3) naming the release
// that won, and the remote is consistent.
func TestConcurrentDeploysOfOneApp(t *testing.T) {
	t.Parallel()
	const n = 16
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	before := len(e.log())
	var cmds [][]string
	for i := 0; i < n; i++ {
		cmds = append(cmds, []string{"--repo", e.url, "--app", "apps/myapp", "deploy", "--version", fmt.Sprintf("v%d", i)})
	}
	start := time.Now()
	results := runConcurrently(t, cmds)
	elapsed := time.Since(start)
	landed, refused := 0, 0
	for _, r := range results {
		switch r.code {
		case 0:
			landed++
		case exitRefused:
			refused++
			if !bytes.Contains([]byte(r.stderr), []byte("is already under test")) || !bytes.Contains([]byte(r.stderr), []byte("branch main is ")) {
				t.Errorf("refusal does not say what changed:\n%s", r.stderr)
			}
		default:
			t.Errorf("exit %d:\n%s", r.code, r.stderr)
		}
	}
	if landed != 1 || refused != n-1 {
		t.Fatalf("%d landed, %d refused; want 1 and %d", landed, refused, n-1)
	}
	if got := len(e.log()) - before; got != 1 {
		t.Fatalf("%d commits landed, want 1", got)
	}
	e.run(0, "check")
	t.Logf("%d concurrent deploys of one app: 1 landed, %d refused with exit 3, in %s", n, refused, elapsed.Round(time.Millisecond))
}

// TestStaleGuards: --expect-release and --expect-version refuse a transition
// whose release in that role is another one.
func TestStaleGuards(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	e.run(0, "deploy", "--version", "v1")
	var st statusOut
	decodeJSON(t, e.run(0, "-o", "json", "status").stdout, &st)
	e.refused([]string{"promote", "--force", "--reason", "x", "--expect-version", "v0"}, "expected v0 as the test release")
	e.refused([]string{"abort", "--expect-release", "r-0000000000"}, "this pipeline is stale")
	e.run(0, "promote", "--force", "--reason", "x", "--expect-release", st.Test.Release, "--expect-version", "v1")
	e.run(0, "deploy", "--version", "v2")
	e.run(0, "promote", "--force", "--reason", "x")
	e.refused([]string{"rollback", "--expect-version", "v1"}, "expected v1 as the active release, but it is green v2")
	e.refused([]string{"decommission", "--expect-version", "v2"}, "expected v2 as the standby release")
	e.run(0, "rollback", "--expect-version", "v2")
	e.run(0, "decommission", "--expect-version", "v2")
}

// TestConcurrentDeploysOverHTTP: the same race through a smart-HTTP git
// server with basic auth, where losing a push is the server's refusal.
func TestConcurrentDeploysOverHTTP(t *testing.T) {
	t.Parallel()
	const n = 8
	dir, _ := gitopstest.NewRemote(t, "main")
	url := gitopstest.ServeHTTP(t, dir, "ci", "t0ken")
	setenv(t, "BGRENDER_GIT_USERNAME", "ci")
	setenv(t, "BGRENDER_GIT_TOKEN", "t0ken")
	for i := 0; i < n; i++ {
		app := fmt.Sprintf("app%d", i)
		mustBG(t, 0, "--repo", url, "--app", "apps/"+app, "init", "--name", app, "--image", "ghcr.io/acme/"+app, "--host", app+".example.com")
	}
	var cmds [][]string
	for i := 0; i < n; i++ {
		cmds = append(cmds, []string{"--repo", url, "--app", fmt.Sprintf("apps/app%d", i), "deploy", "--version", "v1"})
	}
	cmds = append(cmds, []string{"--repo", url, "--app", "apps/app0", "deploy", "--version", "v9"})
	results := runConcurrently(t, cmds)
	landed := 0
	for _, r := range results {
		if r.code == 0 {
			landed++
		} else if r.code != exitRefused {
			t.Errorf("exit %d:\n%s", r.code, r.stderr)
		}
	}
	// Every app lands once; app0's second deploy is refused or lands first
	// and refuses the other: n landed either way.
	if landed != n {
		t.Fatalf("%d deploys landed, want %d", landed, n)
	}
	if got := len(gitopstest.Log(t, dir, "main")); got != 2*n {
		t.Fatalf("%d commits, want %d", got, 2*n)
	}
	mustBG(t, 0, "--repo", url, "check", "--all")
}

// TestConcurrentCheckouts: 8 CI jobs, each in its own fresh clone (as the
// classic pipeline runs: checkout, then commands), deploy at once (8; 3
// unless BGRENDER_TEST_FULL=1). With 8 different apps all 8 land (before, 1 landed and 7 failed with "pull,
// then retry"); with one app exactly 1 lands and 7 are refused with exit 3,
// naming the head. Each job's checkout ends at the commit it pushed, or on
// top of it; the history is linear, and check --all passes at every
// commit. Over a file remote and over smart HTTP with auth.
func TestConcurrentCheckouts(t *testing.T) {
	t.Parallel()
	n := testSize(t, 3, 8)
	for _, remote := range []string{"file", "http"} {
		t.Run(remote, func(t *testing.T) {
			dir, url := gitopstest.NewRemote(t, "main")
			if remote == "http" {
				url = gitopstest.ServeHTTP(t, dir, "ci", "t0ken")
				setenv(t, "BGRENDER_GIT_USERNAME", "ci")
				setenv(t, "BGRENDER_GIT_TOKEN", "t0ken")
			}
			for i := 0; i < n; i++ {
				app := fmt.Sprintf("app%d", i)
				mustBG(t, 0, "--repo", url, "--app", "apps/"+app, "init", "--name", app, "--image", "ghcr.io/acme/"+app, "--host", app+".example.com")
			}
			clones := func() []string {
				var out []string
				for i := 0; i < n; i++ {
					// Cloned from the bare repo, pushing to url: a CI
					// checkout's origin, with the token in the environment.
					c := gitopstest.Clone(t, dir)
					gitopstest.Git(t, c, "remote", "set-url", "origin", url)
					out = append(out, c)
				}
				return out
			}

			// Eight different apps.
			before := len(gitopstest.Log(t, dir, "main"))
			checkouts := clones()
			var cmds [][]string
			for i, c := range checkouts {
				cmds = append(cmds, []string{"--repo", c, "--app", fmt.Sprintf("apps/app%d", i), "deploy", "--version", "v1"})
			}
			for i, r := range runConcurrently(t, cmds) {
				if r.code != 0 {
					t.Errorf("job %d: exit %d\n%s%s", i, r.code, r.stdout, r.stderr)
				}
			}
			log := gitopstest.Log(t, dir, "main")
			if got := len(log) - before; got != n {
				t.Fatalf("%d deploys landed, want %d", got, n)
			}
			pushed := map[string]bool{}
			for _, c := range log[:n] {
				pushed[c.Hash.String()] = true
			}
			for i, c := range checkouts {
				h := gitopstest.Head(t, c, "main").String()
				if !pushed[h] {
					t.Errorf("job %d's checkout is at %s, not at a commit of the race", i, h)
				}
				if out := gitopstest.Git(t, c, "status", "--porcelain"); out != "" {
					t.Errorf("job %d's checkout is not clean:\n%s", i, out)
				}
			}

			// One app, eight jobs.
			checkouts = clones()
			cmds = nil
			for i, c := range checkouts {
				cmds = append(cmds, []string{"--repo", c, "--app", "apps/app0", "promote", "--force", "--reason", fmt.Sprintf("job %d", i)})
			}
			landed, refused := 0, 0
			for _, r := range runConcurrently(t, cmds) {
				switch r.code {
				case 0:
					landed++
				case exitRefused:
					refused++
					if !strings.Contains(r.stderr, "nothing to promote") || !strings.Contains(r.stderr, "branch main is ") {
						t.Errorf("refusal does not say what changed:\n%s", r.stderr)
					}
				default:
					t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
				}
			}
			if landed != 1 || refused != n-1 {
				t.Fatalf("one app: %d landed, %d refused; want 1 and %d", landed, refused, n-1)
			}
			checkEveryCommit(t, dir, url)
		})
	}
}

// checkEveryCommit runs check --all at every commit of main's first-parent
// history on the remote at dir (url reaches it).
func checkEveryCommit(t *testing.T, dir, url string) {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range gitopstest.Log(t, dir, "main") {
		ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName("at"), c.Hash)
		if err := repo.Storer.SetReference(ref); err != nil {
			t.Fatal(err)
		}
		if r := bg(t, "--repo", url, "--branch", "at", "check", "--all"); r.code != 0 {
			t.Fatalf("check --all fails at commit %d (%s %s):\n%s%s", i, c.Hash, strings.SplitN(c.Message, "\n", 2)[0], r.stdout, r.stderr)
		}
	}
	_ = repo.Storer.RemoveReference(plumbing.NewBranchReferenceName("at"))
}
