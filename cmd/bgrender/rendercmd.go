package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/vet"
	"github.com/bgrender/bgrender/pkg/worktree"
)

func renderCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "render",
		Usage:     "rewrite the overlays in a local checkout from the state file, without committing",
		UsageText: "bgrender [global options] render",
		Description: `Reads bgrender.yaml and the state file from the working tree, rewrites
kustomization.yaml and overlays/ (repairing drift), and prints what changed.
Nothing is committed; with --dry-run nothing is written either.

` + examples("bgrender --app apps/myapp render", "bgrender --app apps/myapp --dry-run render"),
		Action: func(c *cli.Context) error {
			dir, err := appDir(g.app)
			if err != nil {
				return err
			}
			if err := g.checkNoSymlink(dir); err != nil {
				return err
			}
			if gitops.IsRemote(g.repo) {
				return usagef("render writes files in a local checkout; clone %s first (or use check to see drift)", g.repo)
			}
			root := filepath.Join(g.repo, filepath.FromSlash(dir))
			current, links, err := worktree.ReadTree(root)
			if err != nil {
				return err
			}
			if len(links) > 0 {
				// Writing overlays through a link would write outside the
				// app dir, or the repo.
				return fmt.Errorf("%w; nothing was written", symlinkError(dir, links))
			}
			l := g.appLimits()
			if errs := vet.Files(current, l); len(errs) > 0 {
				return fmt.Errorf("%s: %w%s; nothing was written", dir, errors.Join(errs...), limitHint(errs[0]))
			}
			cfg, err := config.Parse(joinApp(dir, config.FileName), current[config.FileName])
			if err != nil {
				return err
			}
			st, err := state.Parse(joinApp(dir, state.FileName), current[state.FileName])
			if err != nil {
				return err
			}
			want, _, err := release.Files(cfg, current, st, st)
			if err != nil {
				return err
			}
			shared, err := worktree.ReadShared(g.repo, dir, current, l)
			if err != nil {
				return fmt.Errorf("%w%s; nothing was written", err, limitHint(err))
			}
			if _, err := release.Build(g.builder, cfg, dir, want, shared); err != nil {
				return err
			}
			diff := render.Diff(dir, release.OwnedOnly(current), release.OwnedOnly(want))
			if !g.dryRun {
				if err := worktree.WriteOwned(root, current, want); err != nil {
					return err
				}
			}
			if g.json() {
				return writeJSON(g.stdout, map[string]any{"app": st.App, "dir": dir, "changed": diff != "", "dryRun": g.dryRun, "diff": diff})
			}
			if diff == "" {
				fmt.Fprintf(g.stdout, "%s: overlays already match the state\n", dir)
				return nil
			}
			fmt.Fprint(g.stdout, diff)
			if g.dryRun {
				fmt.Fprintf(g.stdout, "%s: dry run, nothing written\n", dir)
			} else {
				fmt.Fprintf(g.stdout, "%s: overlays rewritten; review and commit them\n", dir)
			}
			return nil
		},
	}
}
