package gitops

import (
	"bufio"
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
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// CheckClean, for a local checkout with the branch checked out, returns a
// *DirtyError listing the paths under dir whose worktree or index content or
// mode differs from Head, and the untracked files there that .gitignore does
// not ignore. It reads only dir. For bare repositories, URLs and branches
// that are not checked out it does nothing.
func (r *Repo) CheckClean(ctx context.Context, dir string) error {
	if r.checkout == "" {
		return nil
	}
	if r.objects == nil {
		return errClosed()
	}
	d, err := cleanDir(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	paths, err := r.dirtyPaths(ctx, d)
	if err != nil {
		return fmt.Errorf("check %s for uncommitted changes: %w", displayDir(d), err)
	}
	if len(paths) > 0 {
		return &DirtyError{Dir: d, Paths: paths}
	}
	return nil
}

func (r *Repo) headFiles(ctx context.Context, root plumbing.Hash, d string) (map[string]fileEntry, error) {
	h, mode, ok, err := treeAt(r.objects, root, d)
	if err != nil || !ok || mode != filemode.Dir {
		return map[string]fileEntry{}, err
	}
	return listFiles(ctx, r.objects, h)
}

func under(d, p string) (string, bool) {
	if d == "" {
		return p, true
	}
	if p == d {
		return ".", true
	}
	rest, ok := strings.CutPrefix(p, d+"/")
	return rest, ok
}

func (r *Repo) dirtyPaths(ctx context.Context, d string) ([]string, error) {
	// Against what is checked out: the local branch (Head may be ahead
	// of it after Refresh).
	head, err := r.headFiles(ctx, r.localTree, d)
	if err != nil {
		return nil, err
	}
	dirty := map[string]bool{}

	// Index against Head.
	idx, err := r.readIndexShared()
	if err != nil {
		return nil, err
	}
	inIndex := map[string]bool{}
	for _, e := range idx.Entries {
		rel, ok := under(d, e.Name)
		if !ok {
			continue
		}
		inIndex[rel] = true
		hf, tracked := head[rel]
		if e.Stage != 0 || !tracked || hf.hash != e.Hash || hf.mode != e.Mode {
			dirty[e.Name] = true
		}
	}
	for rel := range head {
		if !inIndex[rel] {
			dirty[joinPath(d, rel)] = true
		}
	}

	// Worktree against Head.
	seen := map[string]bool{}
	ignore := r.ancestorIgnores(d)
	base := filepath.Join(r.checkout, filepath.FromSlash(d))
	if err := r.walkWorktree(ctx, base, d, "", ignore, func(rel string, fi fs.FileInfo) error {
		seen[rel] = true
		hf, tracked := head[rel]
		if !tracked {
			if !inIndex[rel] {
				dirty[joinPath(d, rel)] = true
			}
			return nil
		}
		same, err := sameAsBlob(filepath.Join(base, filepath.FromSlash(rel)), fi, hf)
		if err != nil {
			return err
		}
		if !same {
			dirty[joinPath(d, rel)] = true
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for rel := range head {
		if !seen[rel] {
			dirty[joinPath(d, rel)] = true
		}
	}
	out := make([]string, 0, len(dirty))
	for p := range dirty {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// ancestorIgnores reads .git/info/exclude and the .gitignore files of the
// directories above d (d's own and those below are read by the walk).
func (r *Repo) ancestorIgnores(d string) []gitignore.Pattern {
	ps := readIgnores(filepath.Join(r.gitDir, "info", "exclude"), nil)
	parts := splitPath(d)
	for i := 0; i < len(parts); i++ {
		dom := parts[:i]
		ps = append(ps, readIgnores(filepath.Join(r.checkout, filepath.Join(dom...), ".gitignore"), dom)...)
	}
	return ps
}

func readIgnores(file string, domain []string) []gitignore.Pattern {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := sc.Text()
		if strings.HasPrefix(s, "#") || strings.TrimSpace(s) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(s, append([]string(nil), domain...)))
	}
	return ps
}

// walkWorktree calls fn for each file (regular or symlink) below dir, which
// is the worktree directory of the slash path d joined with rel. It skips
// .git and ignored paths.
func (r *Repo) walkWorktree(ctx context.Context, dir, d, rel string, ps []gitignore.Pattern, fn func(rel string, fi fs.FileInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	full := splitPath(joinPath(d, rel))
	ps = append(ps[:len(ps):len(ps)], readIgnores(filepath.Join(dir, ".gitignore"), full)...)
	m := gitignore.NewMatcher(ps)
	for _, e := range ents {
		name := e.Name()
		if name == ".git" {
			continue
		}
		childRel := joinPath(rel, name)
		if rel == "" {
			childRel = name
		}
		parts := append(full[:len(full):len(full)], name)
		fi, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			if m.Match(parts, true) {
				continue
			}
			if err := r.walkWorktree(ctx, filepath.Join(dir, name), d, childRel, ps, fn); err != nil {
				return err
			}
		case fi.Mode().IsRegular() || fi.Mode()&fs.ModeSymlink != 0:
			if m.Match(parts, false) {
				continue
			}
			if err := fn(childRel, fi); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameAsBlob reports whether the file at p has the content and mode of fe.
func sameAsBlob(p string, fi fs.FileInfo, fe fileEntry) (bool, error) {
	var data []byte
	var mode filemode.FileMode
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil {
			return false, err
		}
		data, mode = []byte(filepath.ToSlash(target)), filemode.Symlink
	} else {
		b, err := os.ReadFile(p)
		if err != nil {
			return false, err
		}
		data, mode = b, filemode.Regular
		if fi.Mode()&0o111 != 0 {
			mode = filemode.Executable
		}
	}
	if mode != fe.mode {
		return false, nil
	}
	return plumbing.ComputeHash(plumbing.BlobObject, data) == fe.hash, nil
}

// removeEmptyParents removes dir and its parents while they are empty, up
// to (not including) root.
func removeEmptyParents(root, dir string) {
	root = filepath.Clean(root)
	for dir = filepath.Clean(dir); dir != root && strings.HasPrefix(dir, root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			return
		}
	}
}
