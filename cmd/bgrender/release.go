package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/state"
)

type releaseOutcome string

const (
	outcomeReleased   releaseOutcome = "released"
	outcomeAborted    releaseOutcome = "aborted"
	outcomeRolledBack releaseOutcome = "rolled-back"
	outcomeFailed     releaseOutcome = "failed"
)

type releaseSummary struct {
	App     string             `json:"app"`
	Version string             `json:"version"`
	Outcome releaseOutcome     `json:"outcome"`
	Error   string             `json:"error,omitempty"`
	Commits []transitionResult `json:"commits"`
}

func releaseCommand(g *globals) *cli.Command {
	var (
		version, color, tag string
		decommissionAfter   time.Duration
		o                   waitOpts
		v                   verifyOpts
	)
	return &cli.Command{
		Name:      "release",
		Usage:     "the whole cycle for CI: deploy, wait, verify, promote, wait, check the default route",
		UsageText: "bgrender [global options] release (--version V [--color C] | --from-tag V-COLOR) --gateway-url URL [--decommission-after D]",
		Description: `Deploys the release into the idle color (the subset first, the test route
once it is applied), waits for the controller, verifies it through the test
route and records the evidence, promotes, waits again, and checks the default
route (no cookie) reaches the new release. On a failure before the switch it
aborts the release; after the switch it rolls back — each its own commit —
and exits 1 with a summary of what failed and the commits made. With
--decommission-after the old color is decommissioned that long after a
healthy switch; by default it stays warm for a manual decommission.

` + examples("bgrender --app apps/myapp release --version v2.0 --gateway-url http://istio-gw.example.com",
			"bgrender --app apps/myapp release --from-tag v2.0-green --gateway-url $GW --decommission-after 30m",
			"bgrender --app apps/myapp -o json release --version v2.1 --gateway-url $GW --controller flux"),
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "version", Destination: &version, Usage: "version, used as the image tag"},
			&cli.StringFlag{Name: "color", Destination: &color, Usage: "color to deploy into (default: the idle color)"},
			&cli.StringFlag{Name: "from-tag", Destination: &tag, Usage: "release tag VERSION-COLOR, e.g. v2.0-green"},
			&cli.DurationFlag{Name: "decommission-after", Destination: &decommissionAfter, Usage: "decommission the old color this long after a healthy switch (default: keep it)"},
		}, verifyFlags(&v)...), waitFlags(&o)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("release takes no arguments")
			}
			if g.dryRun {
				return usagef("release runs a whole cycle and cannot be a dry run; preview a step with `--dry-run deploy`")
			}
			req, err := deployRequest(version, color, tag)
			if err != nil {
				return err
			}
			if decommissionAfter < 0 {
				return usagef("--decommission-after %s: must not be negative", decommissionAfter)
			}
			return g.release(c.Context, req, o, v, decommissionAfter)
		},
	}
}

