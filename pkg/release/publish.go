package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/forge"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// Publisher publishes a transition's commit: pushed to the branch
// (Direct), or proposed on a branch of its own as a pull request
// (Proposal). The engine passes it in; nothing else decides.
type Publisher interface {
	// Publish commits change on a's head and pushes it, filling in what
	// it tells of res (the pull request). It is one attempt: a lost race
	// is gitops.ErrPushRejected.
	Publish(ctx context.Context, a *App, change gitops.Change, res *Result) (gitops.Result, error)
	// Finish runs once the transition has landed (opens the pull request).
	Finish(ctx context.Context, res *Result) error
}

// Direct commits to the branch and pushes: the app dir must have no local
// changes in a checkout.
type Direct struct{}

// Publish implements Publisher.
func (Direct) Publish(ctx context.Context, a *App, change gitops.Change, res *Result) (gitops.Result, error) {
	if err := a.Repo.CheckClean(ctx, a.Dir); err != nil {
		var dirty *gitops.DirtyError
		if errors.As(err, &dirty) {
			return gitops.Result{}, fmt.Errorf("%s: %w; commit or discard local changes to the app dir first", a.Dir, err)
		}
		return gitops.Result{}, fmt.Errorf("%s: %w", a.Dir, err)
	}
	out, err := a.Repo.Apply(ctx, change)
	if err != nil {
		return out, fmt.Errorf("%s: commit %s: %w%s", a.Dir, res.Transition, err, AuthHint(err))
	}
	return out, nil
}

// Finish implements Publisher.
func (Direct) Finish(context.Context, *Result) error { return nil }

// Forge opens pull requests.
type Forge interface {
	Kind() forge.Kind
	OpenOrUpdate(ctx context.Context, r forge.Request) (forge.PR, error)
}

// PullRequest is the pull request a proposal opened or updated.
type PullRequest struct {
	Forge   string
	Branch  string
	Base    string
	Number  int
	URL     string
	Created bool
	// Body is its description (ProposalBody).
	Body string
}

// Proposal commits a transition on a branch of its own
// (ProposalBranch) and opens or updates a pull request to the branch.
// Nothing local changes, so a dirty worktree is no obstacle. One Proposal
// serves one command: it keeps the forge it resolved.
type Proposal struct {
	// Forge resolves the forge for the repo's remote; it is called once,
	// on the first attempt, before anything is committed.
	Forge func(r *gitops.Repo) (Forge, error)
	// Reproduce is the command line that renders the proposal again, for
	// its description.
	Reproduce string

	client Forge
}

// Publish implements Publisher.
func (p *Proposal) Publish(ctx context.Context, a *App, change gitops.Change, res *Result) (gitops.Result, error) {
	if p.client == nil {
		c, err := p.Forge(a.Repo)
		if err != nil {
			return gitops.Result{}, err
		}
		p.client = c
	}
	res.PR = &PullRequest{
		Forge:  string(p.client.Kind()),
		Branch: ProposalBranch(res.Next, res.Transition),
		Base:   a.Repo.Branch(),
		Body:   ProposalBody(a, res.Next, render.Diff(a.Dir, a.Files, change.Files), p.Reproduce),
	}
	out, err := a.Repo.Propose(ctx, change, res.PR.Branch)
	if err != nil {
		return out, fmt.Errorf("%s: commit %s: %w%s", a.Dir, res.Transition, err, AuthHint(err))
	}
	return out, nil
}

// Finish opens or updates the pull request of the pushed branch.
func (p *Proposal) Finish(ctx context.Context, res *Result) error {
	if res.PR == nil {
		return nil
	}
	pr, err := p.client.OpenOrUpdate(ctx, forge.Request{Head: res.PR.Branch, Base: res.PR.Base, Title: res.Subject, Body: res.PR.Body})
	if err != nil {
		return fmt.Errorf("%s: branch %s is pushed (commit %s), but opening the pull request failed: %w; run the command again to retry, or open it by hand",
			res.Dir, res.PR.Branch, short(res.Commit), err)
	}
	res.PR.Number, res.PR.URL, res.PR.Created = pr.Number, pr.URL, pr.Created
	return nil
}

// ProposalBranch is the branch a transition is proposed on. One branch per
// transition of a release: proposing it again updates the same branch and
// pull request.
//
// A change that is not a state transition (transition, e.g. migrate, is not
// next's last one) is named after itself alone: the last transition's name
// would be the branch of that transition's own pull request.
func ProposalBranch(next state.State, transition string) string {
	if transition != "" && transition != string(next.Last.Name) {
		return fmt.Sprintf("bgrender/%s/%s", next.App, transition)
	}
	b := fmt.Sprintf("bgrender/%s/%s", next.App, next.Last.Name)
	if next.Last.Release != "" {
		b += "-" + next.Last.Release
	}
	return b
}

// ProposalBody is a pull request's description: what changes for traffic
// and images, the evidence of a promotion, and how to render it again.
func ProposalBody(a *App, next state.State, diff, reproduce string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bgrender proposes **%s** for **%s** (`%s`) on `%s`.\n\n", next.Last.Name, next.App, a.Dir, a.Repo.Branch())
	b.WriteString("| | before | after |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| route | %s | %s |\n", mdCell(Route(a.Config, a.State)), mdCell(Route(a.Config, next)))
	for _, c := range state.Colors() {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c, mdCell(colorText(a.Config, a.State, c)), mdCell(colorText(a.Config, next, c)))
	}
	if next.Last.Name == state.TPromote && next.Active != nil && next.Active.Promotion != nil {
		pr := next.Active.Promotion
		b.WriteString("\n### Verification\n\n")
		if pr.Evidence != nil {
			for _, l := range EvidenceLines(*pr.Evidence) {
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
