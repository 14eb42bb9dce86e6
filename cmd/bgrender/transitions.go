package main

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/analysis"
	"github.com/bgrender/bgrender/pkg/notify"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/state"
)

// engine is the release engine with the collaborators the flags choose:
// the repo --repo opens, the builder, the author, the clock; pub publishes
// (nil: a push to the branch), o chooses the controller to wait on and v
// the gateway smoke checks go to (nil: none); onCommit receives each
// commit as it lands.
func (g *globals) engine(pub release.Publisher, o waitOpts, v *verifyOpts, onCommit func(release.Result) error) *release.Engine {
	e := &release.Engine{
		Open: func(ctx context.Context, oo release.OpenOptions) (*release.App, error) {
			a, err := g.openAppWith(ctx, oo.History, oo.Refresh)
			if err != nil {
				return nil, err
			}
			return a.App, nil
		},
		Builder:     g.builder,
		AuthorName:  g.authorName,
		AuthorEmail: g.authorEmail,
		Now:         g.now,
		Retrier:     release.Retrier{Jitter: g.jitter},
		Publisher:   pub,
		DryRun:      g.dryRun,
		Waiter:      &cliWaiter{g: g, o: o},
		Notifier:    &notify.Dispatcher{Getenv: g.getenv, Sleep: g.sleep, UserAgent: "bgrender"},
		OnCommit:    onCommit,
		OnProgress: func(s string) {
			if !g.json() {
				fmt.Fprintln(g.stderr, s)
			}
		},
	}
	if v != nil {
		e.Smoke = &cliSmoker{g: g, v: *v}
		e.Analyst = &analysis.ConfigAnalyst{Getenv: g.getenv, OnMeasure: func(m analysis.Measurement) {
			if !g.json() {
				fmt.Fprintln(g.stderr, "analysis:", m)
			}
		}}
	}
	return e
}

// print is the onCommit of a command that prints each transition.
func (g *globals) print(r release.Result) error { return g.printTransition(resultOut(r)) }

// transition commits one step and prints it.
func (g *globals) transition(ctx context.Context, pub release.Publisher, step release.Step) error {
	_, err := g.engine(pub, waitOpts{}, nil, g.print).Run(ctx, step, release.StepOptions{})
	return err
}

// hintFor says what to do after a transition (release.Hint).
func hintFor(r release.Result) string { return release.Hint(release.CommandPrefix(r.Dir), r) }

func (g *globals) cmdPrefix(a *appCtx) string { return release.CommandPrefix(a.Dir) }

// tagPattern is the classic pipeline's color-coded release tag: v2.0-green.
var tagPattern = regexp.MustCompile(`^(.+)-(blue|green)$`)

// parseTag splits a release tag like v2.0-green into version and color.
func parseTag(tag string) (string, state.Color, error) {
	m := tagPattern.FindStringSubmatch(tag)
	if m == nil {
		return "", "", usagef("--from-tag %q: must look like VERSION-blue or VERSION-green, e.g. v2.0-green", tag)
	}
	if err := state.ValidateVersion(m[1]); err != nil {
		return "", "", usagef("--from-tag %q: %v", tag, err)
	}
	if tagPattern.MatchString(m[1]) {
		return "", "", usagef("--from-tag %q: the version %q ends in a color too; a tag has one color suffix, e.g. %s-%s", tag, m[1], strings.TrimSuffix(strings.TrimSuffix(m[1], "-blue"), "-green"), m[2])
	}
	return m[1], state.Color(m[2]), nil
}

func deployCommand(g *globals) *cli.Command {
	var version, color, tag string
	var replace, noWait bool
	var o waitOpts
	var p prOpts
	return &cli.Command{
		Name:      "deploy",
		Usage:     "deploy a new release into the idle color, reachable only through the test route",
		UsageText: "bgrender [global options] deploy (--version V [--color blue|green] | --from-tag V-COLOR) [--replace]",
		Description: `The new release gets the idle color's Deployment and a test route that sends
requests carrying the test cookie to it; everyone else stays on the active
color. Refused (exit 3) if the color is live, or while another release is
under test unless --replace.

` + examples("bgrender --app apps/myapp deploy --version v2.0",
			"bgrender --app apps/myapp deploy --from-tag v2.0-green   # color from the tag, as in tag-driven pipelines",
			"bgrender --app apps/myapp deploy --version v2.1 --replace # replace the release under test"),
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "version", Destination: &version, Usage: "version, used as the image tag"},
			&cli.StringFlag{Name: "color", Destination: &color, Usage: "color to deploy into (default: the idle color)"},
			&cli.StringFlag{Name: "from-tag", Destination: &tag, Usage: "release tag VERSION-COLOR, e.g. v2.0-green"},
			&cli.BoolFlag{Name: "replace", Destination: &replace, Usage: "replace a release that is under test"},
			&cli.BoolFlag{Name: "no-wait", Destination: &noWait, Usage: "one commit with the test route, even when a controller to wait on is configured"},
		}, append(waitFlags(&o), prFlags(&p)...)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("deploy takes no arguments, got %q", c.Args().First())
			}
			req, err := deployRequest(version, color, tag)
			if err != nil {
				return err
			}
			req.Replace = replace
			// Make-before-break: with a controller to wait on, the Deployment and
			// subset land first and the test route follows once they are applied.
			// A proposal lands as one merge, so it is one commit.
			_, err = g.engine(p.publisher(g, c), o, nil, g.print).Deploy(c.Context, req, !noWait)
			return err
		},
	}
}

