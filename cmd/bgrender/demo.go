package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/gitops"
)

func demoCommand(g *globals) *cli.Command {
	var dir string
	return &cli.Command{
		Name:      "demo",
		Usage:     "run a whole blue-green cycle against a throwaway env repo with a bare remote",
		UsageText: "bgrender demo [--dir DIR]",
		Description: `Creates a bare git repository as the remote and runs, through this same CLI:
init, deploy v1, promote, deploy v2, promote, rollback, decommission, printing
each commit and the route it sets. Nothing to install, nothing leaves the
machine. The repository is deleted afterwards unless --dir is given.

` + examples("bgrender demo", "bgrender demo --dir /tmp/env && git -C /tmp/env/remote.git log --stat"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Destination: &dir, Usage: "keep the demo repository in this new directory"},
		},
		Action: func(c *cli.Context) error {
			if dir == "" {
				tmp, err := os.MkdirTemp("", "bgrender-demo-")
				if err != nil {
					return fmt.Errorf("demo: %w", err)
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
				return usagef("--dir %s: must be a new or empty directory", dir)
			}
			remote := filepath.Join(dir, "remote.git")
			if err := gitops.InitBare(remote, "main"); err != nil {
				return fmt.Errorf("demo: create the remote: %w", err)
			}
			abs, err := filepath.Abs(remote)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			url := "file://" + filepath.ToSlash(abs)
			if !g.json() {
				fmt.Fprintf(g.stdout, "env repo: %s (a bare repository standing in for your git server)\n", url)
			}
			steps := [][]string{
				{"init", "--name", "myapp", "--image", "ghcr.io/example/myapp"},
				{"deploy", "--version", "v1"},
				{"promote", "--force", "--reason", "demo: no cluster to smoke-test against"},
				{"deploy", "--from-tag", "v2-green"},
				{"promote", "--force", "--reason", "demo: no cluster to smoke-test against"},
				{"rollback"},
				{"decommission"},
				{"status"},
			}
			for _, step := range steps {
				if !g.json() {
					fmt.Fprintf(g.stdout, "\n$ bgrender --app apps/myapp %s\n", quoteArgs(step))
				}
				sub := &globals{stdin: g.stdin, stdout: g.stdout, stderr: g.stderr, now: g.now, builder: g.builder, getenv: g.getenv, jitter: g.jitter, sleep: g.sleep}
				args := append([]string{"bgrender", "--repo", url, "--app", "apps/myapp", "-o", g.output,
					"--author-name", g.authorName, "--author-email", g.authorEmail}, step...)
				if err := newApp(sub).RunContext(c.Context, args); err != nil {
					return fmt.Errorf("demo step %q: %w", quoteArgs(step), err)
				}
			}
			if !g.json() {
				fmt.Fprintln(g.stdout, "\ndemo done: every transition above is one commit on main, ready for Argo CD or Flux to apply.")
			}
			return nil
		},
	}
}

func quoteArgs(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		if a == "" || containsSpace(a) {
			out += fmt.Sprintf("%q", a)
		} else {
			out += a
		}
	}
	return out
}

func containsSpace(s string) bool {
	for _, c := range s {
		if c == ' ' || c == '\t' {
			return true
		}
	}
	return false
}
