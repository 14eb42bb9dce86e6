package main

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/state"
)

// stepFunc computes the next state of a loaded app, with the commit subject
// and a hint of what to do next.
type stepFunc func(a *appCtx) (next state.State, subject, hint string, err error)

// commitStep loads the app at the branch head, applies step to its state and
// commits the result as one transition (or previews it with --dry-run).
//
// The push is a compare-and-swap on the head the state was read at. When
// another transition landed first, the whole step runs again on the new head
// — re-read, re-validated, re-rendered, never a blind retry — a bounded
// number of times with jittered backoff; a step that the new head no longer
// allows is refused, naming the head it was refused at. From a local
// checkout, each retry first fetches the branch from the checkout's remote
// and reads at its head (the checkout is brought forward once the push
// lands). A lock file in the way (another process writing the ref) is
// waited for the same bounded way; one that stays is reported with the
// command that removes it.
func (g *globals) commitStep(ctx context.Context, step stepFunc, body ...string) (transitionResult, *appCtx, error) {
	var res transitionResult
	var last *appCtx
	err := release.Retrier{Jitter: g.jitter}.Run(ctx, func(ctx context.Context, refresh bool) (*release.App, error) {
		r, a, err := g.commitOnce(ctx, step, refresh, body...)
		res, last = r, a
		if a == nil {
			return nil, err
		}
		return a.App, err
	})
	return res, last, err
}

// commitOnce is one attempt of commitStep; refresh is openRepo's.
func (g *globals) commitOnce(ctx context.Context, step stepFunc, refresh bool, body ...string) (transitionResult, *appCtx, error) {
	a, err := g.openAppWith(ctx, false, refresh)
	if err != nil {
		return transitionResult{}, nil, err
	}
	defer a.Repo.Close()
	next, subject, hint, err := step(a)
	if err != nil {
		return transitionResult{}, a, err
	}
	res, err := a.apply(ctx, next, subject, body, hint)
	return res, a, err
}

// emitFunc receives each transition a command made, in order: a command
// prints it (printTransition), release collects it for its summary.
type emitFunc func(transitionResult) error

// transition commits one step and prints it.
func (g *globals) transition(ctx context.Context, step stepFunc) error {
	res, _, err := g.commitStep(ctx, step)
	if err != nil {
		return err
	}
	return g.finish(ctx, res, g.printTransition)
}

// finish opens the pull request of a proposal, then emits the transition.
func (g *globals) finish(ctx context.Context, res transitionResult, emit emitFunc) error {
	if res.PR != nil && !res.DryRun {
		if err := g.openPR(ctx, &res); err != nil {
			return err
		}
	}
	return emit(res)
}

// routeAdopted commits the adopted Deployment's routes and waits for them to
// be applied, when the app has one not routed yet and a controller to wait
// on.
func (g *globals) routeAdopted(ctx context.Context, o waitOpts, emit emitFunc) error {
	a, err := g.openApp(ctx)
	if err != nil {
		return err
	}
	a.Repo.Close()
	if ad := a.State.Adopted; ad == nil || ad.Routed || !o.configured(a.Config) || a.State.Phase() != state.PhaseEmpty {
		return nil
	}
	res, a, err := g.commitStep(ctx, func(a *appCtx) (state.State, string, string, error) {
		next, err := state.RouteAdopted(a.State)
		if err != nil {
			return next, "", "", err
		}
		return next, release.Subject(a.State, next), "waiting for the routes to be applied before the new color's Deployment joins the Service", nil
	})
	if err != nil {
		return err
	}
	if err := g.finish(ctx, res, emit); err != nil {
		return err
	}
	if _, err := g.waitApplied(ctx, a, o, res.Commit); err != nil {
		return fmt.Errorf("%s: the routes to the adopted Deployment are committed, but waiting for commit %s failed: %w; run the deploy again once it is applied", a.Dir, short(res.Commit), err)
	}
	return nil
}

// routeStep adds the test route (make-before-break, second commit of deploy).
func (g *globals) routeStep(a *appCtx) (state.State, string, string, error) {
	next, err := state.Route(a.State)
	if err != nil {
		return next, "", "", err
	}
	subject := release.Subject(a.State, next)
	hint := fmt.Sprintf("once applied, `%s verify` smoke-tests it through the test route (%s)", g.cmdPrefix(a), release.Selector(a.Config))
	return next, subject, hint, nil
}