// deployRequest checks the deploy flags.
func deployRequest(version, color, tag string) (state.DeployRequest, error) {
	var req state.DeployRequest
	switch {
	case tag != "" && (version != "" || color != ""):
		return req, usagef("--from-tag sets version and color; do not combine it with --version or --color")
	case tag != "":
		v, col, err := parseTag(tag)
		if err != nil {
			return req, err
		}
		req.Version, req.Color = v, col
	case version == "":
		return req, usagef("deploy needs --version V or --from-tag V-COLOR")
	default:
		if err := state.ValidateVersion(version); err != nil {
			return req, usagef("--version: %v", err)
		}
		req.Version = version
		if color != "" {
			col, err := state.ParseColor(color)
			if err != nil {
				return req, usagef("--color: %v", err)
			}
			req.Color = col
		}
	}
	return req, nil
}

func promoteCommand(g *globals) *cli.Command {
	var force bool
	var reason string
	var e expectOpts
	var p prOpts
	return &cli.Command{
		Name:      "promote",
		Usage:     "switch the default route to the release under test; the old active color stays warm",
		UsageText: "bgrender [global options] promote [--force --reason TEXT]",
		Description: `Promotion needs passing verification evidence for the release under test,
recorded by bgrender verify; without it promote refuses (exit 3), unless
forced with a reason, which goes into the commit and the state.

` + examples(`bgrender --app apps/myapp promote --force --reason "smoke tests passed in CI job 812"`),
		Flags: append(append(expectFlags(&e, state.RoleTest),
			&cli.BoolFlag{Name: "force", Destination: &force, Usage: "promote without verification evidence (needs --reason)"},
			&cli.StringFlag{Name: "reason", Destination: &reason, Usage: "why promotion is forced; recorded in the commit"},
		), prFlags(&p)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("promote takes no arguments")
			}
			if force && reason == "" {
				return usagef("--force needs --reason TEXT, which is recorded in the commit")
			}
			if reason != "" && !force {
				return usagef("--reason is only used with --force")
			}
			if strings.ContainsAny(reason, "\r\n") {
				return usagef("--reason: must be one line")
			}
			return g.transition(c.Context, p.publisher(g, c), e.guard(state.RoleTest, func(a *release.App) (state.State, error) {
				return state.Promote(a.State, state.PromoteRequest{Force: force, Reason: reason})
			}))
		},
	}
}

// simpleTransition is the command of a transition that needs nothing but
// the state (release.SpecOf: its step, and the role --expect-* pin).
func simpleTransition(g *globals, t state.Transition, usage, desc string) *cli.Command {
	spec := release.SpecOf(t)
	name := string(t)
	var e expectOpts
	var p prOpts
	return &cli.Command{
		Name:        name,
		Usage:       usage,
		UsageText:   "bgrender [global options] " + name + " [--expect-release ID] [--expect-version V] [--pr [--forge F --forge-url URL --forge-repo OWNER/NAME]]",
		Description: desc,
		Flags:       append(expectFlags(&e, spec.Role), prFlags(&p)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("%s takes no arguments", name)
			}
			return g.transition(c.Context, p.publisher(g, c), e.guard(spec.Role, release.Transition(spec.Step)))
		},
	}
}

