package release

import (
	"context"
	"fmt"
	"path"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/vet"
)

// App is one app dir as read from a commit: its files, the files elsewhere
// in the repo its kustomizations reach, its config and its state.
type App struct {
	Repo *gitops.Repo
	// Dir is the app dir, a slash path relative to the repo root ("." for
	// the root).
	Dir string
	// Files are every file under Dir at the head, relative to Dir.
	Files render.Files
	// Shared are the files elsewhere in the repo that the app's
	// kustomizations reach (a shared component or base), by repo path,
	// from the same commit; bgrender reads them and never writes them.
	Shared render.Files
	Config config.Config
	State  state.State
}

// NoConfigError is an app dir without bgrender.yaml at the head: no app,
// or one bgrender has not taken over yet.
type NoConfigError struct {
	Dir, Location, Branch string
}

func (e *NoConfigError) Error() string {
	return fmt.Sprintf("%s: no %s at %s on branch %s", e.Dir, config.FileName, e.Location, e.Branch)
}

// Load reads the app dir dir at r's head within l (ReadDir, ReadShared)
// and parses its config and state, which must name the same app.
func Load(ctx context.Context, r *gitops.Repo, dir string, l vet.Limits) (*App, error) {
	files, err := ReadDir(ctx, r, dir, l)
	if err != nil {
		return nil, err
	}
	shared, err := ReadShared(ctx, r, dir, files, l)
	if err != nil {
		return nil, err
	}
	return Parse(r, dir, files, shared)
}

// Parse makes an App of files read from r (see Load).
func Parse(r *gitops.Repo, dir string, files, shared render.Files) (*App, error) {
	a := &App{Repo: r, Dir: dir, Files: files, Shared: shared}
	cfgData, ok := files[config.FileName]
	if !ok {
		return nil, &NoConfigError{Dir: dir, Location: r.Location(), Branch: r.Branch()}
	}
	var err error
	if a.Config, err = config.Parse(path.Join(dir, config.FileName), cfgData); err != nil {
		return nil, err
	}
	stData, ok := files[state.FileName]
	if !ok {
		return nil, fmt.Errorf("%s: no %s; the app dir was not created by bgrender init", dir, state.FileName)
	}
	if a.State, err = state.Parse(path.Join(dir, state.FileName), stData); err != nil {
		return nil, err
	}
	if a.State.App != a.Config.App {
		return nil, fmt.Errorf("%s: app %q does not match app %q in %s", path.Join(dir, state.FileName), a.State.App, a.Config.App, config.FileName)
	}
	return a, nil
}

// Build builds the app dir with files (its own, or a transition's result)
// and the shared files it reaches, with b.
func (a *App) Build(b *render.Builder, files render.Files) ([]byte, error) {
	return b.BuildShared(a.Dir, files, a.Shared)
}
