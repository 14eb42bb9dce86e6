package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gate"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/notify"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/vet"
	"github.com/bgrender/bgrender/pkg/worktree"
)

// appCtx is one app read from the branch head: the files of its directory,
// its config and its state.
type appCtx struct {
	g *globals
	*release.App
}

// appDir validates --app and returns it as a clean slash path.
func appDir(flag string) (string, error) {
	p := path.Clean(strings.ReplaceAll(flag, "\\", "/"))
	if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
		return "", usagef("--app %q: must be a directory inside the repo, relative to its root", flag)
	}
	return p, nil
}

// locate finds the root of a local --repo (the working directory by
// default) from any directory inside it, as git does. When --app is not
// given and --repo was below the root, the app dir is the nearest directory
// at or above it that holds bgrender.yaml; for init, the directory itself.
func (g *globals) locate(appSet bool, command string) {
	if gitops.IsRemote(g.repo) {
		return
	}
	root, rel, ok := gitops.FindRoot(g.repo)
	if !ok || rel == "." {
		return
	}
	g.repo = root
	if appSet {
		return
	}
	if command == "init" {
		g.app = rel
		return
	}
	for d := rel; d != "."; d = path.Dir(d) {
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(d), config.FileName)); err == nil && fi.Mode().IsRegular() {
			g.app = d
			return
		}
	}
}

// checkNoSymlink refuses an app dir reached through a symbolic link in a
// local checkout: bgrender would write outside the app dir, or the repo.
func (g *globals) checkNoSymlink(dir string) error {
	if gitops.IsRemote(g.repo) || dir == "." {
		return nil
	}
	if link := worktree.LinkOnPath(g.repo, dir); link != "" {
		return usagef("--app %s: %s is a symbolic link; give the real directory inside the repo", dir, link)
	}
	return nil
}

// openRepo opens --repo with the global options. With refresh, a local
// checkout first fetches the branch from its remote and reads at the
// remote's head when it is behind (a retry after a lost race).
func (g *globals) openRepo(ctx context.Context, history, refresh bool) (*gitops.Repo, error) {
	if g.noPush && gitops.IsRemote(g.repo) {
		return nil, usagef("--no-push: a remote URL is cloned into memory, so a commit that is not pushed would be lost; use a local checkout")
	}
	if g.signKey != "" && g.signer == nil {
		s, err := gitops.LoadSigner(g.signKey, g.signKeyPassphrase)
		if err != nil {
			return nil, usagef("--sign-key: %v", err)
		}
		g.signer = s
	}
	if g.remote != "" && gitops.IsRemote(g.repo) {
		return nil, usagef("--remote names a remote of a local checkout; %s is a URL, which is pushed to itself", g.repo)
	}
	r, err := gitops.Open(ctx, gitops.Options{
		Repo:    g.repo,
		Branch:  g.branch,
		Push:    !g.noPush,
		Remote:  g.remote,
		Refresh: refresh,
		History: history,
		Auth:    g.auth(),
		Signer:  g.signer,
	})
	if err != nil {
		hint := authHint(err)
		if errors.Is(err, git.ErrRepositoryNotExists) && !gitops.IsRemote(g.repo) {
			where := g.repo
			if abs, err := filepath.Abs(where); err == nil {
				where = abs
			}
			hint = fmt.Sprintf(" (%s is not inside a git checkout: run bgrender in a checkout of the env repo, or give --repo with its path or URL)", where)
		}
		return nil, fmt.Errorf("open repo: %w%s", err, hint)
	}
	return r, nil
}

// auth is the git credentials from the global flags.
func (g *globals) auth() gitops.Auth {
	return gitops.Auth{
		Username:         g.gitUsername,
		Token:            g.gitToken,
		SSHKeyFile:       g.sshKey,
		SSHKeyPassphrase: g.sshKeyPassphrase,
		KnownHosts:       filepath.SplitList(g.getenv("SSH_KNOWN_HOSTS")),
	}
}

// loadApp reads the app at --app from the branch head. With requireState it
// fails when the app has not been initialised.
func (g *globals) loadApp(ctx context.Context, r *gitops.Repo, dir string) (*appCtx, error) {
	files, err := g.readApp(ctx, r, dir)
	if err != nil {
		return nil, err
	}
	shared, err := g.readShared(ctx, r, dir, files)
	if err != nil {
		return nil, err
	}
	app, err := release.Parse(r, dir, files, shared)
	var noConfig *release.NoConfigError
	if errors.As(err, &noConfig) {
		return nil, fmt.Errorf("%w%s; or create the app with `bgrender --app %s init --name NAME --image REPO`", err, appDirsHint(ctx, r), dir)
	}
	if err != nil {
		return nil, err
	}
	return &appCtx{g: g, App: app}, nil
}

// appLimits are the limits app dirs are read within.
func (g *globals) appLimits() vet.Limits {
	if g.limits == (vet.Limits{}) {
		return vet.DefaultLimits()
	}
	return g.limits
}

// readApp reads the files of app dir at the head: none over the limits, and
// no symbolic link (nothing of bgrender's follows one: a link in an app dir
// is either broken for Argo CD and Flux too, or points where the PR's author
// wants bgrender to read or write). Every file that parses as YAML is
// measured before anything else parses it.
func (g *globals) readApp(ctx context.Context, r *gitops.Repo, dir string) (render.Files, error) {
	files, err := release.ReadDir(ctx, r, dir, g.appLimits())
	var tooLarge *gitops.TooLargeError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("read app %s: %w%s", dir, err, limitHint(err))
	case err != nil:
		return nil, fmt.Errorf("%w%s", err, limitHint(err))
	}
	return files, nil
}

