package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/analysis"
	"github.com/bgrender/bgrender/pkg/config"
)

func analyzeCommand(g *globals) *cli.Command {
	var phase string
	return &cli.Command{
		Name:      "analyze",
		Usage:     "judge the release under test (or the live one) by its metrics in Prometheus, once",
		UsageText: "bgrender [global options] analyze [--phase test|live]",
		Description: `Runs the metrics of analysis: in bgrender.yaml against Prometheus
(GET /api/v1/query), with the release's names in the query templates
(.App, .Namespace, .Color, .Release, .Version, .Window), count times,
interval apart. Each query must give one sample or a scalar; a value outside
its min/max fails the measurement; an empty result fails it or is
inconclusive (onEmpty); fewer requests than minRequests is inconclusive.
Exit 0 when the analysis passes, 1 when it fails or is inconclusive; every
measurement is printed (-o json: result and measurements). Prometheus
credentials come from the environment (analysis.prometheus.headers), never
from git. It commits nothing; verify runs the same analysis before it
records evidence.

` + examples("bgrender --app apps/myapp analyze",
			"PROM_AUTH='Bearer …' bgrender --app apps/myapp -o json analyze --phase live"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "phase", Value: analysis.PhaseTest, Destination: &phase, Usage: "test: the release under test; live: the active one"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("analyze takes no arguments")
			}
			a, err := g.openAppWith(c.Context, false, false)
			if err != nil {
				return err
			}
			defer a.Repo.Close()
			spec := a.Config.Analysis
			if spec == nil {
				return usagef("no analysis: declare analysis.prometheus and analysis.metrics in %s", config.FileName)
			}
			vars, err := analysis.VarsFor(a.Config, a.State, phase)
			if err != nil {
				return usagef("analyze: %v", err)
			}
			headers, err := analysis.Headers(spec.Prometheus, g.getenv)
			if err != nil {
				return usagef("%v", err)
			}
			an := &analysis.Analyzer{Client: &analysis.Client{Address: spec.Prometheus.Address, Headers: headers}}
			if !g.json() {
				an.OnMeasure = func(m analysis.Measurement) { fmt.Fprintln(g.stdout, m) }
			}
			rep, err := an.Run(c.Context, *spec, vars)
			if err != nil {
				return err
			}
			if g.json() {
				if err := writeJSON(g.stdout, rep); err != nil {
					return err
				}
			}
			return analysis.Verdict(rep)
		},
	}
}
