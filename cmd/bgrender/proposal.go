package main

import (
	"context"
	"fmt"

	"github.com/bgrender/bgrender/pkg/gitops"
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
