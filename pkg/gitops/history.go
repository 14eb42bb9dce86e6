package gitops

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Commit is a commit read back from history.
type Commit struct {
	Hash     plumbing.Hash
	Message  string // the full message
	Author   Signature
	Trailers []Trailer // ParseTrailers(Message)
	Parents  []plumbing.Hash
}

// Trailer returns the value of the commit's last trailer named key, or "".
func (c Commit) Trailer(key string) string {
	for i := len(c.Trailers) - 1; i >= 0; i-- {
		if c.Trailers[i].Key == key {
			return c.Trailers[i].Value
		}
	}
	return ""
}

// CommitFrom converts a go-git commit, parsing its trailers.
func CommitFrom(c *object.Commit) Commit {
	return Commit{
		Hash:     c.Hash,
		Message:  c.Message,
		Author:   Signature{Name: c.Author.Name, Email: c.Author.Email, When: c.Author.When},
		Trailers: ParseTrailers(c.Message),
		Parents:  c.ParentHashes,
	}
}

// LastChange returns the newest commit, walking first parents from Head,
// that changed anything under dir (a slash path relative to the root),
// including its deletion. When the history available ends first (a shallow
// clone), it returns the oldest commit it could read together with an error
// wrapping ErrHistoryTruncated. A branch without commits gives ErrEmptyRepo;
// a directory no commit ever touched gives ErrNotFound.
func (r *Repo) LastChange(ctx context.Context, dir string) (Commit, error) {
	d, err := cleanDir(dir)
	if err != nil {
		return Commit{}, fmt.Errorf("last change to %s: %w", dir, err)
	}
	c, err := r.lastChange(ctx, d)
	if err != nil {
		return c, redact(fmt.Errorf("last change to %s on %s: %w", displayDir(d), r.branch, err), r.secrets)
	}
	return c, nil
}

// LastChangeFrom is LastChange walking from commit from instead of Head.
func (r *Repo) LastChangeFrom(ctx context.Context, from plumbing.Hash, dir string) (Commit, error) {
	d, err := cleanDir(dir)
	if err != nil {
		return Commit{}, fmt.Errorf("last change to %s: %w", dir, err)
	}
	c, err := r.lastChangeFrom(ctx, from, d)
	if err != nil {
		return c, redact(fmt.Errorf("last change to %s before %s: %w", displayDir(d), shortHash(from), err), r.secrets)
	}
	return c, nil
}

func (r *Repo) lastChange(ctx context.Context, d string) (Commit, error) {
	return r.lastChangeFrom(ctx, r.head, d)
}

func (r *Repo) lastChangeFrom(ctx context.Context, from plumbing.Hash, d string) (Commit, error) {
	if r.objects == nil {
		return Commit{}, errClosed()
	}
	if from.IsZero() {
		return Commit{}, ErrEmptyRepo
	}
	cur, err := object.GetCommit(r.objects, from)
	if err != nil {
		return Commit{}, fmt.Errorf("read commit %s: %w", from, err)
	}
	curH, _, _, err := treeAt(r.objects, cur.TreeHash, d)
	if err != nil {
		return Commit{}, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return Commit{}, err
		}
		if len(cur.ParentHashes) == 0 {
			if curH.IsZero() {
				return Commit{}, ErrNotFound
			}
			return CommitFrom(cur), nil
		}
		if r.shallow[cur.Hash] {
			return CommitFrom(cur), fmt.Errorf("%w: reached %s without finding the change", ErrHistoryTruncated, shortHash(cur.Hash))
		}
		parent, err := object.GetCommit(r.objects, cur.ParentHashes[0])
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return CommitFrom(cur), fmt.Errorf("%w: parent of %s is missing", ErrHistoryTruncated, shortHash(cur.Hash))
		}
		if err != nil {
			return Commit{}, fmt.Errorf("read commit %s: %w", cur.ParentHashes[0], err)
		}
		parentH, _, _, err := treeAt(r.objects, parent.TreeHash, d)
		if err != nil {
			return Commit{}, err
		}
		if parentH != curH {
			return CommitFrom(cur), nil
		}
		cur, curH = parent, parentH
	}
}

// DirHash returns the tree hash of dir (a slash path relative to the root)
// at commit, zero when dir does not exist there. Trees are content-addressed,
// so equal hashes mean equal contents, across repositories too.
func (r *Repo) DirHash(ctx context.Context, commit plumbing.Hash, dir string) (plumbing.Hash, error) {
	if r.objects == nil {
		return plumbing.ZeroHash, errClosed()
	}
	d, err := cleanDir(dir)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("tree of %s: %w", dir, err)
	}
	if commit.IsZero() {
		return plumbing.ZeroHash, nil
	}
	c, err := object.GetCommit(r.objects, commit)
	if err != nil {
		return plumbing.ZeroHash, r.wrap(err, "tree of %s at %s: read commit", displayDir(d), shortHash(commit))
	}
	h, _, ok, err := treeAt(r.objects, c.TreeHash, d)
	if err != nil {
		return plumbing.ZeroHash, r.wrap(err, "tree of %s at %s", displayDir(d), shortHash(commit))
	}
	if !ok {
		return plumbing.ZeroHash, nil
	}
	return h, nil
}

// ReadCommit reads one commit, with its trailers parsed.
func (r *Repo) ReadCommit(ctx context.Context, h plumbing.Hash) (Commit, error) {
	if r.objects == nil {
		return Commit{}, errClosed()
	}
	if err := ctx.Err(); err != nil {
		return Commit{}, err
	}
	c, err := object.GetCommit(r.objects, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return Commit{}, fmt.Errorf("read commit %s: %w", shortHash(h), ErrUnknownRevision)
	}
	if err != nil {
		return Commit{}, r.wrap(err, "read commit %s", shortHash(h))
	}
	return CommitFrom(c), nil
}

