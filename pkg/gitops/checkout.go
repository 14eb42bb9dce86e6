package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// A checkout's branch moves forward (after a push, or a local commit) the
// way git's fast-forward does, but so that a run killed at any moment
// leaves it either as it was or at the new commit once the next Open has
// run: first a journal (bgrender-checkout in the git dir) records the branch
// and both commits, then the changed files are written (each to a temporary
// file in the git dir, renamed into place), then the index (through
// index.lock), then the branch ref (through its lock); then the journal is
// removed. Open finishes a journaled update it finds.

const journalFile = "bgrender-checkout"

// ErrIndexUnreadable: the index file of a checkout cannot be read.
var ErrIndexUnreadable = errors.New("the index (.git/index) cannot be read: it is empty or corrupt, e.g. left so by a killed git process; `rm .git/index && git reset` rebuilds it from HEAD, keeping your files")

// pathChange is a file that differs between two trees.
type pathChange struct {
	path     string // slash path from the root
	old, new fileEntry
	had, has bool // whether it exists in the old and the new tree
}

// diffTrees lists the files that differ between the root trees a and b,
// reading only the subtrees that differ.
func diffTrees(ctx context.Context, r *Repo, a, b plumbing.Hash) ([]pathChange, error) {
	return diffTreesIn(ctx, r.objects, r.objects, a, b, 0)
}

// ErrTooManyChanges: two trees differ in more files than asked for.
var ErrTooManyChanges = errors.New("the trees differ in more files than are compared")

// diffTreesIn is diffTrees with tree a read from sa and b from sb, and at
// most limit changes (0: any number; more is ErrTooManyChanges).
func diffTreesIn(ctx context.Context, sa, sb storer.EncodedObjectStorer, a, b plumbing.Hash, limit int) ([]pathChange, error) {
	var out []pathChange
	var rec func(a, b plumbing.Hash, prefix string) error
	rec = func(a, b plumbing.Hash, prefix string) error {
		if a == b {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ea, err := treeEntries(sa, a)
		if err != nil {
			return err
		}
		eb, err := treeEntries(sb, b)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for n := range ea {
			names[n] = true
		}
		for n := range eb {
			names[n] = true
		}
		for n := range names {
			x, inA := ea[n]
			y, inB := eb[n]
			if inA && inB && x.Hash == y.Hash && x.Mode == y.Mode {
				continue
			}
			p := joinPath(prefix, n)
			dirA, dirB := inA && x.Mode == filemode.Dir, inB && y.Mode == filemode.Dir
			var subA, subB plumbing.Hash
			if dirA {
				subA = x.Hash
			}
			if dirB {
				subB = y.Hash
			}
			if dirA || dirB {
				if err := rec(subA, subB, p); err != nil {
					return err
				}
			}
			fileA := inA && !dirA && x.Mode != filemode.Submodule
			fileB := inB && !dirB && y.Mode != filemode.Submodule
			if fileA || fileB {
				c := pathChange{path: p, had: fileA, has: fileB}
				if fileA {
					c.old = fileEntry{hash: x.Hash, mode: x.Mode}
				}
				if fileB {
					c.new = fileEntry{hash: y.Hash, mode: y.Mode}
				}
				if limit > 0 && len(out) >= limit {
					return fmt.Errorf("%w (%d)", ErrTooManyChanges, limit)
				}
				out = append(out, c)
			}
		}
		return nil
	}
	if err := rec(a, b, ""); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// readIndex reads the checkout's index.
func (r *Repo) readIndex() (*index.Index, error) {
	p := filepath.Join(r.gitDir, "index")
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &index.Index{Version: 2}, nil // nothing staged yet, as git and go-git read it
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrIndexUnreadable, err)
	}
	idx, err := decodeIndexBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrIndexUnreadable, err)
	}
	if fi, err := os.Stat(p); err == nil {
		idx.ModTime = fi.ModTime()
	}
	return idx, nil
}

