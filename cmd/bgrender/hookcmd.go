package main

import (
	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/state"
)

func hookCommand(g *globals) *cli.Command {
	var (
		o waitOpts
		e expectOpts
	)
	return &cli.Command{
		Name:  "hook",
		Usage: "run the hooks of bgrender.yaml (migrations, in-cluster tests) as Jobs, as commits",
		Description: `Hooks are commands bgrender runs as Kubernetes Jobs for a release, each a
commit it waits on like every other (see hook run). release runs the
afterDeploy hooks itself.

` + examples("bgrender --app apps/myapp hook run migrate"),
		Subcommands: []*cli.Command{{
			Name:      "run",
			Usage:     "run one hook for the release under test: a commit with its Job, a wait for the Job, a commit with the outcome",
			UsageText: "bgrender [global options] hook run NAME [wait flags] [--expect-release ID]",
			Description: `Commits the Job of hook NAME (hooks: in bgrender.yaml) for the release under
test: <app>-<hook>-<release>, with -<attempt> from the second run on, so a run
again is a new Job and never an edit of one. The Job runs the hook's command
in the release's image (or the hook's), with the color's env, envFrom,
volumes and ServiceAccount. bgrender waits until the GitOps controller has
applied the commit and the Job reports Complete, then commits the outcome,
which removes the Job from the repo (and the cluster). A Job that reports
Failed (its backoffLimit or activeDeadlineSeconds exceeded) is committed as
failed and exits 1, quoting the Job controller. verify needs every
afterDeploy hook passed; release runs them itself. If the wait stops early
(a timeout), the hook stays running: run the same command again to keep
waiting for that Job.

` + examples("bgrender --app apps/myapp hook run migrate",
				"bgrender --app apps/myapp hook run ping --timeout 15m --expect-release r-3f9a2c1d"),
			Flags: append(waitFlags(&o), expectFlags(&e, state.RoleTest)...),
			Action: func(c *cli.Context) error {
				if c.Args().Len() != 1 {
					return usagef("hook run takes the hook's name, e.g. `hook run migrate`")
				}
				_, err := g.engine(nil, o, nil, g.print).RunHook(c.Context, c.Args().First(), e.expect())
				return err
			},
		}},
	}
}

func unholdCommand(g *globals) *cli.Command {
	var p prOpts
	return &cli.Command{
		Name:      "unhold",
		Usage:     "start the pods of a release held for its beforeDeploy hooks",
		UsageText: "bgrender [global options] unhold [--pr]",
		Description: `deploy of an app with beforeDeploy hooks commits the new color with no pods,
runs the hooks, then starts the pods (this commit) and adds the test route. If
a hook failed and you ran it again by hand (hook run), unhold and route
finish the deploy.

` + examples("bgrender --app apps/myapp hook run migrate && bgrender --app apps/myapp unhold && bgrender --app apps/myapp wait && bgrender --app apps/myapp route"),
		Flags: prFlags(&p),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unhold takes no arguments")
			}
			return g.transition(c.Context, p.publisher(g, c), release.Transition(state.Unhold))
		},
	}
}
