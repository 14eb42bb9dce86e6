package main

import (
	"context"
	"fmt"
	"regexp"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/wait"
)

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

type waitOut struct {
	App      string `json:"app"`
	Source   string `json:"source"`
	Commit   string `json:"commit"`
	Revision string `json:"revision"`
	Applied  bool   `json:"applied"`
	Elapsed  string `json:"elapsed"`
	Error    string `json:"error,omitempty"`
}

func waitCommand(g *globals) *cli.Command {
	var (
		o      waitOpts
		commit string
	)
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait until Argo CD or Flux has applied the app's last transition commit and the app is healthy",
		UsageText: "bgrender [global options] wait [--commit SHA] [--controller argocd|argocd-kube|flux] [--timeout 10m]",
		Description: `Applied means the controller reports exactly that commit — or a later one that
does not change this app's manifests (another app's commit on the same
branch) — as synced and healthy: for Argo CD, Synced, Healthy, the operation
finished and Healthy held for a cooldown; for Flux, lastAppliedRevision and
Ready=True at the current generation. A controller failure for the commit
(a sync that failed, a ComparisonError, Degraded, Ready=False BuildFailed)
stops the wait at once with the controller's message. bgrender asks the
controller to refresh instead of waiting for its poll.

` + examples("bgrender --app apps/myapp wait",
			"BGRENDER_ARGOCD_TOKEN=... bgrender --app apps/myapp wait --controller argocd --argocd-server https://argocd.example.com",
			"bgrender --app apps/myapp -o json wait --controller flux --timeout 5m"),
		Flags: append(waitFlags(&o),
			&cli.StringFlag{Name: "commit", Destination: &commit, Usage: "full commit sha to wait for (default: the app's last transition commit)"}),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("wait takes no arguments")
			}
			if commit != "" && !fullSHA.MatchString(commit) {
				return usagef("--commit %q: must be a full 40-character commit sha", commit)
			}
			ctx := c.Context
			a, err := g.openAppWith(ctx, true, false)
			if err != nil {
				return err
			}
			defer a.Repo.Close()
			r, dir := a.Repo, a.Dir
			src, w, err := g.source(a.Config, o)
			if err != nil {
				return err
			}
			src = release.GateRoutes(a.Config, src)
			if commit == "" {
				last, err := r.LastChange(ctx, dir)
				if err != nil {
					return fmt.Errorf("%s: find the last transition commit: %w", dir, err)
				}
				commit = last.Hash.String()
			}
			cw, done := (&cliWaiter{g: g, o: o}).controller()
			res, err := cw.WaitWith(ctx, src, w, r, dir, commit)
			done()
			out := waitOut{App: a.Config.App, Source: src.Name(), Commit: commit, Revision: res.Revision, Applied: err == nil, Elapsed: res.Elapsed.Round(1e6).String()}
			if err != nil {
				out.Error = err.Error()
			}
			if g.json() {
				if jerr := writeJSON(g.stdout, out); jerr != nil {
					return jerr
				}
			} else if err == nil {
				rev := ""
				if res.Revision != "" && res.Revision != commit {
					rev = fmt.Sprintf(" (it reports %s, a later commit that does not change %s)", short(res.Revision), dir)
				}
				fmt.Fprintf(g.stdout, "%s applied %s%s and is healthy, after %s\n", src.Name(), short(commit), rev, out.Elapsed)
			}
			return err
		},
	}
}

// cliWaiter waits on the controller the flags and the app's config choose,
// printing progress.
type cliWaiter struct {
	g *globals
	o waitOpts
}

func (w *cliWaiter) Configured(cfg config.Config) bool { return w.o.configured(cfg) }

// Wait waits for a commit of app dir dir, for commands that wait between
// the commits of a make-before-break transition.
func (w *cliWaiter) Wait(ctx context.Context, dir string, cfg config.Config, commit string) (wait.Result, error) {
	cw, done := w.controller()
	defer done()
	return cw.Wait(ctx, dir, cfg, commit)
}

// controller is the release.ControllerWaiter of the flags, printing
// progress until done.
func (w *cliWaiter) controller() (*release.ControllerWaiter, func()) {
	g := w.g
	p := newProgress(g.stderr, g.json())
	return &release.ControllerWaiter{
		Source:       func(cfg config.Config) (wait.Source, config.Wait, error) { return g.source(cfg, w.o) },
		IsConfigured: w.o.configured,
		Open:         func(ctx context.Context) (*gitops.Repo, error) { return g.openRepo(ctx, true, false) },
		Interval:     w.o.interval,
		Progress:     p.report,
	}, p.done
}
