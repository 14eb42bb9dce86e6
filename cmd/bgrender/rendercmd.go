package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
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
			if looksLikeURL(g.repo) {
				return usagef("render writes files in a local checkout; clone %s first (or use check to see drift)", g.repo)
			}
			root := filepath.Join(g.repo, filepath.FromSlash(dir))
			current, err := readTree(root)
			if err != nil {
				return err
			}
			cfg, err := config.Parse(joinApp(dir, config.FileName), current[config.FileName])
			if err != nil {
				return err
			}
			st, err := state.Parse(joinApp(dir, state.FileName), current[state.FileName])
			if err != nil {
				return err
			}
			want, err := desired(cfg, current, st)
			if err != nil {
				return err
			}
			if err := g.verifyBuild(cfg.App, dir, want); err != nil {
				return err
			}
			diff := render.Diff(dir, ownedOnly(current), ownedOnly(want))
			if !g.dryRun {
				if err := writeOwned(root, current, want); err != nil {
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

// readTree reads every regular file under root, keyed by slash path.
func readTree(root string) (render.Files, error) {
	files := render.Files{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such app directory", root)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", root, err)
	}
	return files, nil
}

// writeOwned makes the bgrender-owned files under root equal want.
func writeOwned(root string, current, want render.Files) error {
	var paths []string
	for p := range current {
		if render.Owned(p) {
			if _, keep := want[p]; !keep {
				paths = append(paths, p)
			}
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			return fmt.Errorf("remove stale %s: %w", p, err)
		}
	}
	for p, b := range want {
		if !render.Owned(p) || string(current[p]) == string(b) {
			continue
		}
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return removeEmptyDirs(filepath.Join(root, render.OverlaysDir))
}

// removeEmptyDirs drops directories under dir left empty by removed overlays.
func removeEmptyDirs(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			sub := path.Join(dir, e.Name())
			if err := removeEmptyDirs(sub); err != nil {
				return err
			}
			if rest, _ := os.ReadDir(sub); len(rest) == 0 {
				if err := os.Remove(sub); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
