// Package worktree reads and writes an app dir in a local checkout, as
// `bgrender render` does: it never follows a symbolic link, and writes
// only the files bgrender owns (render.Owned).
package worktree

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/vet"
)

// ReadTree reads every regular file under root, keyed by slash path, and
// the symbolic links there, with their targets (never followed).
func ReadTree(root string) (files render.Files, links map[string]string, err error) {
	files, links = render.Files{}, map[string]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			links[rel] = target
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files[rel] = b
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: no such app directory", root)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", root, err)
	}
	return files, links, nil
}

// WriteOwned makes the bgrender-owned files under root equal want.
func WriteOwned(root string, current, want render.Files) error {
	var paths []string
	for p := range current {
		if render.Owned(p) {
			if _, keep := want[p]; !keep {
				paths = append(paths, p)
			}
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			return fmt.Errorf("remove stale %s: %w", p, err)
		}
	}
	for p, b := range want {
		if !render.Owned(p) || string(current[p]) == string(b) {
			continue
		}
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := mkdirNoLinks(root, filepath.Dir(full)); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := writeNoFollow(full, b); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return removeEmptyDirs(filepath.Join(root, render.OverlaysDir))
}

// removeEmptyDirs drops directories under dir left empty by removed overlays.
func removeEmptyDirs(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			sub := path.Join(dir, e.Name())
			if err := removeEmptyDirs(sub); err != nil {
				return err
			}
			if rest, _ := os.ReadDir(sub); len(rest) == 0 {
				if err := os.Remove(sub); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// mkdirNoLinks makes dir and its parents below root, refusing to go through
// a symbolic link (one made since the app dir was read).
func mkdirNoLinks(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s is outside %s", dir, root)
	}
	p := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if part == "." {
			continue
		}
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link; not writing through it", p)
		case !fi.IsDir():
			return fmt.Errorf("%s is not a directory", p)
		}
	}
	return nil
}

// writeNoFollow writes a regular file, refusing to follow a symbolic link
// at its path.
func writeNoFollow(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadShared is release.ReadShared for a checkout's working tree: the
// directories elsewhere under root that the app's kustomizations reach,
// never through a symbolic link, each within l.
func ReadShared(root, dir string, files render.Files, l vet.Limits) (render.Files, error) {
	shared, err := release.ReachShared(dir, files, l, func(d string) (render.Files, error) {
		if link := LinkOnPath(root, d); link != "" {
			return nil, fmt.Errorf("%s, which %s's kustomizations use, is reached through the symbolic link %s; bgrender does not follow links (they could lead out of the repo)", d, dir, link)
		}
		got, links, err := ReadTree(filepath.Join(root, filepath.FromSlash(d)))
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: %w", d, gitops.ErrNotDirectory) // the build names the entry
		case len(links) > 0:
			return nil, &release.LinkError{Dir: d, Links: links}
		}
		if errs := vet.Files(got, l); len(errs) > 0 {
			return nil, fmt.Errorf("%s: %w", d, errors.Join(errs...))
		}
		return got, nil
	})
	if err != nil {
		return nil, err
	}
	return shared, nil
}

// LinkOnPath returns the first of root/d's parents below root, or root/d
// itself, that is a symbolic link ("" if none).
func LinkOnPath(root, d string) string {
	p := root
	for _, part := range strings.Split(d, "/") {
		p = filepath.Join(p, part)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return p
		}
	}
	return ""
}
