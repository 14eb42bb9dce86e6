package gitops

import (
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// This file is the tree-editing core: it reads and rewrites only the trees on
// the way to the edited directory, and tracks which objects it wrote that the
// base commit does not already reference (what a push has to send).

// cleanDir normalises a directory given as a slash path relative to the root;
// "" and "." mean the root and come back as "".
func cleanDir(dir string) (string, error) {
	if dir == "" || dir == "." {
		return "", nil
	}
	p, err := cleanRel(dir)
	if err != nil {
		return "", err
	}
	if p == "." {
		return "", nil
	}
	return p, nil
}

// cleanRel validates and cleans a relative slash path. It rejects absolute
// paths, paths that climb out with "..", NUL bytes and ".git" components.
func cleanRel(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty path")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("path %q is absolute; want a path relative to the repository", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves its directory", p)
	}
	for _, part := range strings.Split(c, "/") {
		if strings.EqualFold(part, ".git") {
			return "", fmt.Errorf("path %q has a .git component", p)
		}
	}
	return c, nil
}

// joinPath joins a cleaned dir ("" for the root) and a cleaned relative path.
func joinPath(dir, rel string) string {
	if dir == "" {
		return rel
	}
	if rel == "." || rel == "" {
		return dir
	}
	return dir + "/" + rel
}

func splitPath(p string) []string {
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, "/")
}

// treeNode is a directory being edited. Subdirectories are loaded only when
// the edit reaches into them; the others keep their hash.
type treeNode struct {
	old     plumbing.Hash // the tree it was loaded from; zero for a new one
	entries map[string]*treeEntry
}

type treeEntry struct {
	mode filemode.FileMode
	hash plumbing.Hash
	sub  *treeNode // non-nil once a directory is loaded for editing
}

// treeEditor edits trees in an object store.
type treeEditor struct {
	s storer.EncodedObjectStorer
	// known holds objects referenced by the trees loaded from the base
	// commit: they exist wherever that commit exists.
	known map[plumbing.Hash]bool
	// written holds the objects written that are not known.
	written []plumbing.Hash
}

func newTreeEditor(s storer.EncodedObjectStorer) *treeEditor {
	return &treeEditor{s: s, known: map[plumbing.Hash]bool{}}
}

func (e *treeEditor) load(h plumbing.Hash) (*treeNode, error) {
	n := &treeNode{old: h, entries: map[string]*treeEntry{}}
	if h.IsZero() {
		return n, nil
	}
	t, err := object.GetTree(e.s, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	e.known[h] = true
	for _, te := range t.Entries {
		n.entries[te.Name] = &treeEntry{mode: te.Mode, hash: te.Hash}
		e.known[te.Hash] = true
	}
	return n, nil
}

// child returns the directory name inside n, loading it; with create, a
// missing directory is added, and a file in the way is an error. Without
// create, it returns nil, nil when there is no such directory. where is the
// path of n, for messages.
func (e *treeEditor) child(n *treeNode, name, where string, create bool) (*treeNode, error) {
	ent, ok := n.entries[name]
	if !ok {
		if !create {
			return nil, nil
		}
		sub := &treeNode{entries: map[string]*treeEntry{}}
		n.entries[name] = &treeEntry{mode: filemode.Dir, sub: sub}
		return sub, nil
	}
	if ent.mode != filemode.Dir {
		if !create {
			return nil, nil
		}
		return nil, fmt.Errorf("%s is a file, not a directory", joinPath(where, name))
	}
	if ent.sub == nil {
		sub, err := e.load(ent.hash)
		if err != nil {
			return nil, err
		}
		ent.sub = sub
	}
	return ent.sub, nil
}

// walk returns the node at the slash path p below n (cleaned; "" is n).
func (e *treeEditor) walk(n *treeNode, base, p string, create bool) (*treeNode, error) {
	where := base
	for _, part := range splitPath(p) {
		next, err := e.child(n, part, where, create)
		if err != nil || next == nil {
			return nil, err
		}
		n = next
		where = joinPath(where, part)
	}
	return n, nil
}

func (e *treeEditor) putObject(o plumbing.EncodedObject) error {
	h := o.Hash()
	if e.known[h] {
		return nil
	}
	// Written once, listed once: the same content at two paths (a template
	// and its copy in a snapshot) is one object, and a pack that counted it
	// twice would not match its index.
	e.known[h] = true
	if err := e.s.HasEncodedObject(h); err == nil {
		e.written = append(e.written, h)
		return nil
	}
	if _, err := e.s.SetEncodedObject(o); err != nil {
		return fmt.Errorf("write %s object: %w", o.Type(), err)
	}
	e.written = append(e.written, h)
	return nil
}

func (e *treeEditor) writeBlob(content []byte) (plumbing.Hash, error) {
	o := e.s.NewEncodedObject()
	o.SetType(plumbing.BlobObject)
	o.SetSize(int64(len(content)))
	w, err := o.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(content); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return o.Hash(), e.putObject(o)
}

// write stores n and the loaded directories below it, bottom-up, and returns
// its hash. Directories left empty are dropped from their parent, as git has
// no empty directories.
func (e *treeEditor) write(n *treeNode) (plumbing.Hash, error) {
	entries := make([]object.TreeEntry, 0, len(n.entries))
	for name, ent := range n.entries {
		if ent.sub != nil {
			if len(ent.sub.entries) == 0 {
				continue
			}
			h, err := e.write(ent.sub)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			ent.hash = h
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: ent.mode, Hash: ent.hash})
	}
	sort.Sort(object.TreeEntrySorter(entries))
	t := &object.Tree{Entries: entries}
	o := e.s.NewEncodedObject()
	if err := t.Encode(o); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode tree: %w", err)
	}
	h := o.Hash()
	if h == n.old {
		return h, nil
	}
	return h, e.putObject(o)
}

