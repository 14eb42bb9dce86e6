package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
)

type checkOut struct {
	OK     bool                `json:"ok"`
	Commit string              `json:"commit"`
	Apps   []release.AppReport `json:"apps"`
}

func checkCommand(g *globals) *cli.Command {
	var all, noSkip bool
	var base string
	var jobs int
	return &cli.Command{
		Name:      "check",
		Usage:     "check an app (or every app) at the branch head: state, drift, kustomize build, routing invariants",
		UsageText: "bgrender [global options] check [--all] [--base BRANCH]",
		Description: `Checks the committed tree at the branch head: the state and config parse and
hold their invariants; the overlays are exactly what bgrender renders from the
state (drift is shown as a diff; "bgrender render" repairs it); kustomize build
succeeds; every routed subset exists and has a Deployment, the default rule is
last, nothing routes to a missing color. Exit 1 on any finding. This is what
an env-repo pull request check runs.

With --base, the branch is a pull request to BRANCH: every change it makes
to an app's release state must be a bgrender transition commit, valid from
the state before it (a state edited by hand fails, naming the change and the
command that makes it); it must not change where the Argo CD token goes
(wait.server); and a transition proposed on it (bgrender ... --pr) must have
been rendered on the base's current version of the app. If the base changed the app since, check fails and says whether
the transition is still possible there (render it again) or no longer valid
(close the pull request). In a CI checkout the base may be origin/BRANCH, and
a detached HEAD (a pull request's merge commit) is checked as it is. An app
dir the pull request leaves as on the base (its tree, and what it reaches
outside it) is skipped, with the reason, unless the change makes a claim
(an object, a host) its app did not make on the base.

` + examples("bgrender check --all", "bgrender --app apps/myapp check", "bgrender --branch pr-42 -o json check --all",
			"bgrender --branch bgrender/myapp/rollback-r-1a2b3c4d5e check --all --base main   # a rollback pull request"),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Destination: &all, Usage: "check every app dir (every directory with a bgrender.yaml)"},
			&cli.StringFlag{Name: "base", Destination: &base, Usage: "the branch this one is a pull request to: fail when a transition proposed here no longer fits it"},
			&cli.BoolFlag{Name: "no-skip", Destination: &noSkip, Usage: "with --base: check the app dirs the pull request does not change too"},
			&cli.IntFlag{Name: "jobs", Destination: &jobs, Usage: "app dirs checked at once (default: one per core; each build holds tens of MiB)"},
		},
		Action: func(c *cli.Context) error {
			ctx := c.Context
			r, err := g.openReadOnly(ctx, g.branch, base != "")
			if err != nil {
				return err
			}
			defer r.Close()
			var baseRepo *gitops.Repo
			if base != "" {
				if baseRepo, err = g.openBase(ctx, base); err != nil {
					return err
				}
				defer baseRepo.Close()
			}
			var dirs []string
			if all {
				if dirs, err = r.FindDirs(ctx, config.FileName); err != nil {
					return fmt.Errorf("find apps: %w", err)
				}
				if len(dirs) == 0 {
					return fmt.Errorf("no %s anywhere on branch %s of %s: nothing to check", config.FileName, r.Branch(), r.Location())
				}
			} else {
				dir, err := appDir(g.app)
				if err != nil {
					return err
				}
				dirs = []string{dir}
			}
			if jobs < 0 {
				return usagef("--jobs %d: must be 1 or more (0: one per core)", jobs)
			}
			checker := g.checker()
			checker.NoSkip, checker.Workers = noSkip, jobs
			apps, err := checker.Check(ctx, r, baseRepo, dirs)
			if err != nil {
				return err
			}
			out := checkOut{OK: true, Commit: r.Head().String(), Apps: apps}
			problems := 0
			for _, a := range apps {
				problems += len(a.Findings)
				out.OK = out.OK && a.OK
			}
			if g.json() {
				if err := writeJSON(g.stdout, out); err != nil {
					return err
				}
			} else {
				var skipped []string
				for _, a := range out.Apps {
					for _, n := range a.Notes {
						fmt.Fprintf(g.stderr, "note: %s\n", n)
					}
					if a.Skipped != "" {
						skipped = append(skipped, a.Dir)
						continue
					}
					if a.OK {
						fmt.Fprintf(g.stdout, "ok    %s\n", a.Dir)
						continue
					}
					fmt.Fprintf(g.stdout, "FAIL  %s\n", a.Dir)
					for _, f := range a.Findings {
						fmt.Fprintf(g.stdout, "  - %s\n", indent(f))
					}
				}
				printSkipped(g, skipped, base, out.Apps)
			}
			if problems > 0 {
				return findingsError{problems}
			}
			return nil
		},
	}
}

// checker is the app checker with the flags' builder, limits and loader.
func (g *globals) checker() *release.Checker {
	return &release.Checker{
		Builder: g.builder,
		Limits:  g.appLimits(),
		Load: func(ctx context.Context, r *gitops.Repo, dir string) (*release.App, error) {
			a, err := g.loadApp(ctx, r, dir)
			if err != nil {
				return nil, err
			}
			return a.App, nil
		},
	}
}

// printSkipped says which app dirs a pull request's check skipped, and
// why.
func printSkipped(g *globals, dirs []string, base string, apps []release.AppReport) {
	if len(dirs) == 0 {
		return
	}
	why := ""
	for _, a := range apps {
		if a.Skipped != "" {
			why = a.Skipped
			break
		}
	}
	names := strings.Join(dirs[:min(len(dirs), 5)], ", ")
	if len(dirs) > 5 {
		names += fmt.Sprintf(" and %d more", len(dirs)-5)
	}
	fmt.Fprintf(g.stdout, "skip  %d app dir(s) %s (%s); --no-skip checks them too\n", len(dirs), names, why)
}

func indent(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
