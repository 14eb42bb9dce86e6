package main

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

func initCommand(g *globals) *cli.Command {
	var (
		name, image, readiness, namespace, container, bind string
		port                                               int
		hosts                                              cli.StringSlice
		adopt                                              bool
	)
	return &cli.Command{
		Name:      "init",
		Usage:     "scaffold an app directory (config, state, base, per-color, overlays), or adopt an existing kustomize app, and commit it",
		UsageText: "bgrender [global options] init --name N --image REPO [--adopt] [--container C] [--port 3000] [--readiness-path /ready] [--namespace default] [--host \"*\"]...",
		Description: `Writes bgrender.yaml, the state file, a kustomization.yaml, the user-owned
base/ (what both colors share: a Service and a Gateway) and per-color/ (the
template of what each color runs: a Deployment), as one commit. Refused
(exit 3) when the app directory already holds a bgrender app, or any file.

With --adopt, the directory holds a kustomize app already (a kustomization.yaml
with a Deployment, a Service, maybe an HPA, a PDB, ConfigMaps...). Its
Deployment, the HPAs and PDBs of it and the ConfigMaps and Secrets its pods
use go to per-color/; the rest, with the app's own kustomization.yaml, to
base/; each move is listed. --port and --namespace default to the
Deployment's first container port and the kustomization's namespace.

` + examples("bgrender --app apps/myapp init --name myapp --image ghcr.io/acme/myapp",
			`bgrender --app apps/shop init --name shop --image registry.local:5000/shop --port 8080 --host shop.example.com`,
			`bgrender --app apps/podinfo init --adopt --name podinfo --image ghcr.io/stefanprodan/podinfo --container podinfod`),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Destination: &name, Usage: "app name (DNS-1123): names the Service, the Deployments <name>-<color> and the routes"},
			&cli.StringFlag{Name: "image", Destination: &image, Usage: "image repository without tag; a release runs <image>:<version>"},
			&cli.BoolFlag{Name: "adopt", Destination: &adopt, Usage: "make the kustomize app already in the directory a bgrender app"},
			&cli.StringFlag{Name: "container", Destination: &container, Usage: "the container that gets the image (default: the only one, or the one named after the app)"},
			&cli.IntFlag{Name: "port", Value: 3000, Destination: &port, Usage: "container port (with --adopt: the Deployment's)"},
			&cli.StringFlag{Name: "readiness-path", Value: "/ready", Destination: &readiness, Usage: "HTTP path of the readiness probe bgrender adds where the container has none"},
			&cli.StringFlag{Name: "namespace", Value: "default", Destination: &namespace, Usage: "Kubernetes namespace (with --adopt: the kustomization's)"},
			&cli.StringSliceFlag{Name: "host", Destination: &hosts, Usage: "host the gateway and routes accept (repeatable)", DefaultText: `"*"`},
			&cli.StringFlag{Name: "bind", Value: config.BindBoth, Destination: &bind, Usage: "which callers the routes govern: both, gateway (requests through the Gateway) or mesh (calls inside the mesh; no Gateway)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("init takes no arguments")
			}
			if name == "" || image == "" {
				return usagef("init needs --name and --image")
			}
			cfg := config.Default(name, image)
			cfg.Port, cfg.ReadinessPath, cfg.Namespace, cfg.Container = port, readiness, namespace, container
			cfg.Istio.Bind = bind
			if h := hosts.Value(); len(h) > 0 {
				cfg.Gateway.Hosts = h
			}
			if err := cfg.Validate(); err != nil {
				return usagef("init: %v", err)
			}
			return g.initApp(c, cfg, initOpts{adopt: adopt, portSet: c.IsSet("port"), namespaceSet: c.IsSet("namespace")})
		},
	}
}

// initOpts are init's choices besides the config.
type initOpts struct {
	adopt                 bool
	portSet, namespaceSet bool
}

