package main

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/state"
)

// transition loads the app, applies step to its state and commits the result.
func (g *globals) transition(ctx context.Context, step func(a *appCtx) (state.State, string, string, error)) error {
	a, err := g.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.repo.Close()
	next, subject, hint, err := step(a)
	if err != nil {
		return err
	}
	body := "Route: " + describeRoute(a.cfg, next)
	res, err := a.apply(ctx, next, subject, body, hint)
	if err != nil {
		return err
	}
	return g.printTransition(res)
}

func (g *globals) cmdPrefix(a *appCtx) string {
	if a.dir == "." {
		return "bgrender"
	}
	return "bgrender --app " + a.dir
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
	return m[1], state.Color(m[2]), nil
}

func deployCommand(g *globals) *cli.Command {
	var version, color, tag string
	var replace bool
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
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "version", Destination: &version, EnvVars: []string{"BGRENDER_VERSION"}, Usage: "version, used as the image tag"},
			&cli.StringFlag{Name: "color", Destination: &color, Usage: "color to deploy into (default: the idle color)"},
			&cli.StringFlag{Name: "from-tag", Destination: &tag, EnvVars: []string{"BGRENDER_FROM_TAG"}, Usage: "release tag VERSION-COLOR, e.g. v2.0-green"},
			&cli.BoolFlag{Name: "replace", Destination: &replace, Usage: "replace a release that is under test"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("deploy takes no arguments, got %q", c.Args().First())
			}
			req := state.DeployRequest{Version: version, Replace: replace}
			switch {
			case tag != "" && (version != "" || color != ""):
				return usagef("--from-tag sets version and color; do not combine it with --version or --color")
			case tag != "":
				v, col, err := parseTag(tag)
				if err != nil {
					return err
				}
				req.Version, req.Color = v, col
			case version == "":
				return usagef("deploy needs --version V or --from-tag V-COLOR")
			default:
				if err := state.ValidateVersion(version); err != nil {
					return usagef("--version: %v", err)
				}
				if color != "" {
					col, err := state.ParseColor(color)
					if err != nil {
						return usagef("--color: %v", err)
					}
					req.Color = col
				}
			}
			return g.transition(c.Context, func(a *appCtx) (state.State, string, string, error) {
				req.ReleaseID = newReleaseID(a.st.App, req.Version, req.Color, a.repo.Head().String(), g.now().UnixNano())
				next, err := state.Deploy(a.st, req)
				if err != nil {
					return next, "", "", err
				}
				t := next.Test
				subject := fmt.Sprintf("%s: deploy %s to %s (release %s)", next.App, t.Version, t.Color, t.ID)
				hint := fmt.Sprintf("once Argo CD or Flux has applied this commit, smoke-test through the test route (%s), then `%s promote`", selectorText(a.cfg), g.cmdPrefix(a))
				return next, subject, hint, nil
			})
		},
	}
}

func promoteCommand(g *globals) *cli.Command {
	var force bool
	var reason string
	return &cli.Command{
		Name:      "promote",
		Usage:     "switch the default route to the release under test; the old active color stays warm",
		UsageText: "bgrender [global options] promote [--force --reason TEXT]",
		Description: `Promotion needs recorded verification evidence for the release under test.
Until bgrender records evidence itself, promote refuses (exit 3) unless forced
with a reason, which goes into the commit and the state.

` + examples(`bgrender --app apps/myapp promote --force --reason "smoke tests passed in CI job 812"`),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Destination: &force, Usage: "promote without verification evidence (needs --reason)"},
			&cli.StringFlag{Name: "reason", Destination: &reason, EnvVars: []string{"BGRENDER_REASON"}, Usage: "why promotion is forced; recorded in the commit"},
		},
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
			return g.transition(c.Context, func(a *appCtx) (state.State, string, string, error) {
				next, err := state.Promote(a.st, state.PromoteRequest{Force: force, Reason: reason})
				if err != nil {
					return next, "", "", err
				}
				r := next.Active
				subject := fmt.Sprintf("%s: promote %s in %s (release %s)", next.App, r.Version, r.Color, r.ID)
				if force {
					subject += " [forced: " + reason + "]"
				}
				hint := "if the release misbehaves, `" + g.cmdPrefix(a) + " rollback`"
				if next.Standby != nil {
					hint += fmt.Sprintf("; when it is healthy, `%s decommission` removes %s %s", g.cmdPrefix(a), next.Standby.Color, next.Standby.Version)
				}
				return next, subject, hint, nil
			})
		},
	}
}

func simpleTransition(g *globals, name, usage, desc string, step func(state.State) (state.State, error), subject func(state.State) string, hint func(*appCtx, state.State) string) *cli.Command {
	return &cli.Command{
		Name:        name,
		Usage:       usage,
		UsageText:   "bgrender [global options] " + name,
		Description: desc,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("%s takes no arguments", name)
			}
			return g.transition(c.Context, func(a *appCtx) (state.State, string, string, error) {
				next, err := step(a.st)
				if err != nil {
					return next, "", "", err
				}
				return next, subject(next), hint(a, next), nil
			})
		},
	}
}

func rollbackCommand(g *globals) *cli.Command {
	return simpleTransition(g, "rollback", "send all traffic back to the warm standby color",
		`Only while the standby color still exists (before decommission). The release
that was active keeps its Deployment and becomes the standby.

`+examples("bgrender --app apps/myapp rollback"),
		state.Rollback,
		func(s state.State) string {
			return fmt.Sprintf("%s: rollback to %s in %s (release %s)", s.App, s.Active.Version, s.Active.Color, s.Active.ID)
		},
		func(a *appCtx, s state.State) string {
			return fmt.Sprintf("`%s decommission` removes %s %s once you no longer need it", g.cmdPrefix(a), s.Standby.Color, s.Standby.Version)
		})
}

func abortCommand(g *globals) *cli.Command {
	return simpleTransition(g, "abort", "drop the release under test: its Deployment, subset and test route",
		examples("bgrender --app apps/myapp abort"),
		state.Abort,
		func(s state.State) string {
			return fmt.Sprintf("%s: abort %s in %s (release %s)", s.App, s.Last.Version, s.Last.Color, s.Last.Release)
		},
		func(a *appCtx, s state.State) string {
			return fmt.Sprintf("deploy a fixed version with `%s deploy --version V`", g.cmdPrefix(a))
		})
}

func decommissionCommand(g *globals) *cli.Command {
	return simpleTransition(g, "decommission", "delete the standby color's Deployment and subset",
		`After this, rollback is no longer possible.

`+examples("bgrender --app apps/myapp decommission"),
		state.Decommission,
		func(s state.State) string {
			return fmt.Sprintf("%s: decommission %s in %s (release %s)", s.App, s.Last.Version, s.Last.Color, s.Last.Release)
		},
		func(a *appCtx, s state.State) string { return "" })
}

// joinApp returns p inside the app dir, for messages.
func joinApp(dir, p string) string { return path.Join(dir, p) }
