package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/state"
)

type statusOut struct {
	App     string      `json:"app"`
	Phase   string      `json:"phase"`
	Active  *releaseOut `json:"active"`
	Test    *releaseOut `json:"test"`
	Standby *releaseOut `json:"standby"`
	Commit  string      `json:"commit"`
	// Unreleased names a change of the template or config that the active
	// color does not run yet, and the command that releases it.
	Unreleased string `json:"unreleased,omitempty"`
	// Adopted describes the workload the app ran before bgrender
	// (init --adopt) while it is still there.
	Adopted string `json:"adopted,omitempty"`
	Route   string `json:"-"`
	Subject string `json:"-"`
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
			defer a.Repo.Close()
			r, dir := a.Repo, a.Dir
			out := statusOut{
				App: a.State.App, Phase: string(a.State.Phase()), Active: releaseJSON(a.State.Active),
				Test: releaseJSON(a.State.Test), Standby: releaseJSON(a.State.Standby), Route: release.Route(a.Config, a.State),
				Unreleased: release.Unreleased(a.App, g.cmdPrefix(a)), Adopted: describeAdopted(a.State),
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
			if out.Adopted != "" {
				fmt.Fprintf(w, "adopted: %s\n", out.Adopted)
			}
			fmt.Fprintf(w, "route:   %s\n", out.Route)
			if out.Commit != "" {
				fmt.Fprintf(w, "commit:  %s %s\n", short(out.Commit), out.Subject)
			}
			if out.Unreleased != "" {
				fmt.Fprintf(w, "unreleased: %s\n", out.Unreleased)
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

// describeAdopted says what the adopted workload does in state s ("" when
// there is none).
func describeAdopted(s state.State) string {
	a := s.Adopted
	switch {
	case a == nil:
		return ""
	case s.Active == nil:
		return fmt.Sprintf("Deployment %s (as it ran before bgrender) serves everyone not on the test route until a release is promoted", a.Deployment)
	}
	return fmt.Sprintf("Deployment %s (as it ran before bgrender) is warm: rollback routes back to it, decommission removes it", a.Deployment)
}
