package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/release"
)

func initCommand(g *globals) *cli.Command {
	var (
		name, image, readiness, namespace, container, bind string
		routing, parent, section                           string
		port, parentPort                                   int
		hosts                                              cli.StringSlice
		adopt                                              bool
	)
	return &cli.Command{
		Name:      "init",
		Usage:     "scaffold an app directory (config, state, base, per-color, overlays), or adopt an existing kustomize app, and commit it",
		UsageText: "bgrender [global options] init --name N --image REPO [--adopt] [--container C] [--port 3000] [--readiness-path /ready] [--namespace default] [--host \"*\"]... [--routing gateway-api --parent [NAMESPACE/]GATEWAY [--section LISTENER] [--parent-port N]]",
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

With --routing gateway-api the routes are a Gateway API HTTPRoute attached to
the Gateway --parent names (usually shared, in another namespace; the Gateway
must allow routes from the app's namespace), to a Service per color; --host
sets its hostnames. No Gateway is scaffolded: set gatewayAPI.gateway in
bgrender.yaml for one. --bind mesh or both adds the in-mesh route (GAMMA).

` + examples("bgrender --app apps/myapp init --name myapp --image ghcr.io/acme/myapp",
			`bgrender --app apps/shop init --name shop --image registry.local:5000/shop --port 8080 --host shop.example.com`,
			`bgrender --app apps/podinfo init --adopt --name podinfo --image ghcr.io/stefanprodan/podinfo --container podinfod`,
			`bgrender --app apps/web init --name web --image ghcr.io/acme/web --routing gateway-api --parent infra/shared --section https --host web.example.com`),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Destination: &name, Usage: "app name (DNS-1123): names the Service, the Deployments <name>-<color> and the routes"},
			&cli.StringFlag{Name: "image", Destination: &image, Usage: "image repository without tag; a release runs <image>:<version>"},
			&cli.BoolFlag{Name: "adopt", Destination: &adopt, Usage: "make the kustomize app already in the directory a bgrender app"},
			&cli.StringFlag{Name: "container", Destination: &container, Usage: "the container that gets the image (default: the only one, or the one named after the app)"},
			&cli.IntFlag{Name: "port", Value: 3000, Destination: &port, Usage: "container port (with --adopt: the Deployment's)"},
			&cli.StringFlag{Name: "readiness-path", Value: "/ready", Destination: &readiness, Usage: "HTTP path of the readiness probe bgrender adds where the container has none"},
			&cli.StringFlag{Name: "namespace", Value: "default", Destination: &namespace, Usage: "Kubernetes namespace (with --adopt: the kustomization's)"},
			&cli.StringSliceFlag{Name: "host", Destination: &hosts, Usage: "host the gateway and routes accept (repeatable)", DefaultText: `"*"`},
			&cli.StringFlag{Name: "bind", Value: config.BindBoth, Destination: &bind, Usage: "which callers the routes govern: both, gateway (requests through the Gateway) or mesh (calls inside the mesh; no Gateway); with gateway-api the default is gateway", DefaultText: "both"},
			&cli.StringFlag{Name: "routing", Value: config.RoutingIstio, Destination: &routing, Usage: "the routes' API: istio (VirtualService, DestinationRule) or gateway-api (HTTPRoute)"},
			&cli.StringFlag{Name: "parent", Destination: &parent, Usage: "with gateway-api: the Gateway the HTTPRoute attaches to, as NAME or NAMESPACE/NAME"},
			&cli.StringFlag{Name: "section", Destination: &section, Usage: "with gateway-api: the listener of --parent, by name (sectionName)"},
			&cli.IntFlag{Name: "parent-port", Destination: &parentPort, Usage: "with gateway-api: the listener of --parent, by port"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("init takes no arguments")
			}
			if name == "" || image == "" {
				return usagef("init needs --name and --image")
			}
			cfg, err := initConfig(name, image, routing, bind, c.IsSet("bind"), parent, section, parentPort, hosts.Value())
			if err != nil {
				return err
			}
			cfg.Port, cfg.ReadinessPath, cfg.Namespace, cfg.Container = port, readiness, namespace, container
			if err := cfg.Validate(); err != nil {
				return usagef("init: %v", err)
			}
			return g.initApp(c, cfg, release.InitOptions{Adopt: adopt, PortSet: c.IsSet("port"), NamespaceSet: c.IsSet("namespace")})
		},
	}
}

// initConfig is the config init starts from, for the router chosen.
func initConfig(name, image, routing, bind string, bindSet bool, parent, section string, parentPort int, hosts []string) (config.Config, error) {
	switch routing {
	case config.RoutingIstio:
		if parent != "" || section != "" || parentPort != 0 {
			return config.Config{}, usagef("init: --parent, --section and --parent-port are for --routing gateway-api")
		}
		cfg := config.Default(name, image)
		cfg.Istio.Bind = bind
		if len(hosts) > 0 {
			cfg.Gateway.Hosts = hosts
		}
		return cfg, nil
	case config.RoutingGatewayAPI:
		ref := config.ParentRef{Name: parent, SectionName: section, Port: parentPort}
		if ns, n, ok := strings.Cut(parent, "/"); ok {
			ref.Namespace, ref.Name = ns, n
		}
		if !bindSet {
			bind = config.BindGateway
		}
		cfg := config.DefaultGatewayAPI(name, image, ref, hosts)
		cfg.GatewayAPI.Bind = bind
		if parent == "" {
			if bind != config.BindMesh {
				return config.Config{}, usagef("init: --routing gateway-api needs --parent [NAMESPACE/]GATEWAY, the Gateway the HTTPRoute attaches to (or --bind mesh)")
			}
			cfg.GatewayAPI.ParentRefs = nil
		}
		return cfg, nil
	default:
		return config.Config{}, usagef("init: --routing %q: must be %s or %s", routing, config.RoutingIstio, config.RoutingGatewayAPI)
	}
}

func (g *globals) initApp(c *cli.Context, cfg config.Config, o release.InitOptions) error {
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
	ch, cfg, err := release.Init(cfg, dir, current, o)
	if err != nil {
		return err
	}
	a := &release.App{Repo: r, Dir: dir, Files: current, Config: cfg}
	if a.Shared, err = g.readShared(ctx, r, dir, ch.Files); err != nil {
		return err
	}
	committed, err := g.engine(nil, waitOpts{}, nil, nil).Commit(ctx, a, ch)
	if err != nil {
		return err
	}
	res := resultOut(committed)
	res.Next = fmt.Sprintf("point an Argo CD Application or Flux Kustomization at %s, then `%s deploy --version V`", dir, release.CommandPrefix(dir))
	return g.printTransition(res)
}
