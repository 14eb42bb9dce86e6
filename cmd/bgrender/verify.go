package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/release"
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
			Usage: "base URL of the Istio ingress gateway, e.g. http://10.0.0.7 or a port-forward"},
		&cli.StringFlag{Name: "host", Destination: &v.host,
			Usage: "Host header to send (default: the first non-wildcard host in gateway.hosts)"},
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
		for _, h := range cfg.Gateway.Hosts {
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
			if err := p.use(g, c); err != nil {
				return err
			}
			res, err := g.verify(c.Context, o, v, e)
			if err != nil {
				return err
			}
			return g.finish(c.Context, res, g.printTransition)
		},
	}
}

// verify waits for the app's last transition commit, smoke-tests the release
// under test through the test route and commits the evidence.
func (g *globals) verify(ctx context.Context, o waitOpts, v verifyOpts, e expectOpts) (transitionResult, error) {
	a, err := g.openAppWith(ctx, true, false) // history: the last transition commit
	if err != nil {
		return transitionResult{}, err
	}
	defer a.Repo.Close()
	if err := state.Expect(a.State, state.RoleTest, e.release, e.version); err != nil {
		return transitionResult{}, err
	}
	if a.State.Test == nil {
		return transitionResult{}, &state.RefusedError{App: a.State.App, Reason: state.ErrNoTest, Detail: "nothing to verify: no release is under test"}
	}
	if !a.State.TestRouted() {
		return transitionResult{}, &state.RefusedError{App: a.State.App, Reason: state.ErrNoTest,
			Detail: fmt.Sprintf("%s has no test route yet; `%s route` it first", a.State.Test.Describe(), g.cmdPrefix(a))}
	}
	target, err := v.target(a.Config, *a.State.Test, true)
	if err != nil {
		return transitionResult{}, err
	}
	last, err := a.Repo.LastChange(ctx, a.Dir)
	if err != nil {
		return transitionResult{}, fmt.Errorf("%s: find the last transition commit: %w", a.Dir, err)
	}
	commit := last.Hash.String()
	applied, err := g.waitApplied(ctx, a, o, commit)
	if err != nil {
		return transitionResult{}, fmt.Errorf("%s: verify: %w", a.Dir, err)
	}
	report, err := g.runSmoke(ctx, a.Config, target)
	if err != nil {
		return transitionResult{}, fmt.Errorf("%s: verify %s through the test route: %w", a.Dir, a.State.Test.Describe(), err)
	}
	ev := state.Evidence{
		Release: a.State.Test.ID, Commit: commit, Revision: applied.Revision, Source: applied.Source,
		VerifiedAt: g.now().UTC().Format(time.RFC3339),
	}
	for _, c := range report.Checks {
		ev.Checks = append(ev.Checks, c.Name)
	}
	res, _, err := g.commitStep(ctx, e.guard(state.RoleTest, func(a *appCtx) (state.State, string, string, error) {
		next, err := state.Verify(a.State, ev)
		if err != nil {
			return next, "", "", err
		}
		t := next.Test
		return next, release.Subject(a.State, next),
			fmt.Sprintf("`%s promote` switches the default route to %s", g.cmdPrefix(a), t.Color), nil
	}), release.EvidenceLines(ev)...)
	return res, err
}
