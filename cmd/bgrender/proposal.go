package main

import (
	"context"
	"errors"
	"fmt"

	"path"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gate"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/state"
)

// openBase opens the base branch of a pull request for reading; in a local
// checkout it may exist only as a remote-tracking branch (origin/main).
func (g *globals) openBase(ctx context.Context, base string) (*gitops.Repo, error) {
	// With its history: the gate needs to know where the pull request's
	// own commits end.
	r, err := g.openReadOnly(ctx, base, true)
	if err != nil {
		return nil, fmt.Errorf("--base %s: %w", base, err)
	}
	return r, nil
}

// openReadOnly opens branch of --repo for reading: in a local checkout the
// branch may be a remote-tracking one (origin/main), and without --branch a
// detached HEAD is read, as CI leaves a pull request's checkout.
func (g *globals) openReadOnly(ctx context.Context, branch string, history bool) (*gitops.Repo, error) {
	r, err := gitops.Open(ctx, gitops.Options{
		Repo:     g.repo,
		Branch:   branch,
		ReadOnly: true,
		History:  history,
		Auth:     g.auth(),
	})
	if err != nil {
		return nil, fmt.Errorf("open repo: %w%s", err, authHint(err))
	}
	return r, nil
}

// baseChecker checks the apps of a pull request branch against its base.
type baseChecker struct {
	g        *globals
	pr, base *gitops.Repo
	gate     *gate.Checker   // nil until first needed
	targets  map[string]bool // where the base's apps send the Argo CD token; nil until read
}

// maxBaseHistory bounds the base's commits read to tell where a pull
// request's own commits end.
const maxBaseHistory = 100_000

// findings are the findings for app dir; cfg is its config on the pull
// request branch (nil when it does not load).
func (b *baseChecker) findings(ctx context.Context, dir string, cfg *config.Config) []string {
	out := b.handMade(ctx, dir)
	out = append(out, b.g.checkProposal(ctx, b.pr, b.base, dir)...)
	if cfg != nil {
		out = append(out, b.tokenTarget(ctx, dir, *cfg)...)
	}
	return out
}

