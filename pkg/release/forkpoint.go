package release

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bgrender/bgrender/pkg/gate"
	"github.com/bgrender/bgrender/pkg/gitops"
)

// forkAncestry tells which commits are on the base for a pull request's
// check, reading the base's whole history only when it must. A branch made
// from the base's head (the usual pull request: bgrender ... --pr, or a
// branch not yet behind) reaches that head along first parents, and
// exactly the commits above it are not on the base: the base's head has no
// descendant among its ancestors. Any other question (a merge's other
// parent, a commit that evidence names, a branch the base has moved past)
// is answered from the base's whole history, read once.
type forkAncestry struct {
	base  *gitops.Repo
	head  plumbing.Hash
	above map[plumbing.Hash]bool
	full  gate.Set // nil until needed
}

func newForkAncestry(ctx context.Context, pr, base *gitops.Repo) (*forkAncestry, error) {
	a := &forkAncestry{base: base, head: base.Head()}
	above := map[plumbing.Hash]bool{}
	for cur, n := pr.Head(), 0; !cur.IsZero() && n <= gate.MaxChain; n++ {
		if cur == a.head {
			a.above = above
			break
		}
		c, err := pr.ReadCommit(ctx, cur)
		if errors.Is(err, gitops.ErrUnknownRevision) {
			break // a shallow history's end: the full walk decides
		}
		if err != nil {
			return nil, err
		}
		above[cur] = true
		if len(c.Parents) == 0 {
			break
		}
		cur = c.Parents[0]
	}
	return a, nil
}

// Contains reports whether h is the base's head or one of its ancestors.
func (a *forkAncestry) Contains(ctx context.Context, h plumbing.Hash) (bool, error) {
	if h == a.head {
		return true, nil
	}
	if a.above != nil && a.above[h] {
		return false, nil
	}
	if a.full == nil {
		set, complete, err := a.base.Ancestors(ctx, maxBaseHistory)
		if err != nil {
			return false, fmt.Errorf("read the history of %s: %w", a.base.Branch(), err)
		}
		if !complete && len(set) >= maxBaseHistory {
			return false, fmt.Errorf("%s has more than %d commits: only the newest are read to find where this branch left it", a.base.Branch(), maxBaseHistory)
		}
		a.full = set
	}
	return a.full[h], nil
}
