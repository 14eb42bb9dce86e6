package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/notify"
	"github.com/bgrender/bgrender/pkg/release"
)

// releaseOutcome is how a release ended, in its summary.
type releaseOutcome = release.Outcome

const (
	outcomeReleased   = release.Released
	outcomeAborted    = release.Aborted
	outcomeRolledBack = release.RolledBack
	outcomeFailed     = release.Failed
)

// releaseSummary is what release prints at its end (-o json: the one
// object it prints).
type releaseSummary struct {
	App     string             `json:"app"`
	Version string             `json:"version"`
	Outcome releaseOutcome     `json:"outcome"`
	Error   string             `json:"error,omitempty"`
	Commits []transitionResult `json:"commits"`
	// Notifications say how the event of a failed release went to the
	// app's notify: targets.
	Notifications []notify.Delivery `json:"notifications,omitempty"`
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
			return g.release(c.Context, release.ReleaseOptions{Request: req, DecommissionAfter: decommissionAfter}, o, v)
		},
	}
}

// release runs the cycle (release.Engine.Release), printing each commit
// as it lands in text, and the summary at the end.
func (g *globals) release(ctx context.Context, ro release.ReleaseOptions, o waitOpts, v verifyOpts) error {
	onCommit := g.print
	if g.json() {
		onCommit = nil // the summary is the one object printed
	}
	sum, err := g.engine(nil, o, &v, onCommit).Release(ctx, ro)
	if sum.Outcome == "" {
		return err // it stopped before committing anything: nothing to summarise
	}
	out := releaseSummary{App: sum.App, Version: sum.Version, Outcome: sum.Outcome, Commits: []transitionResult{}, Notifications: sum.Notifications}
	if sum.Err != nil {
		out.Error = sum.Err.Error()
	}
	for _, c := range sum.Commits {
		out.Commits = append(out.Commits, resultOut(c))
	}
	if g.json() {
		if jerr := writeJSON(g.stdout, out); jerr != nil {
			return errors.Join(err, jerr)
		}
		return err
	}
	fmt.Fprintf(g.stdout, "\nrelease %s: %s; %d commit(s):\n", ro.Request.Version, sum.Outcome, len(sum.Commits))
	for _, c := range sum.Commits {
		fmt.Fprintf(g.stdout, "  %s %s\n", short(c.Commit), c.Subject)
	}
	printNotifications(g.stdout, sum.Notifications)
	return err
}