// release runs the cycle and leaves the repo safe on every failure.
func (g *globals) release(ctx context.Context, req state.DeployRequest, o waitOpts, v verifyOpts, decommissionAfter time.Duration) error {
	sum := releaseSummary{Version: req.Version, Commits: []transitionResult{}}
	// emit collects each commit for the summary; in text it is printed as
	// it lands, in JSON the summary is the one object printed.
	emit := func(r transitionResult) error {
		sum.App = r.App
		sum.Commits = append(sum.Commits, r)
		if g.json() {
			return nil
		}
		return g.printTransition(r)
	}
	finish := func(outcome releaseOutcome, err error) error {
		sum.Outcome = outcome
		if err != nil {
			sum.Error = err.Error()
		}
		if g.json() {
			if jerr := writeJSON(g.stdout, sum); jerr != nil {
				return errors.Join(err, jerr)
			}
		} else {
			fmt.Fprintf(g.stdout, "\nrelease %s: %s; %d commit(s):\n", req.Version, outcome, len(sum.Commits))
			for _, c := range sum.Commits {
				fmt.Fprintf(g.stdout, "  %s %s\n", short(c.Commit), c.Subject)
			}
		}
		if err != nil && outcome != outcomeFailed {
			return fmt.Errorf("release %s %s: %w", req.Version, outcome, err)
		}
		return err
	}

	a, err := g.openApp(ctx)
	if err != nil {
		return err
	}
	a.Repo.Close()
	if !o.configured(a.Config) {
		return usagef("release waits for the GitOps controller: set wait.controller in bgrender.yaml or pass --controller")
	}
	if _, err := v.target(a.Config, state.Release{}, true); err != nil {
		return err
	}
	if len(a.Config.Verify.Checks) == 0 {
		return usagef("release needs smoke checks: declare verify.checks in bgrender.yaml")
	}

	// abortRelease drops the release under test and waits until the
	// controller has applied that, so the command ends with the cluster safe.
	abortRelease := func(cause error) error {
		if err := g.abort(ctx, true, o, expectOpts{release: releaseID(sum)}, emit); err != nil {
			return finish(outcomeAborted, errors.Join(cause, fmt.Errorf("abort: %w", err)))
		}
		if len(sum.Commits) > 0 {
			if _, err := g.waitApplied(ctx, a, o, sum.Commits[len(sum.Commits)-1].Commit); err != nil {
				cause = errors.Join(cause, fmt.Errorf("waiting for the abort: %w", err))
			}
		}
		return finish(outcomeAborted, cause)
	}

	// Before the switch: any failure aborts the release under test.
	if err := g.deploy(ctx, req, true, o, emit); err != nil {
		var refused *state.RefusedError
		if errors.As(err, &refused) || len(sum.Commits) == 0 {
			return err // nothing was committed: a refusal stays a refusal (exit 3)
		}
		return abortRelease(err)
	}
	verified, err := g.verify(ctx, o, v, expectOpts{release: releaseID(sum)})
	if err != nil {
		return abortRelease(err)
	}
	if err := emit(verified); err != nil {
		return err
	}
	// The switch.
	promoted, _, err := g.commitStep(ctx, func(a *appCtx) (state.State, string, string, error) {
		next, err := state.Promote(a.State, state.PromoteRequest{})
		if err != nil {
			return next, "", "", err
		}
		return next, release.Subject(a.State, next), "", nil
	})
	if err != nil {
		return abortRelease(err)
	}
	if err := emit(promoted); err != nil {
		return err
	}
	// After the switch: any failure rolls back.
	a, err = g.openApp(ctx)
	if err != nil {
		return finish(outcomeFailed, err)
	}
	a.Repo.Close()
	rollback := func(cause error) error {
		res, _, err := g.commitStep(ctx, func(a *appCtx) (state.State, string, string, error) {
			next, err := state.Rollback(a.State)
			if err != nil {
				return next, "", "", err
			}
			return next, release.Subject(a.State, next) + " after a failed release", "", nil
		}, "Cause: "+cause.Error())
		if err != nil {
			return finish(outcomeFailed, errors.Join(cause, fmt.Errorf("rollback: %w", err)))
		}
		if err := emit(res); err != nil {
			return err
		}
		if _, werr := g.waitApplied(ctx, a, o, res.Commit); werr != nil {
			cause = errors.Join(cause, fmt.Errorf("waiting for the rollback: %w", werr))
		}
		return finish(outcomeRolledBack, cause)
	}
	if _, err := g.waitApplied(ctx, a, o, promoted.Commit); err != nil {
		if a.State.Standby == nil && a.State.Adopted == nil {
			return finish(outcomeFailed, fmt.Errorf("promotion of the first release was not applied, and there is nothing to roll back to: %w", err))
		}
		return rollback(err)
	}
	target, err := v.target(a.Config, *a.State.Active, false)
	if err != nil {
		return finish(outcomeFailed, err)
	}
	if _, err := g.runSmoke(ctx, a.Config, target); err != nil {
		if a.State.Standby == nil && a.State.Adopted == nil {
			return finish(outcomeFailed, fmt.Errorf("checks on the default route failed and there is no previous release to roll back to: %w", err))
		}
		return rollback(fmt.Errorf("checks on the default route: %w", err))
	}
	if decommissionAfter > 0 && a.State.Standby != nil {
		if !g.json() {
			fmt.Fprintf(g.stderr, "keeping %s warm for %s before decommissioning it\n", a.State.Standby.Describe(), decommissionAfter)
		}
		t := time.NewTimer(decommissionAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return finish(outcomeReleased, fmt.Errorf("interrupted before decommissioning %s: %w", a.State.Standby.Describe(), ctx.Err()))
		case <-t.C:
		}
		res, _, err := g.commitStep(ctx, func(a *appCtx) (state.State, string, string, error) {
			next, err := state.Decommission(a.State)
			if err != nil {
				return next, "", "", err
			}
			return next, release.Subject(a.State, next), "", nil
		})
		if err == nil {
			err = emit(res)
		}
		if err != nil {
			return finish(outcomeReleased, fmt.Errorf("decommission: %w", err))
		}
	}
	return finish(outcomeReleased, nil)
}

// releaseID is the id of the release this run deployed ("" before deploy),
// so that its clean-up never touches another pipeline's release.
func releaseID(sum releaseSummary) string {
	for _, c := range sum.Commits {
		if c.Transition == string(state.TDeploy) && c.Release != nil {
			return c.Release.Release
		}
	}
	return ""
}
