package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/gitops"
)

type statusOut struct {
	App     string      `json:"app"`
	Phase   string      `json:"phase"`
	Active  *releaseOut `json:"active"`
	Test    *releaseOut `json:"test"`
	Standby *releaseOut `json:"standby"`
	Commit  string      `json:"commit"`
	Route   string      `json:"-"`
	Subject string      `json:"-"`
}

func statusCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the phase, the active, test and standby releases, and the last transition's commit",
		UsageText: "bgrender [global options] status",
		Description: `With -o json the keys are app, phase, active, test, standby (objects with
color, version and release, or null) and commit.

` + examples("bgrender --app apps/myapp status", "bgrender --app apps/myapp -o json status | jq -r .active.version"),
		Action: func(c *cli.Context) error {
			ctx := c.Context
			a, err := g.openAppWith(ctx, true, false)
			if err != nil {
				return err
			}
			defer a.repo.Close()
			r, dir := a.repo, a.dir
			out := statusOut{
				App: a.st.App, Phase: string(a.st.Phase()), Active: releaseJSON(a.st.Active),
				Test: releaseJSON(a.st.Test), Standby: releaseJSON(a.st.Standby), Route: describeRoute(a.cfg, a.st),
			}
			last, err := r.LastChange(ctx, dir)
			if err != nil && !errors.Is(err, gitops.ErrHistoryTruncated) {
				return fmt.Errorf("%s: find the last transition: %w", dir, err)
			}
			if err == nil {
				out.Commit, out.Subject = last.Hash.String(), firstLine(last.Message)
			}
			if g.json() {
				return writeJSON(g.stdout, out)
			}
			w := g.stdout
			fmt.Fprintf(w, "app:     %s (%s)\n", out.App, dir)
			fmt.Fprintf(w, "phase:   %s\n", out.Phase)
			for _, role := range []struct {
				name string
				r    *releaseOut
			}{{"active", out.Active}, {"test", out.Test}, {"standby", out.Standby}} {
				if role.r == nil {
					fmt.Fprintf(w, "%-8s -\n", role.name+":")
					continue
				}
				fmt.Fprintf(w, "%-8s %s %s (release %s)\n", role.name+":", role.r.Color, role.r.Version, role.r.Release)
			}
			fmt.Fprintf(w, "route:   %s\n", out.Route)
			if out.Commit != "" {
				fmt.Fprintf(w, "commit:  %s %s\n", short(out.Commit), out.Subject)
			}
			return nil
		},
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