func (g *globals) initApp(c *cli.Context, cfg config.Config, o initOpts) error {
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
	current, err := g.readApp(ctx, r, dir)
	if err != nil {
		return err
	}
	for _, f := range []string{config.FileName, state.FileName} {
		if _, ok := current[f]; ok {
			return refusedError{Msg: fmt.Sprintf("%s: refused: an app already exists here (%s); use `bgrender --app %s status`, or choose another --app", dir, joinApp(dir, f), dir)}
		}
	}
	var files render.Files
	var moves []string
	var adopted string // the digest of what adopt kept serving
	switch {
	case o.adopt:
		if !o.namespaceSet {
			cfg.Namespace = kustomizationNamespace(current, cfg.Namespace)
		}
		if !o.portSet {
			cfg.Port = deploymentPort(current, cfg.App, cfg.Container, cfg.Port)
		}
		if err := cfg.Validate(); err != nil {
			return usagef("init --adopt: %v", err)
		}
		ad, err := render.Adopt(cfg, current)
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		files, moves, adopted = ad.Files, ad.Moves, ad.Adopted
	case len(current) > 0:
		var names []string
		for p := range current {
			names = append(names, path.Join(dir, p))
		}
		sort.Strings(names)
		if len(names) > 5 {
			names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
		}
		return refusedError{Msg: fmt.Sprintf("%s: refused: the directory is not empty (%s), and init would overwrite or mix with its files; to make the kustomize app there a bgrender app, add --adopt", dir, strings.Join(names, ", "))}
	default:
		if files, err = render.Scaffold(cfg); err != nil {
			return fmt.Errorf("scaffold base: %w", err)
		}
	}
	// What a deploy will patch must be there: one Deployment named after the
	// app, and the container that gets the image.
	if _, err := render.Snapshot(cfg, render.Subtree(files, render.TemplateDir), state.Release{ID: "r-init", Version: "v0", Color: state.Blue}); err != nil {
		var we *render.WorkloadError
		if errors.As(err, &we) {
			return usagef("%s: %v (init --container NAME writes it)", dir, err)
		}
		return err
	}
	cfgData, err := config.Marshal(cfg)
	if err != nil {
		return err
	}
	files[config.FileName] = cfgData
	a := &appCtx{g: g, App: &release.App{Repo: r, Dir: dir, Files: current, Config: cfg}}
	st := state.New(cfg.App)
	if adopted != "" {
		st.Adopted = &state.Adopted{Deployment: cfg.App, Snapshot: adopted}
	}
	want, st, err := release.Files(cfg, files, st, st)
	if err != nil {
		return err
	}
	if a.Shared, err = g.readShared(ctx, r, dir, want); err != nil {
		return err
	}
	subject := fmt.Sprintf("%s: init (image %s, namespace %s)", cfg.App, cfg.Image, cfg.Namespace)
	body := "Route: " + release.Route(cfg, st)
	note := ""
	if o.adopt {
		subject = fmt.Sprintf("%s: adopt (image %s, namespace %s)", cfg.App, cfg.Image, cfg.Namespace)
		body += "\n" + strings.Join(moves, "\n")
		note = "moved: " + strings.Join(moves, "; ")
	}
	hint := fmt.Sprintf("point an Argo CD Application or Flux Kustomization at %s, then `%s deploy --version V`", dir, g.cmdPrefix(a))
	r2, err := g.engine(nil, waitOpts{}, nil, nil).Commit(ctx, a.App, release.Change{Files: want, Next: st, Subject: subject, Body: body, Note: note,
		Transition: string(state.TInit), Trailers: release.Trailers(st), Replace: []string{"."}})
	if err != nil {
		return err
	}
	res := resultOut(r2)
	res.Next = hint
	return g.printTransition(res)
}

// kustomizationNamespace is the namespace an app's kustomization.yaml sets,
// or def.
func kustomizationNamespace(files render.Files, def string) string {
	k, err := yaml.Parse(string(files[render.KustomizationFile]))
	if err != nil {
		return def
	}
	if ns, err := k.GetString("namespace"); err == nil && ns != "" {
		return ns
	}
	return def
}

// deploymentPort is the first port of the Deployment's container that gets
// the image (container, else the one named app, else the first), or def.
func deploymentPort(files render.Files, app, container string, def int) int {
	for _, b := range files {
		nodes, err := kio.FromBytes(b)
		if err != nil {
			continue
		}
		for _, n := range nodes {
			if n.GetKind() != "Deployment" {
				continue
			}
			cs, _ := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
			if cs == nil {
				continue
			}
			items, _ := cs.Elements()
			var pick *yaml.RNode
			for _, c := range items {
				name, _ := c.GetString("name")
				if (container != "" && name == container) || (container == "" && name == app) {
					pick = c
				}
			}
			if pick == nil && len(items) > 0 && container == "" {
				pick = items[0]
			}
			if pick == nil || pick.Field("ports") == nil {
				continue
			}
			ps, _ := pick.Field("ports").Value.Elements()
			for _, pn := range ps {
				if f := pn.Field("containerPort"); f != nil {
					if port, err := strconv.Atoi(yaml.GetValue(f.Value)); err == nil {
						return port
					}
				}
			}
		}
	}
	return def
}