func (g *globals) cmdPrefix(a *appCtx) string {
	if a.Dir == "." {
		return "bgrender"
	}
	return "bgrender --app " + a.Dir
}

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
			if err := p.use(g, c); err != nil {
				return err
			}
			// Make-before-break: with a controller to wait on, the Deployment and
			// subset land first and the test route follows once they are applied.
			// A proposal lands as one merge, so it is one commit.
			split := !noWait && !g.dryRun && !p.enabled
			return g.deploy(c.Context, req, split, o, g.printTransition)
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

// deploy commits a new release; with split, as two commits with a wait
// between — three for an app taken over with init --adopt whose own routes
// do not lead to the adopted Deployment yet: those go first, so that the
// new color's pods never join a Service without routes.
func (g *globals) deploy(ctx context.Context, req state.DeployRequest, split bool, o waitOpts, emit emitFunc) error {
	if split {
		if err := g.routeAdopted(ctx, o, emit); err != nil {
			return err
		}
	}
	res, a, err := g.commitStep(ctx, func(a *appCtx) (state.State, string, string, error) {
		split = split && o.configured(a.Config)
		req.Unrouted = split
		req.ReleaseID = newReleaseID(a.State.App, req.Version, req.Color, a.Repo.Head().String(), g.now().UnixNano())
		next, err := state.Deploy(a.State, req)
		if err != nil {
			return next, "", "", err
		}
		subject := release.Subject(a.State, next)
		hint := fmt.Sprintf("once Argo CD or Flux has applied this commit, `%s verify` smoke-tests it through the test route (%s), then `%s promote`", g.cmdPrefix(a), release.Selector(a.Config), g.cmdPrefix(a))
		if split {
			hint = "waiting for the subset to be applied before routing to it"
		}
		return next, subject, hint, nil
	})
	if err != nil {
		return err
	}
	if err := g.finish(ctx, res, emit); err != nil || !split {
		return err
	}
	if _, err := g.waitApplied(ctx, a, o, res.Commit); err != nil {
		return fmt.Errorf("%s: the release is deployed without its test route, but waiting for commit %s failed: %w; once it is applied run `%s route`, or `%s abort`", a.Dir, short(res.Commit), err, g.cmdPrefix(a), g.cmdPrefix(a))
	}
	res, _, err = g.commitStep(ctx, g.routeStep)
	if err != nil {
		return err
	}
	return emit(res)
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
			if err := p.use(g, c); err != nil {
				return err
			}
			return g.transition(c.Context, e.guard(state.RoleTest, func(a *appCtx) (state.State, string, string, error) {
				next, err := state.Promote(a.State, state.PromoteRequest{Force: force, Reason: reason})
				if err != nil {
					return next, "", "", err
				}
				subject := release.Subject(a.State, next)
				hint := "if the release misbehaves, `" + g.cmdPrefix(a) + " rollback`"
				if next.Standby != nil {
					hint += fmt.Sprintf("; when it is healthy, `%s decommission` removes %s %s", g.cmdPrefix(a), next.Standby.Color, next.Standby.Version)
				}
				return next, subject, hint, nil
			}))
		},
	}
}

func simpleTransition(g *globals, name, role, usage, desc string, step func(state.State) (state.State, error), subject func(prev, next state.State) string, hint func(*appCtx, state.State) string) *cli.Command {
	var e expectOpts
	var p prOpts
	return &cli.Command{
		Name:        name,
		Usage:       usage,
		UsageText:   "bgrender [global options] " + name + " [--expect-release ID] [--expect-version V] [--pr [--forge F --forge-url URL --forge-repo OWNER/NAME]]",
		Description: desc,
		Flags:       append(expectFlags(&e, role), prFlags(&p)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("%s takes no arguments", name)
			}
			if err := p.use(g, c); err != nil {
				return err
			}
			return g.transition(c.Context, e.guard(role, func(a *appCtx) (state.State, string, string, error) {
				next, err := step(a.State)
				if err != nil {
					return next, "", "", err
				}
				return next, subject(a.State, next), hint(a, next), nil
			}))
		},
	}
}