// sameIndexFile reports whether the index file is still the one a was
// read from: the same file (every write of it, git's and bgrender's, is a
// lock file renamed into place), size and modification time.
func sameIndexFile(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// readIndexShared is readIndex for a reader that does not change what it
// gets: the index is parsed once, and again only when the file changed
// (check --all asks for it once per app dir, and a large repo's index
// takes milliseconds to parse).
func (r *Repo) readIndexShared() (*index.Index, error) {
	fi, err := os.Stat(filepath.Join(r.gitDir, "index"))
	if err == nil && r.index != nil && sameIndexFile(r.indexFile, fi) {
		return r.index, nil
	}
	idx, err := r.readIndex()
	if err != nil {
		return nil, err
	}
	if fi != nil {
		r.index, r.indexFile = idx, fi
	}
	return idx, nil
}

// writeIndex writes idx as the checkout's index, through index.lock.
func (r *Repo) writeIndex(idx *index.Index) error {
	l, err := takeLock(r.gitDir, filepath.Join(r.gitDir, "index"))
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	// Encoded in memory, written in one piece: a lock killed half-written
	// is not recognised as bgrender's by its identity.
	data, err := encodeIndexBytes(idx)
	if err != nil {
		l.abort()
		return fmt.Errorf("write index: %w", err)
	}
	if err := l.write(data); err != nil {
		l.abort()
		return fmt.Errorf("write index: %w", err)
	}
	if err := l.commit(); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	r.index = nil
	return nil
}

// untouched reports whether a changed path is as one of the two trees has
// it, in the worktree and in the index, each on its own: an update writes
// the files first and the index after, and may have been cut short in
// between. Anything else is a change of the user's.
func (r *Repo) untouched(c pathChange, idx *index.Index) (bool, error) {
	wt, err := r.worktreeEntry(c.path)
	if err != nil {
		return false, err
	}
	var in *fileEntry
	if e, err := idx.Entry(c.path); err == nil && e.Stage == 0 {
		in = &fileEntry{hash: e.Hash, mode: e.Mode}
	}
	either := func(got *fileEntry) bool {
		return (got == nil && !c.had) || (got != nil && c.had && *got == c.old) ||
			(got == nil && !c.has) || (got != nil && c.has && *got == c.new)
	}
	return either(wt) && either(in), nil
}

// dirtyAmong lists the changed paths that are not untouched.
func (r *Repo) dirtyAmong(changes []pathChange, idx *index.Index) ([]string, error) {
	var dirty []string
	for _, c := range changes {
		ok, err := r.untouched(c, idx)
		if err != nil {
			return nil, err
		}
		if !ok {
			dirty = append(dirty, c.path)
		}
	}
	return dirty, nil
}

// worktreeEntry is the worktree file at p as a blob would record it, nil
// when there is none. A path that leads through a symbolic link, or a
// directory where the file should be, counts as a change of the user's.
func (r *Repo) worktreeEntry(p string) (*fileEntry, error) {
	if err := r.checkNoSymlinkDirs(p); err != nil {
		return &fileEntry{}, nil
	}
	full := filepath.Join(r.checkout, filepath.FromSlash(p))
	fi, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var data []byte
	mode := filemode.Regular
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return nil, err
		}
		data, mode = []byte(filepath.ToSlash(target)), filemode.Symlink
	case fi.Mode().IsRegular():
		if data, err = os.ReadFile(full); err != nil {
			return nil, err
		}
		if fi.Mode()&0o111 != 0 {
			mode = filemode.Executable
		}
	default:
		return &fileEntry{}, nil
	}
	return &fileEntry{hash: plumbing.ComputeHash(plumbing.BlobObject, data), mode: mode}, nil
}

// advanceCheckout moves the checked-out branch from commit from to to and
// the worktree and index with it, when every file that differs is as in
// from (or, finishing an interrupted update, already as in to). Otherwise
// it changes nothing and returns the paths with changes of the user's.
func (r *Repo) advanceCheckout(ctx context.Context, from, fromTree, to, toTree plumbing.Hash) (dirty []string, err error) {
	changes, err := diffTrees(ctx, r, fromTree, toTree)
	if err != nil {
		return nil, err
	}
	idx, err := r.readIndex()
	if err != nil {
		return nil, err
	}
	if dirty, err = r.dirtyAmong(changes, idx); err != nil || len(dirty) > 0 {
		return dirty, err
	}
	if err := r.writeJournal(from, to); err != nil {
		return nil, err
	}
	if err := r.applyChanges(ctx, changes, idx); err != nil {
		return nil, err
	}
	if err := casRef(r.gitDir, plumbing.NewBranchReferenceName(r.branch), from, to); err != nil {
		return nil, fmt.Errorf("move branch %s: %w", r.branch, err)
	}
	return nil, r.removeJournal()
}

