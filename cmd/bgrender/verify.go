package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/smoke"
	"github.com/bgrender/bgrender/pkg/state"
)

// verifyOpts say where the gateway is.
type verifyOpts struct {
	gatewayURL, host string
}

func verifyFlags(v *verifyOpts) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "gateway-url", Destination: &v.gatewayURL,
			Usage: "base URL of the ingress gateway (Istio, or the Gateway API implementation), e.g. http://10.0.0.7 or a port-forward"},
		&cli.StringFlag{Name: "host", Destination: &v.host,
			Usage: "Host header to send (default: the first non-wildcard host in gateway.hosts, or gatewayAPI.hostnames)"},
	}
}

// target builds the smoke target for release r through the test route
// (test) or the default route.
func (v verifyOpts) target(cfg config.Config, r state.Release, test bool) (smoke.Target, error) {
	if v.gatewayURL == "" {
		return smoke.Target{}, usagef("--gateway-url (or $BGRENDER_GATEWAY_URL) is needed to reach the gateway")
	}
	t := smoke.Target{GatewayURL: v.gatewayURL, Host: v.host, Release: r}
	if t.Host == "" {
		for _, h := range cfg.Hosts() {
			if !strings.Contains(h, "*") {
				t.Host = h
				break
			}
		}
	}
	if test {
		if c := cfg.TestRoute.Cookie; c != nil {
			t.Selector = smoke.CookieSelector(c.Name, c.Value)
		} else {
			t.Selector = smoke.HeaderSelector(cfg.TestRoute.Header.Name, cfg.TestRoute.Header.Value)
		}
	}
	return t, nil
}

// runSmoke runs the app's smoke checks against t, printing progress.
func (g *globals) runSmoke(ctx context.Context, cfg config.Config, t smoke.Target) (smoke.Report, error) {
	if len(cfg.Verify.Checks) == 0 {
		return smoke.Report{}, usagef("no smoke checks: declare verify.checks (and verify.identity) in %s", config.FileName)
	}
	r := &smoke.Runner{Client: &http.Client{Transport: httptransport.New()}, Now: g.now, Sleep: g.sleep, Progress: func(e smoke.Event) {
		if !g.json() {
			fmt.Fprintf(g.stderr, "%s\n", e)
		}
	}}
	return r.Run(ctx, cfg.Verify, t)
}

func verifyCommand(g *globals) *cli.Command {
	var (
		o waitOpts
		v verifyOpts
		e expectOpts
		p prOpts
	)
	return &cli.Command{
		Name:      "verify",
		Usage:     "wait for the release under test to be applied, smoke-test it through the test route, record the evidence",
		UsageText: "bgrender [global options] verify --gateway-url URL [--host H] [wait flags]",
		Description: `Waits until the GitOps controller has applied the app's last transition
commit, then proves the test route reaches the release under test (its
version or release id in the header or JSON field named by verify.identity)
and runs verify.checks through it, adding the test cookie itself. On success
the evidence — release, applied commit, checks passed, time — is committed
to the state; promote needs it. On failure nothing is committed (exit 1).

` + examples("bgrender --app apps/myapp verify --gateway-url http://istio-gw.example.com",
			"bgrender --app apps/myapp -o json verify --gateway-url http://127.0.0.1:8080 --host myapp.example.com",
			"bgrender --app apps/myapp verify --gateway-url http://istio-gw.example.com --pr   # protected branch: the evidence as a pull request"),
		Flags: append(append(append(verifyFlags(&v), waitFlags(&o)...), expectFlags(&e, state.RoleTest)...), prFlags(&p)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("verify takes no arguments")
			}
			_, err := g.engine(p.publisher(g, c), o, &v, g.print).Verify(c.Context, e.expect())
			return err
		},
	}
}

// cliSmoker runs the app's smoke checks through the gateway of the flags.
type cliSmoker struct {
	g *globals
	v verifyOpts
}

func (s *cliSmoker) Ready(cfg config.Config) error {
	_, err := s.v.target(cfg, state.Release{}, true)
	return err
}

func (s *cliSmoker) Smoke(ctx context.Context, cfg config.Config, r state.Release, test bool) (smoke.Report, error) {
	t, err := s.v.target(cfg, r, test)
	if err != nil {
		return smoke.Report{}, err
	}
	return s.g.runSmoke(ctx, cfg, t)
}
