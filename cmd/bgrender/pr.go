package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/forge"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/state"
)

// prOpts are the --pr flags of a transition command: instead of committing
// to the branch, the transition is committed on its own branch and proposed
// as a pull (merge) request.
type prOpts struct {
	enabled                    bool
	forge, forgeURL, forgeRepo string
	// reproduce is the command that renders the proposal again (for the body).
	reproduce string
	// client is the forge's, resolved on the first attempt of the transition.
	client *forge.Client
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

// use arms g for a proposal when --pr is set, recording how to reproduce it.
//
// --forge, --forge-url and --forge-repo without --pr are ignored, not
// refused: CI sets them once as BGRENDER_FORGE* for every job, and only the
// jobs that open pull requests use them.
func (p *prOpts) use(g *globals, c *cli.Context) error {
	if !p.enabled {
		return nil
	}
	p.reproduce = reproduceCommand(g, c)
	g.pr = p
	return nil
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

// prBranch is the branch a transition is proposed on. One branch per
// transition of a release: proposing it again updates the same branch and
// pull request.
//
// A change that is not a state transition (transition, e.g. migrate, is not
// next's last one) is named after itself alone: the last transition's name
// would be the branch of that transition's own pull request.
func prBranch(next state.State, transition string) string {
	if transition != "" && transition != string(next.Last.Name) {
		return fmt.Sprintf("bgrender/%s/%s", next.App, transition)
	}
	b := fmt.Sprintf("bgrender/%s/%s", next.App, next.Last.Name)
	if next.Last.Release != "" {
		b += "-" + next.Last.Release
	}
	return b
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

// prBody is the pull request's description: what changes for traffic and
// images, the evidence of a promotion, and how to render it again.
func prBody(a *appCtx, next state.State, diff, reproduce string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bgrender proposes **%s** for **%s** (`%s`) on `%s`.\n\n", next.Last.Name, next.App, a.Dir, a.Repo.Branch())
	b.WriteString("| | before | after |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| route | %s | %s |\n", mdCell(release.Route(a.Config, a.State)), mdCell(release.Route(a.Config, next)))
	for _, c := range state.Colors() {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c, mdCell(colorText(a.Config, a.State, c)), mdCell(colorText(a.Config, next, c)))
	}
	if next.Last.Name == state.TPromote && next.Active != nil && next.Active.Promotion != nil {
		pr := next.Active.Promotion
		b.WriteString("\n### Verification\n\n")
		if pr.Evidence != nil {
			for _, l := range release.EvidenceLines(*pr.Evidence) {
				fmt.Fprintf(&b, "- %s\n", l)
			}
		} else {
			fmt.Fprintf(&b, "- **forced without verification evidence**: %s\n", pr.Reason)
		}
	}
	fmt.Fprintf(&b, "\n### Reproduce\n\n```sh\n%s\n```\n\n", reproduce)
	fmt.Fprintf(&b, "Rendered on `%s` at `%s`. Merging applies exactly this transition. If `%s` changes `%s` before this merges, "+
		"`bgrender check --all --base %s` on this branch fails; run the command above again to render it anew.\n",
		a.Repo.Branch(), short(a.Repo.Head().String()), a.Repo.Branch(), a.Dir, a.Repo.Branch())
	if diff != "" {
		const maxDiff = 50_000 // forges cap a description at 64 KiB (GitHub) or 1 MB
		if len(diff) > maxDiff {
			diff = diff[:maxDiff] + "\n... (diff truncated; see the branch)\n"
		}
		fmt.Fprintf(&b, "\n<details><summary>Changed files</summary>\n\n```diff\n%s```\n\n</details>\n", diff)
	}
	return b.String()
}

// colorText says what runs in color c in state s, for the body's table.
func colorText(cfg config.Config, s state.State, c state.Color) string {
	r := s.InColor(c)
	if r == nil {
		return "nothing"
	}
	return fmt.Sprintf("`%s:%s` (%s)", cfg.Image, r.Version, s.RoleOf(c))
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// openPR opens or updates the pull request for a proposal pushed by apply.
func (g *globals) openPR(ctx context.Context, res *transitionResult) error {
	pr, err := g.pr.client.OpenOrUpdate(ctx, forge.Request{Head: res.PR.Branch, Base: res.PR.Base, Title: res.Subject, Body: res.prBody})
	if err != nil {
		return fmt.Errorf("%s: branch %s is pushed (commit %s), but opening the pull request failed: %w; run the command again to retry, or open it by hand",
			res.Dir, res.PR.Branch, short(res.Commit), err)
	}
	res.PR.Number, res.PR.URL, res.PR.Created = pr.Number, pr.URL, pr.Created
	return nil
}
