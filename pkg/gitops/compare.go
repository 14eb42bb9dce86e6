package gitops

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ChangedPaths lists the files whose content or mode differ between the
// heads of a and b (added and removed ones too), sorted. Trees are compared
// by hash, each read from its own repo, so only the subtrees that differ
// are read: the cost is the change's, not the repo's.
func ChangedPaths(ctx context.Context, a, b *Repo) ([]string, error) {
	if a.objects == nil || b.objects == nil {
		return nil, errClosed()
	}
	changes, err := diffTreesIn(ctx, a.objects, b.objects, a.headTree, b.headTree)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.path
	}
	return out, nil
}

// DirTree is the hash of dir's tree at the head (zero when there is no
// such directory): two repos' dirs with one hash hold the same files.
func (r *Repo) DirTree(dir string) (plumbing.Hash, error) {
	if r.objects == nil {
		return plumbing.ZeroHash, errClosed()
	}
	d, err := cleanDir(dir)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	h, mode, ok, err := treeAt(r.objects, r.headTree, d)
	if err != nil || !ok || mode != filemode.Dir {
		return plumbing.ZeroHash, err
	}
	return h, nil
}

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