func rollbackCommand(g *globals) *cli.Command {
	var reason string
	var e expectOpts
	var p prOpts
	return &cli.Command{
		Name:      "rollback",
		Usage:     "send all traffic back to the warm standby color",
		UsageText: "bgrender [global options] rollback [--reason TEXT] [--expect-release ID] [--expect-version V] [--pr [--forge F --forge-url URL --forge-repo OWNER/NAME]]",
		Description: `Only while the standby color still exists (before decommission). The release
that was active keeps its Deployment and becomes the standby. A --reason is
recorded in the commit, the state (rollbackCause) and the notifications.

` + examples("bgrender --app apps/myapp rollback",
			`bgrender --app apps/myapp rollback --reason "p99 latency doubled"`,
			"bgrender --repo https://github.com/acme/env.git --app apps/myapp rollback --pr   # for review: a pull request, token from $GITHUB_TOKEN",
			"bgrender --app apps/myapp rollback --expect-release r-1a2b3c4d5e                # only if that release is still the active one"),
		Flags: append(append([]cli.Flag{reasonFlag(&reason, "rolled back")}, expectFlags(&e, state.RoleActive)...), prFlags(&p)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("rollback takes no arguments")
			}
			if err := checkReason(reason); err != nil {
				return err
			}
			step := release.Transition(state.Rollback)
			var o release.StepOptions
			if reason != "" {
				step = release.Transition(func(s state.State) (state.State, error) { return state.RollbackBecause(s, reason) })
				o = release.StepOptions{Reason: reason, Extra: []string{"Cause: " + reason}}
			}
			_, err := g.engine(p.publisher(g, c), waitOpts{}, nil, g.print).Run(c.Context, e.guard(state.RoleActive, step), o)
			return err
		},
	}
}

// reasonFlag is --reason of a transition people are told about.
func reasonFlag(dst *string, what string) cli.Flag {
	return &cli.StringFlag{Name: "reason", Destination: dst, Usage: "why it is " + what + ": one line, recorded in the commit and sent to the notify: targets"}
}

func checkReason(reason string) error {
	if strings.ContainsAny(reason, "\r\n") {
		return usagef("--reason: must be one line")
	}
	if len(reason) > 500 {
		return usagef("--reason: %d characters; keep it to 500", len(reason))
	}
	return nil
}

func abortCommand(g *globals) *cli.Command {
	var noWait bool
	var reason string
	var o waitOpts
	var e expectOpts
	var p prOpts
	return &cli.Command{
		Name:      "abort",
		Usage:     "drop the release under test: its test route, then its Deployment and subset",
		UsageText: "bgrender [global options] abort [--no-wait] [--reason TEXT]",
		Description: `With a controller to wait on, the test route is removed first and the
Deployment and subset follow once that is applied (make-before-break: no rule
routes to a subset about to vanish). Without one, or with --no-wait, both go
in one commit.

` + examples("bgrender --app apps/myapp abort", "bgrender --app apps/myapp abort --no-wait",
			`bgrender --app apps/myapp abort --reason "checkout fails for EU cards"   # in the commit and the notifications`),
		Flags: append(append([]cli.Flag{
			&cli.BoolFlag{Name: "no-wait", Destination: &noWait, Usage: "one commit, even when a controller to wait on is configured"},
			reasonFlag(&reason, "aborted"),
		}, waitFlags(&o)...), append(expectFlags(&e, state.RoleTest), prFlags(&p)...)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("abort takes no arguments")
			}
			if err := checkReason(reason); err != nil {
				return err
			}
			_, err := g.engine(p.publisher(g, c), o, nil, g.print).Abort(c.Context, e.expect(), !noWait, reason)
			return err
		},
	}
}

func routeCommand(g *globals) *cli.Command {
	var p prOpts
	return &cli.Command{
		Name:      "route",
		Usage:     "add the test route to a release deployed without one",
		UsageText: "bgrender [global options] route [--pr]",
		Description: `deploy with a controller to wait on commits the Deployment and subset first
and the test route once they are applied; if that wait failed, run route
yourself once the first commit is applied.

` + examples("bgrender --app apps/myapp wait && bgrender --app apps/myapp route"),
		Flags: prFlags(&p),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("route takes no arguments")
			}
			return g.transition(c.Context, p.publisher(g, c), release.Transition(state.Route))
		},
	}
}

func decommissionCommand(g *globals) *cli.Command {
	return simpleTransition(g, state.TDecommission, "delete the standby color's Deployment and subset",
		`After this, rollback is no longer possible.

`+examples("bgrender --app apps/myapp decommission",
			"bgrender --app apps/myapp decommission --pr --forge gitlab   # as a merge request, token from $GITLAB_TOKEN"),
	)
}

// joinApp returns p inside the app dir, for messages.
func joinApp(dir, p string) string { return path.Join(dir, p) }

// expectOpts guard a transition against a stale pipeline.
type expectOpts struct{ release, version string }

func expectFlags(e *expectOpts, role string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "expect-release", Destination: &e.release,
			Usage: "refuse (exit 3) unless the " + role + " release has this release id: a stale pipeline's guard"},
		&cli.StringFlag{Name: "expect-version", Destination: &e.version,
			Usage: "refuse (exit 3) unless the " + role + " release has this version"},
	}
}

func (e expectOpts) expect() release.Expect {
	return release.Expect{Release: e.release, Version: e.version}
}

// guard runs step only when the release in role is the expected one; it is
// checked on the state every attempt reads, so a race cannot slip past it.
func (e expectOpts) guard(role string, step release.Step) release.Step {
	return e.expect().Guard(role, step)
}
