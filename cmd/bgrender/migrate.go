package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
)

func migrateCommand(g *globals) *cli.Command {
	var p prOpts
	return &cli.Command{
		Name:      "migrate",
		Usage:     "move an app dir to the per-color layout, changing no object",
		UsageText: "bgrender [global options] migrate [--pr]",
		Description: `Before per-color snapshots, an app's Deployment template was in
base/deployment/, and each color was rendered from it again at every
transition: a template or config change went live on both colors at once.
Now per-color/ holds the template of everything that exists once per color,
and each color runs a snapshot of it, overlays/<color>/snapshot/, taken when a
release was deployed into that color; a change reaches a color only with the
next deploy into it, through the test route and verify.

migrate moves base/deployment/ to per-color/ and snapshots each deployed color
as it runs now (the template with the patch it was rendered with), in one
commit. It checks that the kustomize build gives the same objects before and
after: nothing restarts.

` + examples("bgrender --app apps/myapp migrate", "bgrender --app apps/myapp --dry-run migrate", "bgrender --app apps/myapp migrate --pr"),
		Flags: prFlags(&p),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("migrate takes no arguments")
			}
			ctx := c.Context
			a, err := g.openApp(ctx)
			if err != nil {
				return err
			}
			defer a.Repo.Close()
			ch, err := release.Migrate(a.App, g.builder)
			if err != nil {
				return err
			}
			r, err := g.engine(p.publisher(g, c), waitOpts{}, nil, nil).Commit(ctx, a.App, ch)
			if err != nil {
				return err
			}
			res := resultOut(r)
			res.Next = fmt.Sprintf("edit the template in %s; the next `%s deploy` takes it into the idle color", render.TemplateDir, g.cmdPrefix(a))
			return g.printTransition(res)
		},
	}
}
