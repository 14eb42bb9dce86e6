package release_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/vet"
)

// A Go program runs the blue-green cycle on a bare remote, without the
// CLI: each transition reads the app at the head, computes the next state,
// and commits it with a compare-and-swap push.
func Example() {
	ctx := context.Background()
	url, author, cleanup := exampleRemote(ctx, config.Default("shop", "ghcr.io/acme/shop"))
	defer cleanup()
	var b render.Builder

	step := func(next func(state.State) (state.State, error)) {
		repo, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: "main", Push: true})
		if err != nil {
			panic(err)
		}
		defer repo.Close()
		app, err := release.Load(ctx, repo, "apps/shop", vet.DefaultLimits())
		if err != nil {
			panic(err)
		}
		n, err := next(app.State)
		if err != nil {
			panic(err)
		}
		if _, err := app.Commit(ctx, &b, n, author); err != nil {
			panic(err)
		}
		fmt.Println(release.Subject(app.State, n))
		fmt.Println("  route:", release.Route(app.Config, n))
	}
	deploy := func(v, id string) func(state.State) (state.State, error) {
		return func(s state.State) (state.State, error) {
			return state.Deploy(s, state.DeployRequest{Version: v, ReleaseID: id})
		}
	}
	promote := func(s state.State) (state.State, error) {
		return state.Promote(s, state.PromoteRequest{Force: true, Reason: "example"})
	}
	step(deploy("v1", "r-1"))
	step(promote)
	step(deploy("v2", "r-2"))
	step(promote)
	step(state.Rollback)
	step(state.Decommission)
	// Output:
	// shop: deploy v1 to blue (release r-1)
	//   route: cookie test=true -> blue v1; default -> none (nothing promoted yet)
	// shop: promote v1 in blue (release r-1) [forced: example]
	//   route: default -> blue v1
	// shop: deploy v2 to green (release r-2)
	//   route: cookie test=true -> green v2; default -> blue v1
	// shop: promote v2 in green (release r-2) [forced: example]
	//   route: default -> green v2
	// shop: rollback to v1 in blue (release r-1)
	//   route: default -> blue v1
	// shop: decommission v2 in green (release r-2)
	//   route: default -> blue v1
}

// exampleRemote is a bare remote holding app dir apps/<cfg.App> as bgrender
// init makes it, and the author the examples commit as; cleanup removes it.
func exampleRemote(ctx context.Context, cfg config.Config) (url string, author gitops.Signature, cleanup func()) {
	dir, err := os.MkdirTemp("", "bgrender-example-")
	if err != nil {
		panic(err)
	}
	remote := filepath.Join(dir, "env.git")
	if err := gitops.InitBare(remote, "main"); err != nil {
		panic(err)
	}
	url = "file://" + remote
	author = gitops.Signature{Name: "release-bot", Email: "bot@example.com", When: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	scaffold, err := render.Scaffold(cfg)
	if err != nil {
		panic(err)
	}
	if scaffold[config.FileName], err = config.Marshal(cfg); err != nil {
		panic(err)
	}
	s := state.New(cfg.App)
	files, _, err := release.Files(cfg, scaffold, s, s)
	if err != nil {
		panic(err)
	}
	repo, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: "main", Push: true})
	if err != nil {
		panic(err)
	}
	defer repo.Close()
	if _, err := repo.Apply(ctx, gitops.Change{Dir: "apps/" + cfg.App, Files: files, Message: cfg.App + ": init", Author: author}); err != nil {
		panic(err)
	}
	return url, author, func() { os.RemoveAll(dir) }
}