// IsShallow reports whether commit h is where a shallow history ends (its
// parents were not fetched).
func (r *Repo) IsShallow(h plumbing.Hash) bool { return r.shallow[h] }

// FileAt returns the content of the file at path (a slash path relative to
// the root) at commit, and whether it exists there.
func (r *Repo) FileAt(ctx context.Context, commit plumbing.Hash, p string) ([]byte, bool, error) {
	if r.objects == nil {
		return nil, false, errClosed()
	}
	cp, err := cleanRel(p)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	}
	c, err := object.GetCommit(r.objects, commit)
	if err != nil {
		return nil, false, r.wrap(err, "read %s at %s: read commit", cp, shortHash(commit))
	}
	h, mode, ok, err := treeAt(r.objects, c.TreeHash, cp)
	if err != nil || !ok || mode == filemode.Dir || mode == filemode.Submodule {
		return nil, false, err
	}
	data, err := readBlob(r.objects, h)
	if err != nil {
		return nil, false, r.wrap(err, "read %s at %s", cp, shortHash(commit))
	}
	return data, true, nil
}

// FileHashes returns the blob hash (and so the content, with the mode) of
// every file under dir at commit, keyed by slash path relative to dir: two
// commits' maps differ exactly where their files do.
func (r *Repo) FileHashes(ctx context.Context, commit plumbing.Hash, dir string) (map[string]string, error) {
	if r.objects == nil {
		return nil, errClosed()
	}
	d, err := cleanDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	c, err := object.GetCommit(r.objects, commit)
	if err != nil {
		return nil, r.wrap(err, "list %s at %s: read commit", displayDir(d), shortHash(commit))
	}
	files, err := r.headFiles(ctx, c.TreeHash, d)
	if err != nil {
		return nil, r.wrap(err, "list %s at %s", displayDir(d), shortHash(commit))
	}
	out := make(map[string]string, len(files))
	for p, fe := range files {
		out[p] = fe.mode.String() + " " + fe.hash.String()
	}
	return out, nil
}

// Ancestors returns Head and the commits reachable from it through any
// parent, at most limit of them; complete is false when the limit or the end
// of a shallow history cut the walk short.
func (r *Repo) Ancestors(ctx context.Context, limit int) (set map[plumbing.Hash]bool, complete bool, err error) {
	if r.objects == nil {
		return nil, false, errClosed()
	}
	set = map[plumbing.Hash]bool{}
	if r.head.IsZero() {
		return set, true, nil
	}
	complete = true
	queue := []plumbing.Hash{r.head}
	set[r.head] = true
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		h := queue[0]
		queue = queue[1:]
		if r.shallow[h] {
			complete = false
			continue
		}
		c, err := object.GetCommit(r.objects, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			complete = false
			continue
		}
		if err != nil {
			return nil, false, r.wrap(err, "walk history: read commit %s", shortHash(h))
		}
		for _, p := range c.ParentHashes {
			if set[p] {
				continue
			}
			if len(set) >= limit {
				return set, false, nil
			}
			set[p] = true
			queue = append(queue, p)
		}
	}
	return set, complete, nil
}

// FindDirVersion walks the versions of dir (a slash path relative to the
// root) from Head back along first parents, newest first, and returns the
// commit that made the first version match accepts. match gets the files
// under dir, keyed relative to it. At most limit versions are read; none
// matching gives ErrNotFound, a history that ends first (a shallow clone)
// ErrHistoryTruncated.
func (r *Repo) FindDirVersion(ctx context.Context, dir string, limit int, match func(files map[string][]byte) bool) (Commit, error) {
	if r.objects == nil {
		return Commit{}, errClosed()
	}
	d, err := cleanDir(dir)
	if err != nil {
		return Commit{}, fmt.Errorf("find a version of %s: %w", dir, err)
	}
	from := r.head
	for i := 0; i < limit; i++ {
		c, err := r.lastChangeFrom(ctx, from, d)
		if err != nil {
			return Commit{}, r.wrap(err, "find a version of %s", displayDir(d))
		}
		files, err := r.dirFilesAt(ctx, c.Hash, d)
		if err != nil {
			return Commit{}, err
		}
		if match(files) {
			return c, nil
		}
		if len(c.Parents) == 0 {
			break
		}
		from = c.Parents[0]
	}
	return Commit{}, fmt.Errorf("find a version of %s: %w", displayDir(d), ErrNotFound)
}

// dirFilesAt reads the files under d at commit, keyed relative to d.
func (r *Repo) dirFilesAt(ctx context.Context, commit plumbing.Hash, d string) (map[string][]byte, error) {
	c, err := object.GetCommit(r.objects, commit)
	if err != nil {
		return nil, r.wrap(err, "read %s at %s: read commit", displayDir(d), shortHash(commit))
	}
	entries, err := r.headFiles(ctx, c.TreeHash, d)
	if err != nil {
		return nil, r.wrap(err, "read %s at %s", displayDir(d), shortHash(commit))
	}
	out := make(map[string][]byte, len(entries))
	for p, fe := range entries {
		data, err := readBlob(r.objects, fe.hash)
		if err != nil {
			return nil, r.wrap(err, "read %s at %s", p, shortHash(commit))
		}
		out[p] = data
	}
	return out, nil
}