// applyChanges writes the new side of changes into the worktree and idx,
// then writes idx.
func (r *Repo) applyChanges(ctx context.Context, changes []pathChange, idx *index.Index) error {
	// Finish even if ctx ends now: the journal covers a kill, not a cancel.
	ctx = context.WithoutCancel(ctx)
	tmpDir := filepath.Join(r.gitDir, "bgrender-tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return err
	}
	for _, c := range changes {
		full := filepath.Join(r.checkout, filepath.FromSlash(c.path))
		if !c.has {
			if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			removeEmptyParents(r.checkout, filepath.Dir(full))
			if _, err := idx.Remove(c.path); err != nil && !errors.Is(err, index.ErrEntryNotFound) {
				return err
			}
			continue
		}
		if err := r.writeWorktreeFile(tmpDir, full, c.new); err != nil {
			return fmt.Errorf("write %s: %w", c.path, err)
		}
		fi, err := os.Lstat(full)
		if err != nil {
			return err
		}
		e, err := idx.Entry(c.path)
		if err != nil {
			e = idx.Add(c.path)
		}
		*e = index.Entry{Name: c.path, Hash: c.new.hash, Mode: c.new.mode, ModifiedAt: fi.ModTime(), Size: uint32(fi.Size())}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sort.Slice(idx.Entries, func(i, j int) bool { return idx.Entries[i].Name < idx.Entries[j].Name })
	// The cached-tree extension would describe the old trees: drop it, git
	// rebuilds it.
	idx.Cache = nil
	return r.writeIndex(idx)
}

// writeWorktreeFile writes fe's content at full, through a temporary file in
// tmpDir renamed into place, never following a symbolic link on the way.
func (r *Repo) writeWorktreeFile(tmpDir, full string, fe fileEntry) error {
	rel, err := filepath.Rel(r.checkout, full)
	if err != nil {
		return err
	}
	if err := r.checkNoSymlinkDirs(filepath.ToSlash(rel)); err != nil {
		return err
	}
	data, err := readBlob(r.objects, fe.hash)
	if err != nil {
		return err
	}
	// Whatever is in the way (an emptied directory, a file where a
	// directory goes) goes first.
	if fi, err := os.Lstat(full); err == nil && fi.IsDir() {
		if err := os.Remove(full); err != nil {
			return fmt.Errorf("replace %s: %w", full, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	if fe.mode == filemode.Symlink {
		tmp := filepath.Join(tmpDir, "link-"+fe.hash.String())
		os.Remove(tmp)
		if err := os.Symlink(filepath.FromSlash(string(data)), tmp); err != nil {
			return err
		}
		return os.Rename(tmp, full)
	}
	perm := fs.FileMode(0o644)
	if fe.mode == filemode.Executable {
		perm = 0o755
	}
	f, err := os.CreateTemp(tmpDir, "file-")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), full); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// checkNoSymlinkDirs refuses a path (slash, from the worktree root) that
// goes through a symbolic link: writing through it could land outside the
// worktree.
func (r *Repo) checkNoSymlinkDirs(p string) error {
	cur := r.checkout
	parts := splitPath(p)
	for _, part := range parts[:max(len(parts)-1, 0)] {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink in the worktree; not writing through it", cur)
		}
	}
	return nil
}

// writeJournal records an update of the branch from one commit to another,
// atomically.
func (r *Repo) writeJournal(from, to plumbing.Hash) error {
	content := fmt.Sprintf("branch %s\nfrom %s\nto %s\n", r.branch, from, to)
	p := filepath.Join(r.gitDir, journalFile)
	f, err := os.CreateTemp(r.gitDir, journalFile+"-")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func (r *Repo) removeJournal() error {
	if err := os.Remove(filepath.Join(r.gitDir, journalFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	os.RemoveAll(filepath.Join(r.gitDir, "bgrender-tmp"))
	return nil
}

// finishInterrupted finishes an update of the checked-out branch that a
// killed run journaled and did not finish, so that the checkout is at the
// commit it was going to: the remote has it already.
func (r *Repo) finishInterrupted() error {
	data, err := os.ReadFile(filepath.Join(r.gitDir, journalFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var branch string
	var from, to plumbing.Hash
	for _, line := range strings.Split(string(bytes.TrimSpace(data)), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "branch":
			branch = v
		case "from":
			from, _ = parseHash(v)
		case "to":
			to, _ = parseHash(v)
		}
	}
	cur, _, err := readRef(r.gitDir, plumbing.NewBranchReferenceName(branch))
	if err != nil {
		return err
	}
	if branch != r.branch || to.IsZero() || (cur != from && cur != to) {
		// Another branch's, or overtaken by the user (a pull, a reset).
		return r.removeJournal()
	}
	ctx := context.Background()
	fromTree, toTree, err := r.treesOf(from, to)
	if err != nil {
		return err
	}
	changes, err := diffTrees(ctx, r, fromTree, toTree)
	if err != nil {
		return err
	}
	idx, err := r.readIndex()
	if err != nil {
		return err
	}
	dirty, err := r.dirtyAmong(changes, idx)
	if err != nil {
		return err
	}
	if len(dirty) > 0 {
		return fmt.Errorf("an update of the checkout from %s to %s was interrupted, and %s changed since: commit or stash them, then run `git reset --keep %s` (or `git reset --hard %s` if nothing there is yours) and remove %s",
			shortHash(from), shortHash(to), strings.Join(dirty, ", "), to, to, filepath.Join(r.gitDir, journalFile))
	}
	if err := r.applyChanges(ctx, changes, idx); err != nil {
		return fmt.Errorf("finish an interrupted update of the checkout to %s: %w", shortHash(to), err)
	}
	if cur == from {
		if err := casRef(r.gitDir, plumbing.NewBranchReferenceName(branch), from, to); err != nil {
			return fmt.Errorf("finish an interrupted update of the checkout to %s: %w", shortHash(to), err)
		}
	}
	if err := r.removeJournal(); err != nil {
		return err
	}
	r.head, r.local, r.headTree, r.localTree = to, to, toTree, toTree
	return nil
}

func (r *Repo) treesOf(commits ...plumbing.Hash) (plumbing.Hash, plumbing.Hash, error) {
	var trees []plumbing.Hash
	for _, h := range commits {
		if h.IsZero() {
			trees = append(trees, plumbing.ZeroHash)
			continue
		}
		c, err := object.GetCommit(r.objects, h)
		if err != nil {
			return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("read commit %s: %w", shortHash(h), err)
		}
		trees = append(trees, c.TreeHash)
	}
	return trees[0], trees[1], nil
}
