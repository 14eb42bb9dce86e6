package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/forge"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
)

// prOpts are the --pr flags of a transition command: instead of committing
// to the branch, the transition is committed on its own branch and proposed
// as a pull (merge) request.
type prOpts struct {
	enabled                    bool
	forge, forgeURL, forgeRepo string
}

func prFlags(p *prOpts) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "pr", Destination: &p.enabled,
			Usage: "commit on branch bgrender/APP/TRANSITION-RELEASE and open (or update) a pull request to --branch instead of committing to it"},
		&cli.StringFlag{Name: "forge", Destination: &p.forge,
			Usage: "with --pr: github, gitlab or gitea (Forgejo too) (default: from the remote's host, github.com or gitlab.com)"},
		&cli.StringFlag{Name: "forge-url", Destination: &p.forgeURL,
			Usage: "with --pr: API base URL of a self-hosted forge, e.g. https://ghe.example.com/api/v3, https://gitlab.example.com/api/v4, https://gitea.example.com/api/v1"},
		&cli.StringFlag{Name: "forge-repo", Destination: &p.forgeRepo,
			Usage: "with --pr: the repository on the forge, owner/name (GitLab: group/project) (default: from the remote URL)"},
	}
}

// publisher is the proposal publisher when --pr is set (nil otherwise: a
// push to the branch), recording how to reproduce it.
//
// --forge, --forge-url and --forge-repo without --pr are ignored, not
// refused: CI sets them once as BGRENDER_FORGE* for every job, and only the
// jobs that open pull requests use them.
func (p *prOpts) publisher(g *globals, c *cli.Context) release.Publisher {
	if !p.enabled {
		return nil
	}
	return &release.Proposal{
		Reproduce: reproduceCommand(g, c),
		Forge: func(r *gitops.Repo) (release.Forge, error) {
			f, err := p.newForge(r, g.getenv)
			if err != nil {
				return nil, err
			}
			return f, nil
		},
	}
}

// reproduceCommand is the command line that renders the same proposal
// again. It is built from the flags' values, never from the raw arguments,
// so secrets given as flags cannot reach the pull request.
func reproduceCommand(g *globals, c *cli.Context) string {
	parts := []string{"bgrender"}
	if g.repo != "." {
		parts = append(parts, "--repo", shellQuote(gitops.WithoutCredentials(g.repo)))
	}
	if g.branch != "" {
		parts = append(parts, "--branch", shellQuote(g.branch))
	}
	if g.app != "." {
		parts = append(parts, "--app", shellQuote(g.app))
	}
	parts = append(parts, c.Command.Name)
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		switch v := c.Value(name).(type) {
		case bool:
			if v {
				parts = append(parts, "--"+name)
			}
		default:
			parts = append(parts, "--"+name, shellQuote(fmt.Sprint(v)))
		}
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// prOut is the pull request a --pr transition opened or updated.
type prOut struct {
	Forge   string `json:"forge"`
	Branch  string `json:"branch"`
	Base    string `json:"base"`
	Number  int    `json:"number"`
	URL     string `json:"url"`
	Created bool   `json:"created"`
}

// newForge resolves the forge client for repo's remote from the flags, the
// remote URL and the environment. Everything is checked before any commit;
// forge.New validates each field, the token included (taken from the
// environment only, never from a flag ps would show).
func (p *prOpts) newForge(r *gitops.Repo, getenv func(string) string) (*forge.Client, error) {
	target := r.PushTarget()
	if target == "" {
		return nil, usagef("--pr: %s has no remote to push the branch to; use a remote URL or a checkout with an origin", r.Location())
	}
	kind, _, repo, known := forge.FromRemote(target)
	switch {
	case p.forge != "":
		k, err := forge.ParseKind(p.forge)
		if err != nil {
			return nil, usagef("%v", err)
		}
		kind = k
	case !known:
		return nil, usagef("--forge: cannot tell the forge from the remote %s; give --forge github|gitlab|gitea (and --forge-url for a self-hosted server)", target)
	}
	if p.forgeRepo != "" {
		repo = p.forgeRepo
	}
	token, _ := forge.TokenFromEnv(kind, getenv)
	c, err := forge.New(forge.Config{Kind: kind, BaseURL: p.forgeURL, Repo: repo, Token: token})
	if err != nil {
		return nil, usagef("--pr: %v", err)
	}
	return c, nil
}