// edit is a validated change to one directory.
type edit struct {
	dir     string            // cleaned; "" for the root
	files   map[string][]byte // cleaned paths relative to dir
	replace []string          // cleaned paths relative to dir; "." for all of dir
}

func newEdit(c Change) (edit, error) {
	dir, err := cleanDir(c.Dir)
	if err != nil {
		return edit{}, fmt.Errorf("directory: %w", err)
	}
	ed := edit{dir: dir, files: make(map[string][]byte, len(c.Files))}
	for p, content := range c.Files {
		cp, err := cleanRel(p)
		if err != nil {
			return edit{}, fmt.Errorf("file: %w", err)
		}
		if cp == "." {
			return edit{}, fmt.Errorf("file %q: names the directory itself", p)
		}
		if _, dup := ed.files[cp]; dup {
			return edit{}, fmt.Errorf("file %q: given twice", p)
		}
		ed.files[cp] = content
	}
	for _, p := range c.Replace {
		cp, err := cleanRel(p)
		if err != nil {
			return edit{}, fmt.Errorf("replace: %w", err)
		}
		ed.replace = append(ed.replace, cp)
	}
	return ed, nil
}

// applyEdit rewrites the tree root (zero for none) with ed and returns the
// new root tree's hash. Only the trees on the way to ed.dir and those the
// edit reaches into are read.
func (e *treeEditor) applyEdit(ctx context.Context, root plumbing.Hash, ed edit) (plumbing.Hash, error) {
	top, err := e.load(root)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	dirNode, err := e.walk(top, "", ed.dir, true)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	names := make([]string, 0, len(ed.files))
	for p := range ed.files {
		names = append(names, p)
	}
	sort.Strings(names)
	// A file that was executable stays so: Files carry content, not modes,
	// and Replace would otherwise forget them.
	executable := map[string]bool{}
	for _, p := range names {
		parent, err := e.walk(dirNode, ed.dir, path.Dir(p), false)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if parent != nil {
			if old, ok := parent.entries[path.Base(p)]; ok && old.mode == filemode.Executable {
				executable[p] = true
			}
		}
	}
	for _, r := range ed.replace {
		if r == "." {
			dirNode.entries = map[string]*treeEntry{}
			continue
		}
		parent, err := e.walk(dirNode, ed.dir, path.Dir(r), false)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if parent != nil {
			delete(parent.entries, path.Base(r))
		}
	}
	for _, p := range names {
		if err := ctx.Err(); err != nil {
			return plumbing.ZeroHash, err
		}
		parent, err := e.walk(dirNode, ed.dir, path.Dir(p), true)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		base := path.Base(p)
		if old, ok := parent.entries[base]; ok && old.mode == filemode.Dir {
			return plumbing.ZeroHash, fmt.Errorf("cannot write file %s: it is a directory (list it in Replace to replace it)", joinPath(ed.dir, p))
		}
		h, err := e.writeBlob(ed.files[p])
		if err != nil {
			return plumbing.ZeroHash, err
		}
		mode := filemode.Regular
		if executable[p] {
			mode = filemode.Executable
		}
		parent.entries[base] = &treeEntry{mode: mode, hash: h}
	}
	return e.write(top)
}

// treeAt returns the entry at the slash path p (cleaned, "" for root) below
// the tree root: its hash and mode, or ok false when there is none.
func treeAt(s storer.EncodedObjectStorer, root plumbing.Hash, p string) (h plumbing.Hash, mode filemode.FileMode, ok bool, err error) {
	h, mode = root, filemode.Dir
	if root.IsZero() {
		return plumbing.ZeroHash, 0, false, nil
	}
	for _, part := range splitPath(p) {
		if mode != filemode.Dir {
			return plumbing.ZeroHash, 0, false, nil
		}
		t, err := object.GetTree(s, h)
		if err != nil {
			return plumbing.ZeroHash, 0, false, fmt.Errorf("read tree %s: %w", h, err)
		}
		found := false
		for _, te := range t.Entries {
			if te.Name == part {
				h, mode, found = te.Hash, te.Mode, true
				break
			}
		}
		if !found {
			return plumbing.ZeroHash, 0, false, nil
		}
	}
	return h, mode, true, nil
}

// fileEntry is a file in a tree listing.
type fileEntry struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

// listFiles returns every file (not submodule) below the tree h, keyed by
// slash path relative to it.
func listFiles(ctx context.Context, s storer.EncodedObjectStorer, h plumbing.Hash) (map[string]fileEntry, error) {
	out := map[string]fileEntry{}
	var rec func(h plumbing.Hash, prefix string) error
	rec = func(h plumbing.Hash, prefix string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := object.GetTree(s, h)
		if err != nil {
			return fmt.Errorf("read tree %s: %w", h, err)
		}
		for _, te := range t.Entries {
			p := joinPath(prefix, te.Name)
			switch te.Mode {
			case filemode.Dir:
				if err := rec(te.Hash, p); err != nil {
					return err
				}
			case filemode.Submodule:
			default:
				out[p] = fileEntry{hash: te.Hash, mode: te.Mode}
			}
		}
		return nil
	}
	if h.IsZero() {
		return out, nil
	}
	return out, rec(h, "")
}

// readBlob returns a blob's content.
// objectContent reads an object's content.
func objectContent(o plumbing.EncodedObject) ([]byte, error) {
	r, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", o.Hash(), err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", o.Hash(), err)
	}
	return data, nil
}

func readBlob(s storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(s, h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	r, err := b.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	return data, nil
}
