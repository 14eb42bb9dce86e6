package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gate"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// transitionMigrate names the commit of migrate: not a state transition,
// but a move of the layout.
const transitionMigrate = gate.TransitionMigrate

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
			cfg, cfgData, bindNote, err := keepGatewayBinding(a.Config, a.Files[config.FileName])
			if err != nil {
				return err
			}
			files, next, err := render.Migrate(cfg, a.State, a.Files)
			if err != nil {
				return err
			}
			files[config.FileName] = cfgData
			a.Config = cfg
			st, err := state.Marshal(next)
			if err != nil {
				return err
			}
			files[state.FileName] = st
			if err := g.sameObjects(a, files); err != nil {
				return err
			}
			r, err := g.engine(p.publisher(g, c), waitOpts{}, nil, nil).Commit(ctx, a.App, release.Change{
				Files:      files,
				Next:       next,
				Subject:    fmt.Sprintf("%s: migrate to per-color snapshots (no object changes)", a.Config.App),
				Body:       "base/deployment/ is now per-color/; each deployed color runs a snapshot of it, taken as it runs now." + bindNote,
				Note:       strings.TrimSpace(bindNote),
				Transition: transitionMigrate,
				Trailers:   []gitops.Trailer{{Key: trailerApp, Value: a.Config.App}, {Key: trailerTransition, Value: transitionMigrate}},
				Replace:    []string{"."},
			})
			if err != nil {
				return err
			}
			res := resultOut(r)
			res.Next = fmt.Sprintf("edit the template in %s; the next `%s deploy` takes it into the idle color", render.TemplateDir, g.cmdPrefix(a))
			return g.printTransition(res)
		},
	}
}

// sameObjects checks that the app builds to the same objects (compared as
// parsed YAML, in order) in its files now and in files.
func (g *globals) sameObjects(a *appCtx, files render.Files) error {
	before, err := a.build(a.Files)
	if err != nil {
		return fmt.Errorf("%s: kustomize build before the migration: %w", a.Dir, err)
	}
	after, err := a.build(files)
	if err != nil {
		return fmt.Errorf("%s: kustomize build after the migration: %w", a.Dir, err)
	}
	canon := func(b []byte) (string, error) {
		nodes, err := kio.FromBytes(b)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := (&kio.ByteWriter{Writer: &buf}).Write(nodes); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	x, err := canon(before)
	if err != nil {
		return err
	}
	y, err := canon(after)
	if err != nil {
		return err
	}
	if x != y {
		return fmt.Errorf("%s: migrating would change objects, so nothing was done:\n%s", a.Dir,
			render.Diff(a.Dir, render.Files{"build.yaml": before}, render.Files{"build.yaml": after}))
	}
	return nil
}

// keepGatewayBinding: routes now bind to the mesh too unless told
// otherwise, which would add a VirtualService; migrating changes no object,
// so an app without istio.bind gets istio.bind: gateway, written into its
// bgrender.yaml (comments kept), with a note on what binding to both does.
func keepGatewayBinding(cfg config.Config, data []byte) (config.Config, []byte, string, error) {
	doc, err := yaml.Parse(string(data))
	if err != nil {
		return cfg, nil, "", fmt.Errorf("%s: %w", config.FileName, err)
	}
	if v, _ := doc.Pipe(yaml.Lookup("istio", "bind")); v != nil {
		return cfg, data, "", nil
	}
	istio, err := doc.Pipe(yaml.LookupCreate(yaml.MappingNode, "istio"))
	if err != nil {
		return cfg, nil, "", fmt.Errorf("%s: %w", config.FileName, err)
	}
	if err := istio.PipeE(yaml.SetField("bind", yaml.NewStringRNode(config.BindGateway))); err != nil {
		return cfg, nil, "", fmt.Errorf("%s: %w", config.FileName, err)
	}
	out, err := doc.String()
	if err != nil {
		return cfg, nil, "", err
	}
	cfg.Istio.Bind = config.BindGateway
	return cfg, []byte(out), "\nistio.bind: gateway is set, as the routes were: pods inside the mesh reach both colors through the Service. Set it to both (the default for new apps) to give them the test and default routes too.", nil
}
