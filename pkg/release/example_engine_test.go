package release_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/smoke"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/vet"
	"github.com/bgrender/bgrender/pkg/wait"
)

// appliedAtOnce stands in for a GitOps controller that has applied every
// commit by the time it is asked; a real program waits with pkg/wait
// (Argo CD's API, an Application or a Flux Kustomization).
type appliedAtOnce struct{}

func (appliedAtOnce) Configured(config.Config) bool { return true }
func (appliedAtOnce) Wait(_ context.Context, _ string, _ config.Config, commit string) (wait.Result, error) {
	return wait.Result{Revision: commit, Source: "controller"}, nil
}

// passing stands in for the smoke checks a real program runs with
// pkg/smoke through the gateway.
type passing struct{}

func (passing) Ready(config.Config) error { return nil }
func (passing) Smoke(context.Context, config.Config, state.Release, bool) (smoke.Report, error) {
	return smoke.Report{Passed: true, Checks: []smoke.CheckResult{{Name: "ready"}}}, nil
}

// A Go program runs a whole release through the engine, without the CLI:
// deploy (make-before-break), wait, verify, promote, wait, and the checks
// on the default route, each commit pushed to a bare remote.
func ExampleEngine_Release() {
	ctx := context.Background()
	// The app dir, as bgrender init makes it, with a smoke check.
	cfg := config.Default("shop", "ghcr.io/acme/shop")
	cfg.Verify.Identity.Header = "x-app-version"
	cfg.Verify.Checks = []smoke.Check{{Name: "ready", Path: "/ready"}}
	url, author, cleanup := exampleRemote(ctx, cfg)
	defer cleanup()

	e := &release.Engine{
		Open: func(ctx context.Context, o release.OpenOptions) (*release.App, error) {
			r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: "main", Push: true, History: o.History})
			if err != nil {
				return nil, err
			}
			return release.Load(ctx, r, "apps/shop", vet.DefaultLimits())
		},
		Builder:    &render.Builder{},
		AuthorName: author.Name, AuthorEmail: author.Email,
		Now:    func() time.Time { return author.When },
		Waiter: appliedAtOnce{},
		Smoke:  passing{},
	}
	sum, err := e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v1"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(sum.App, sum.Version, sum.Outcome)
	for _, c := range sum.Commits {
		fmt.Printf("  %s: %s\n", c.Transition, release.Route(c.Config, c.Next))
	}
	// Output:
	// shop v1 released
	//   deploy: cookie test=true -> none (blue v1 has no test route yet); default -> none (nothing promoted yet)
	//   route: cookie test=true -> blue v1; default -> none (nothing promoted yet)
	//   verify: cookie test=true -> blue v1; default -> none (nothing promoted yet)
	//   promote: default -> blue v1
}
