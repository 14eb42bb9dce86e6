package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/state"
)

// handEdit is a pull request's author at work: in a checkout of branch it
// writes files into the app dir and edits its state with edit, renders the
// overlays again with
// `bgrender render` (as the drift finding's hint says), and commits and
// pushes it with message (trailers and all, forged or not).
func handEdit(t *testing.T, url, branch, app string, edit func(*state.State), files map[string]string, message string) {
	t.Helper()
	checkout := gitopstest.Clone(t, url)
	gitopstest.Git(t, checkout, "checkout", "-q", "-B", branch, "origin/"+branch)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(checkout, app, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(checkout, app, state.FileName)
	if edit != nil {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := state.Parse(p, data)
		if err != nil {
			t.Fatal(err)
		}
		edit(&s)
		out, err := state.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustBG(t, 0, "--repo", checkout, "--app", app, "render")
	gitopstest.Git(t, checkout, "add", "-A")
	gitopstest.Git(t, checkout, "commit", "-q", "-m", message)
	gitopstest.Git(t, checkout, "push", "-q", "origin", branch)
}

// TestHandMadeStateChanges: under check --base, every change a pull request
// makes to an app's release state must be a bgrender transition valid from
// the state before it. Before, each of the hand-made ones passed (the first
// is the case found: an unverified release made active with invented
// evidence, not marked forced, then rendered again).
func TestHandMadeStateChanges(t *testing.T) {
	t.Parallel()
	dir, url := gitopstest.NewRemote(t, "main")
	e := newEnvOn(t, url, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	e.run(0, "deploy", "--version", "v1")
	e.run(0, "promote", "--force", "--reason", "first release")
	e.run(0, "deploy", "--version", "v2")
	deployCommit := e.head()
	invented := func(commit string) func(*state.State) {
		return func(s *state.State) {
			ev := state.Evidence{Release: s.Test.ID, Commit: commit, Checks: []string{"ready"}, VerifiedAt: "2026-12-01T00:00:00Z"}
			s.Test.Evidence = &ev
			s.Standby, s.Active = s.Active, s.Test
			s.Active.Promotion = &state.Promotion{Evidence: &ev}
			s.Test = nil
			s.Last = state.LastTransition{Name: state.TPromote, Release: s.Active.ID, Version: s.Active.Version, Color: s.Active.Color}
		}
	}
	verifyOnly := func(commit string) func(*state.State) {
		return func(s *state.State) {
			s.Test.Evidence = &state.Evidence{Release: s.Test.ID, Commit: commit, Checks: []string{"ready"}, VerifiedAt: "2026-12-01T00:00:00Z"}
			s.Last = state.LastTransition{Name: state.TVerify, Release: s.Test.ID, Version: s.Test.Version, Color: s.Test.Color}
		}
	}
	trailers := func(transition string) string {
		st := e.status()
		return "a: " + transition + "\n\nBgrender-App: a\nBgrender-Transition: " + transition + "\nBgrender-Release: " + st.Test.Release + "\nBgrender-Version: v2\nBgrender-Color: " + st.Test.Color + "\n"
	}
	cfg := gitopstest.Files(t, url, "main", "apps/a")["bgrender.yaml"]
	tests := []struct {
		name    string
		edit    func(*state.State)
		files   map[string]string
		message string
		want    string // "" for a pass
	}{
		{"promotion by hand with invented evidence", invented(deployCommit), nil, "looks fine to me",
			"changes the release state by hand: active changed from blue v1"},
		{"forged promote trailers without evidence", invented(deployCommit), nil, trailers("promote"),
			"says it is a promote, but that is not valid from the state before it"},
		{"forged verify naming no commit of the base", verifyOnly(strings.Repeat("ab", 20)), nil, trailers("verify"),
			"records verification evidence that names commit \"" + strings.Repeat("ab", 20) + "\", which is not on the base"},
		{"forged verify naming a commit where the release was not under test", verifyOnly(gitopstest.Log(t, url, "main")[2].Hash.String()), nil, trailers("verify"),
			"where release"},
		{"a transition commit that also edits the app's own files", verifyOnly(deployCommit), map[string]string{"bgrender.yaml": strings.Replace(cfg, "port: 3000", "port: 8080", 1)}, trailers("verify"),
			"but it also changes the app's own files (apps/a/bgrender.yaml)"},
		{"a config change alone", nil, map[string]string{"bgrender.yaml": strings.Replace(cfg, "port: 3000", "port: 8080", 1)}, "a: port 8080", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			branch := "pr-" + strings.ReplaceAll(tc.name, " ", "-")
			gitIn(t, dir, "branch", "-f", branch, "main")
			handEdit(t, url, branch, "apps/a", tc.edit, tc.files, tc.message)
			r := bg(t, "--repo", url, "--branch", branch, "check", "--all", "--base", "main")
			if tc.want == "" {
				if r.code != 0 {
					t.Fatalf("check --base: exit %d, want 0:\n%s%s", r.code, r.stdout, r.stderr)
				}
				return
			}
			if r.code != 1 || !strings.Contains(r.stdout, tc.want) {
				t.Fatalf("check --base: exit %d, want 1 with %q:\n%s%s", r.code, tc.want, r.stdout, r.stderr)
			}
			// Without --base the tree is consistent: only the history tells.
			mustBG(t, 0, "--repo", url, "--branch", branch, "check", "--all")
		})
	}
}

// TestHandMadeAfterATransition: a branch where bgrender made a transition
// and then the author edited the state by hand: the hand edit is found, in
// the branch and in a pull request's merge commit as CI checks it out.
func TestHandMadeAfterATransition(t *testing.T) {
	t.Parallel()
	dir, url := gitopstest.NewRemote(t, "main")
	e := newEnvOn(t, url, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	e.run(0, "deploy", "--version", "v1")
	e.run(0, "promote", "--force", "--reason", "first release")
	gitIn(t, dir, "branch", "pr", "main")
	mustBG(t, 0, "--repo", url, "--branch", "pr", "--app", "apps/a", "deploy", "--version", "v2", "--no-wait")
	mustBG(t, 0, "--repo", url, "--branch", "pr", "check", "--all", "--base", "main")
	handEdit(t, url, "pr", "apps/a", func(s *state.State) { s.Test.Version = "v2-evil" }, nil, "tweak")
	r := mustBG(t, 1, "--repo", url, "--branch", "pr", "check", "--all", "--base", "main")
	if !strings.Contains(r.stdout, `commit `) || !strings.Contains(r.stdout, `("tweak") changes the release state by hand: test changed from green v2`) {
		t.Fatalf("check --base:\n%s", r.stdout)
	}
	// The pull request's merge commit, detached, as GitHub's checkout leaves it.
	checkout := gitopstest.Clone(t, url)
	gitopstest.Git(t, checkout, "checkout", "-q", "--detach", "origin/main")
	gitopstest.Git(t, checkout, "merge", "-q", "--no-ff", "-m", "Merge pull request #7", "origin/pr")
	r = mustBG(t, 1, "--repo", checkout, "check", "--all", "--base", "origin/main")
	if !strings.Contains(r.stdout, `("tweak") changes the release state by hand`) {
		t.Fatalf("check --base on the merge commit:\n%s", r.stdout)
	}
}

// status reads the app's status as JSON.
func (e *env) status() statusOut {
	e.t.Helper()
	var st statusOut
	if err := json.Unmarshal([]byte(e.run(0, "-o", "json", "status").stdout), &st); err != nil {
		e.t.Fatal(err)
	}
	return st
}
