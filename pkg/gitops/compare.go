package gitops

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ChangedPaths lists the files whose content or mode differ between the
// heads of a and b (added and removed ones too), sorted, at most limit of
// them (more: ErrTooManyChanges). Trees are compared by hash, each read
// from its own repo, so only the subtrees that differ are read: the cost
// is the change's, not the repo's.
func ChangedPaths(ctx context.Context, a, b *Repo, limit int) ([]string, error) {
	if a.objects == nil || b.objects == nil {
		return nil, errClosed()
	}
	changes, err := diffTreesIn(ctx, a.objects, b.objects, a.headTree, b.headTree, limit)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.path
	}
	return out, nil
}

// treeEntries are the entries of tree h (none for the zero hash), by name.
func treeEntries(s storer.EncodedObjectStorer, h plumbing.Hash) (map[string]object.TreeEntry, error) {
	m := map[string]object.TreeEntry{}
	if h.IsZero() {
		return m, nil
	}
	t, err := object.GetTree(s, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", shortHash(h), err)
	}
	for _, e := range t.Entries {
		m[e.Name] = e
	}
	return m, nil
}