// handMade: every change the pull request makes to the app's state must be
// a valid bgrender transition, replayed from where it left the base.
func (b *baseChecker) handMade(ctx context.Context, dir string) []string {
	fail := func(format string, args ...any) []string { return []string{fmt.Sprintf(format, args...)} }
	prTree, err := b.pr.DirHash(ctx, b.pr.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	baseTree, err := b.base.DirHash(ctx, b.base.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	if prTree == baseTree {
		return nil
	}
	if b.gate == nil {
		onBase, complete, err := b.base.Ancestors(ctx, maxBaseHistory)
		if err != nil {
			return fail("read the history of %s: %v", b.base.Branch(), err)
		}
		if !complete && len(onBase) >= maxBaseHistory {
			return fail("%s has more than %d commits: only the newest are read to find where this branch left it", b.base.Branch(), maxBaseHistory)
		}
		b.gate = &gate.Checker{PR: b.pr, Base: b.base, OnBase: onBase, Limits: b.g.appLimits()}
	}
	chain, err := b.gate.Chain(ctx, b.pr.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	return b.gate.HandMade(ctx, dir, chain)
}

// tokenTarget: a pull request must not change where bgrender sends the Argo
// CD token (wait.server, and how its TLS is checked), since its author
// controls bgrender.yaml on the branch. A new app may send it only where an
// app on the base already does.
func (b *baseChecker) tokenTarget(ctx context.Context, dir string, cfg config.Config) []string {
	target := cfg.Wait.TokenTarget()
	if target == "" {
		return nil
	}
	const why = "merge it only if that server is yours (this check fails so that it is not merged unseen), or give the server with --argocd-server in the CI job that waits"
	if ba, err := b.g.loadApp(ctx, b.base, dir); err == nil {
		if was := ba.Config.Wait.TokenTarget(); was != target {
			return []string{fmt.Sprintf("wait: this pull request changes where bgrender sends the Argo CD token, from %q to %q; %s", was, target, why)}
		}
		return nil
	}
	if b.targets == nil {
		b.targets = map[string]bool{}
		dirs, err := b.base.FindDirs(ctx, config.FileName)
		if err != nil {
			return []string{fmt.Sprintf("wait: list the apps on %s: %v", b.base.Branch(), err)}
		}
		for _, d := range dirs {
			if ba, err := b.g.loadApp(ctx, b.base, d); err == nil {
				b.targets[ba.Config.Wait.TokenTarget()] = true
			}
		}
	}
	if !b.targets[target] {
		return []string{fmt.Sprintf("wait: this new app sends the Argo CD token to %q, where no app on %s sends it; %s", target, b.base.Branch(), why)}
	}
	return nil
}

// checkProposal returns the findings for app dir on a pull request branch
// (pr) against its base: when the branch carries a bgrender transition for
// the app, the base must not have changed the app since the transition was
// rendered, or merging would not give what bgrender renders now. When it
// has, the transition is replayed on the base's state to say whether it is
// still possible at all.
func (g *globals) checkProposal(ctx context.Context, pr, base *gitops.Repo, dir string) []string {
	fail := func(format string, args ...any) []string { return []string{fmt.Sprintf(format, args...)} }
	prTree, err := pr.DirHash(ctx, pr.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	baseTree, err := base.DirHash(ctx, base.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	if prTree == baseTree {
		return nil // nothing proposed for this app
	}
	c, err := pr.LastChange(ctx, dir)
	if err != nil {
		return fail("%s: find the commit that changed it on %s: %v", dir, pr.Branch(), err)
	}
	// On a pull request's merge commit (GitHub's default checkout, GitLab's
	// merged results), the proposal is on the merged side: follow it.
	for len(c.Parents) > 1 && c.Trailer(trailerTransition) == "" {
		if c, err = pr.LastChangeFrom(ctx, c.Parents[1], dir); err != nil {
			return fail("%s: find the commit that changed it on the merged branch: %v", dir, err)
		}
	}
	transition := c.Trailer(trailerTransition)
	if transition == "" || len(c.Parents) == 0 {
		return nil // a change by hand: the other checks cover it
	}
	renderedOn, err := pr.DirHash(ctx, c.Parents[0], dir)
	if err != nil {
		return fail("%s: read the app as the proposal %s found it: %v", dir, short(c.Hash.String()), err)
	}
	if renderedOn == baseTree {
		return nil // the base has not changed the app since: merging gives exactly the transition
	}
	moved := fmt.Sprintf("%s changed %s after the %s on this branch (commit %s) was rendered", base.Branch(), dir, transition, short(c.Hash.String()))
	if last, err := base.LastChange(ctx, dir); err == nil {
		moved += fmt.Sprintf(" (latest: %s %q)", short(last.Hash.String()), firstLine(last.Message))
	}
	redo := fmt.Sprintf("close this pull request, or run `bgrender --app %s %s --pr` again to render it on the new %s", dir, transition, base.Branch())
	ba, err := g.loadApp(ctx, base, dir)
	if err != nil {
		return fail("%s; the app on %s does not load: %v", moved, base.Branch(), err)
	}
	if _, err := replayOn(ctx, pr, ba.State, c, dir); err != nil {
		var refused *state.RefusedError
		if errors.As(err, &refused) {
			return fail("%s: the %s is no longer valid there: %v; %s", moved, transition, err, redo)
		}
		return fail("%s: %v", moved, err)
	}
	return fail("%s; merging would not give what bgrender renders now: %s", moved, redo)
}

// replayOn applies the transition commit c made to state s (a changed
// base's): it tells whether the transition is still possible there.
func replayOn(ctx context.Context, pr *gitops.Repo, s state.State, c gitops.Commit, dir string) (state.State, error) {
	data, ok, err := pr.FileAt(ctx, c.Hash, path.Join(dir, state.FileName))
	if err != nil {
		return s, err
	}
	var recorded state.State
	if ok {
		if recorded, err = state.Parse(path.Join(dir, state.FileName), data); err != nil {
			return s, err
		}
	}
	step := state.Step{Transition: state.Transition(c.Trailer(trailerTransition)), Release: c.Trailer(trailerRelease),
		Version: c.Trailer(trailerVersion), Color: state.Color(c.Trailer(trailerColor))}
	if step.Transition == state.TPromote {
		// Evidence was checked when the proposal was made; here only
		// whether the same release is still under test.
		recorded = state.State{Active: &state.Release{Promotion: &state.Promotion{Forced: true, Reason: "replay"}}}
	}
	return state.Replay(s, step, recorded)
}