// readShared reads, from the same commit, the directories elsewhere in the
// repo that the app's kustomizations reach (release.ReadShared).
func (g *globals) readShared(ctx context.Context, r *gitops.Repo, dir string, files render.Files) (render.Files, error) {
	shared, err := release.ReadShared(ctx, r, dir, files, g.appLimits())
	if err != nil {
		hint := limitHint(err)
		var over *release.SharedTooLargeError
		if errors.As(err, &over) {
			hint = " (if the app really needs it, raise --max-app-size)"
		}
		return nil, fmt.Errorf("%w%s", err, hint)
	}
	return shared, nil
}

// authHint says where credentials go, for an error of the server's refusing
// them.
func authHint(err error) string { return release.AuthHint(err) }

// appDirsHint names the app dirs there are, for a --app that is none.
func appDirsHint(ctx context.Context, r *gitops.Repo) string {
	dirs, err := r.FindDirs(ctx, config.FileName)
	if err != nil || len(dirs) == 0 {
		return ""
	}
	const shown = 10
	more := ""
	if len(dirs) > shown {
		more = fmt.Sprintf(" and %d more", len(dirs)-shown)
		dirs = dirs[:shown]
	}
	return fmt.Sprintf(": the app dirs there are %s%s (give one with --app)", strings.Join(dirs, ", "), more)
}

// symlinkError names the symbolic links of an app dir.
func symlinkError(dir string, links map[string]string) error {
	return &release.LinkError{Dir: dir, Links: links}
}

// openApp opens the repo and loads the app for a transition.
func (g *globals) openApp(ctx context.Context) (*appCtx, error) {
	return g.openAppWith(ctx, false, false)
}

// openAppWith opens the repo, with its history for network URLs when asked
// (to find the app's last transition commit), and loads the app; refresh is
// openRepo's.
func (g *globals) openAppWith(ctx context.Context, history, refresh bool) (*appCtx, error) {
	dir, err := appDir(g.app)
	if err != nil {
		return nil, err
	}
	if err := g.checkNoSymlink(dir); err != nil {
		return nil, err
	}
	r, err := g.openRepo(ctx, history, refresh)
	if err != nil {
		return nil, err
	}
	a, err := g.loadApp(ctx, r, dir)
	if err != nil {
		r.Close()
		return nil, err
	}
	return a, nil
}

// transitionResult is what every transition command prints.
type transitionResult struct {
	App        string      `json:"app"`
	Dir        string      `json:"dir"`
	Transition string      `json:"transition"`
	Release    *releaseOut `json:"release"`
	Commit     string      `json:"commit"`
	Parent     string      `json:"parent"`
	Pushed     bool        `json:"pushed"`
	DryRun     bool        `json:"dryRun"`
	Diff       string      `json:"diff,omitempty"`
	Phase      string      `json:"phase"`
	Active     *releaseOut `json:"active"`
	Test       *releaseOut `json:"test"`
	Standby    *releaseOut `json:"standby"`
	Route      string      `json:"route"`
	Subject    string      `json:"subject"`
	Next       string      `json:"next"`
	// Note says what the transition did besides its own job (the warm
	// standby's color taken, or given back).
	Note string `json:"note,omitempty"`
	PR   *prOut `json:"pullRequest,omitempty"`
	// LocalBehind lists the files whose local changes kept a checkout from
	// being brought forward to the pushed commit.
	LocalBehind []string `json:"localBehind,omitempty"`
	// Notifications say how the transition's event went to the app's
	// notify: targets.
	Notifications []notify.Delivery `json:"notifications,omitempty"`
	// TookMs is bgrender's own time for the transition; WaitedMs, in a
	// release, how long it waited for the controller to apply it.
	TookMs   int64 `json:"tookMs"`
	WaitedMs int64 `json:"waitedMs,omitempty"`
}

type releaseOut struct {
	Color   string `json:"color"`
	Version string `json:"version"`
	Release string `json:"release"`
}

func releaseJSON(r *state.Release) *releaseOut {
	if r == nil {
		return nil
	}
	return &releaseOut{Color: string(r.Color), Version: r.Version, Release: r.ID}
}

// resultOut is what a transition command prints of r.
func resultOut(r release.Result) transitionResult {
	n := r.Next
	res := transitionResult{
		App: n.App, Dir: r.Dir, Transition: r.Transition, Subject: r.Subject, Note: r.Note,
		Phase: string(n.Phase()), Active: releaseJSON(n.Active), Test: releaseJSON(n.Test),
		Standby: releaseJSON(n.Standby), Route: release.Route(r.Config, n), Next: hintFor(r),
		Commit: r.Commit, Parent: r.Parent, Pushed: r.Pushed, DryRun: r.DryRun, Diff: r.Diff,
		LocalBehind: r.LocalBehind, Notifications: r.Notifications,
		TookMs: r.Took.Milliseconds(), WaitedMs: r.Waited.Milliseconds(),
	}
	if n.Last.Release != "" {
		res.Release = &releaseOut{Color: string(n.Last.Color), Version: n.Last.Version, Release: n.Last.Release}
	}
	if pr := r.PR; pr != nil {
		res.PR = &prOut{Forge: pr.Forge, Branch: pr.Branch, Base: pr.Base, Number: pr.Number, URL: pr.URL, Created: pr.Created}
	}
	return res
}

// The trailers of a transition commit: its machine-readable facts.
const (
	trailerApp        = gate.TrailerApp
	trailerTransition = gate.TrailerTransition
	trailerRelease    = gate.TrailerRelease
	trailerVersion    = gate.TrailerVersion
	trailerColor      = gate.TrailerColor
)