func rollbackCommand(g *globals) *cli.Command {
	return simpleTransition(g, "rollback", state.RoleActive, "send all traffic back to the warm standby color",
		`Only while the standby color still exists (before decommission). The release
that was active keeps its Deployment and becomes the standby.

`+examples("bgrender --app apps/myapp rollback",
			"bgrender --repo https://github.com/acme/env.git --app apps/myapp rollback --pr   # for review: a pull request, token from $GITHUB_TOKEN",
			"bgrender --app apps/myapp rollback --expect-release r-1a2b3c4d5e                # only if that release is still the active one"),
		state.Rollback,
		release.Subject,
		func(a *appCtx, s state.State) string {
			if s.Active == nil {
				return fmt.Sprintf("%s %s stays up behind the test route: `%s promote` routes everyone to it again, `%s abort` removes it", s.Test.Color, s.Test.Version, g.cmdPrefix(a), g.cmdPrefix(a))
			}
			return fmt.Sprintf("`%s decommission` removes %s %s once you no longer need it", g.cmdPrefix(a), s.Standby.Color, s.Standby.Version)
		})
}

func abortCommand(g *globals) *cli.Command {
	var noWait bool
	var o waitOpts
	var e expectOpts
	var p prOpts
	return &cli.Command{
		Name:      "abort",
		Usage:     "drop the release under test: its test route, then its Deployment and subset",
		UsageText: "bgrender [global options] abort [--no-wait]",
		Description: `With a controller to wait on, the test route is removed first and the
Deployment and subset follow once that is applied (make-before-break: no rule
routes to a subset about to vanish). Without one, or with --no-wait, both go
in one commit.

` + examples("bgrender --app apps/myapp abort", "bgrender --app apps/myapp abort --no-wait"),
		Flags: append(append([]cli.Flag{
			&cli.BoolFlag{Name: "no-wait", Destination: &noWait, Usage: "one commit, even when a controller to wait on is configured"},
		}, waitFlags(&o)...), append(expectFlags(&e, state.RoleTest), prFlags(&p)...)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("abort takes no arguments")
			}
			if err := p.use(g, c); err != nil {
				return err
			}
			return g.abort(c.Context, !noWait && !g.dryRun && !p.enabled, o, e, g.printTransition)
		},
	}
}

// abort drops the release under test; with split, the route goes first.
func (g *globals) abort(ctx context.Context, split bool, o waitOpts, e expectOpts, emit emitFunc) error {
	res, a, err := g.commitStep(ctx, e.guard(state.RoleTest, func(a *appCtx) (state.State, string, string, error) {
		split = split && o.configured(a.Config) && a.State.TestRouted()
		if !split {
			return g.abortStep(a)
		}
		next, err := state.Unroute(a.State)
		if err != nil {
			return next, "", "", err
		}
		return next, release.Subject(a.State, next),
			"waiting for the route removal to be applied before removing the subset", nil
	}))
	if err != nil {
		return err
	}
	if err := g.finish(ctx, res, emit); err != nil || !split {
		return err
	}
	if _, err := g.waitApplied(ctx, a, o, res.Commit); err != nil {
		return fmt.Errorf("%s: the test route is removed, but waiting for commit %s failed: %w; run `%s abort` again to remove the release", a.Dir, short(res.Commit), err, g.cmdPrefix(a))
	}
	res, _, err = g.commitStep(ctx, e.guard(state.RoleTest, g.abortStep))
	if err != nil {
		return err
	}
	return emit(res)
}

func (g *globals) abortStep(a *appCtx) (state.State, string, string, error) {
	next, err := state.Abort(a.State)
	if err != nil {
		return next, "", "", err
	}
	return next, release.Subject(a.State, next),
		fmt.Sprintf("deploy a fixed version with `%s deploy --version V`", g.cmdPrefix(a)), nil
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
			if err := p.use(g, c); err != nil {
				return err
			}
			return g.transition(c.Context, g.routeStep)
		},
	}
}

func decommissionCommand(g *globals) *cli.Command {
	return simpleTransition(g, "decommission", state.RoleStandby, "delete the standby color's Deployment and subset",
		`After this, rollback is no longer possible.

`+examples("bgrender --app apps/myapp decommission",
			"bgrender --app apps/myapp decommission --pr --forge gitlab   # as a merge request, token from $GITLAB_TOKEN"),
		state.Decommission,
		release.Subject,
		func(a *appCtx, s state.State) string { return "" })
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

// guard runs step only when the release in role is the expected one; it is
// checked on the state every attempt reads, so a race cannot slip past it.
func (e expectOpts) guard(role string, step stepFunc) stepFunc {
	return func(a *appCtx) (state.State, string, string, error) {
		if err := state.Expect(a.State, role, e.release, e.version); err != nil {
			return a.State, "", "", err
		}
		return step(a)
	}
}
