package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

func initCommand(g *globals) *cli.Command {
	var (
		name, image, readiness, namespace string
		port                              int
		hosts                             cli.StringSlice
	)
	return &cli.Command{
		Name:      "init",
		Usage:     "scaffold an app directory (config, state, base, overlays) and commit it",
		UsageText: "bgrender [global options] init --name N --image REPO [--port 3000] [--readiness-path /ready] [--namespace default] [--host \"*\"]...",
		Description: `Writes bgrender.yaml, the state file, a kustomization.yaml, the user-owned
base/ (Deployment template, Service, Gateway; kept as is if base/ already has
files) and the empty overlays/, as one commit. Refused (exit 3) when the app
directory already holds an app.

` + examples("bgrender --app apps/myapp init --name myapp --image ghcr.io/acme/myapp",
			`bgrender --app apps/shop init --name shop --image registry.local:5000/shop --port 8080 --host shop.example.com`),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Destination: &name, Usage: "app name (DNS-1123): names the Service, the Deployments <name>-<color> and the routes"},
			&cli.StringFlag{Name: "image", Destination: &image, Usage: "image repository without tag; a release runs <image>:<version>"},
			&cli.IntFlag{Name: "port", Value: 3000, Destination: &port, Usage: "container port"},
			&cli.StringFlag{Name: "readiness-path", Value: "/ready", Destination: &readiness, Usage: "HTTP path of the readiness probe"},
			&cli.StringFlag{Name: "namespace", Value: "default", Destination: &namespace, Usage: "Kubernetes namespace"},
			&cli.StringSliceFlag{Name: "host", Destination: &hosts, Usage: "host the gateway and routes accept (repeatable)", DefaultText: `"*"`},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("init takes no arguments")
			}
			if name == "" || image == "" {
				return usagef("init needs --name and --image")
			}
			cfg := config.Default(name, image)
			cfg.Port, cfg.ReadinessPath, cfg.Namespace = port, readiness, namespace
			if h := hosts.Value(); len(h) > 0 {
				cfg.Gateway.Hosts = h
			}
			if err := cfg.Validate(); err != nil {
				return usagef("init: %v", err)
			}
			return g.initApp(c, cfg)
		},
	}
}

func (g *globals) initApp(c *cli.Context, cfg config.Config) error {
	ctx := c.Context
	dir, err := appDir(g.app)
	if err != nil {
		return err
	}
	if err := g.checkNoSymlink(dir); err != nil {
		return err
	}
	r, err := g.openRepo(ctx, false, false)
	if err != nil {
		return err
	}
	defer r.Close()
	current, err := r.ReadDir(ctx, dir)
	if err != nil {
		return fmt.Errorf("read app %s: %w", dir, err)
	}
	for _, f := range []string{config.FileName, state.FileName} {
		if _, ok := current[f]; ok {
			return refusedError{fmt.Sprintf("%s: refused: an app already exists here (%s); use `bgrender --app %s status`, or choose another --app", dir, joinApp(dir, f), dir)}
		}
	}
	cfgData, err := config.Marshal(cfg)
	if err != nil {
		return err
	}
	files := render.Files{}
	for p, b := range current {
		files[p] = b
	}
	files[config.FileName] = cfgData
	if !hasPrefixKey(current, "base/") {
		scaffold, err := render.Scaffold(cfg)
		if err != nil {
			return fmt.Errorf("scaffold base: %w", err)
		}
		for p, b := range scaffold {
			files[p] = b
		}
	}
	a := &appCtx{g: g, repo: r, dir: dir, files: files, cfg: cfg}
	st := state.New(cfg.App)
	subject := fmt.Sprintf("%s: init (image %s, namespace %s)", cfg.App, cfg.Image, cfg.Namespace)
	hint := fmt.Sprintf("point an Argo CD Application or Flux Kustomization at %s, then `%s deploy --version V`", dir, g.cmdPrefix(a))
	res, err := a.apply(ctx, st, subject, "Route: "+describeRoute(cfg, st), hint)
	if err != nil {
		return err
	}
	// The diff of a dry run is against the repo as it is, not the in-memory scaffold.
	if res.DryRun {
		want, _, _ := desired(cfg, files, st, st)
		res.Diff = render.Diff(dir, current, want)
	}
	return g.printTransition(res)
}

func hasPrefixKey(files render.Files, prefix string) bool {
	for p := range files {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}
