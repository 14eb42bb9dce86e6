package gitops

import (
	"os"
	"path/filepath"
)

// FindRoot finds the repository that holds dir, as git does: dir itself
// when it is a bare repository, else the nearest of dir and its parents that
// has a .git entry (a directory, or a file as in worktrees and submodules).
// It returns the root and dir relative to it as a slash path ("." for the
// root itself). ok is false when no parent is a repository; root is then
// dir, made absolute.
func FindRoot(dir string) (root, rel string, ok bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir, ".", false
	}
	if isFile(filepath.Join(abs, "HEAD")) && isDir(filepath.Join(abs, "objects")) && isDir(filepath.Join(abs, "refs")) {
		return abs, ".", true
	}
	for p := abs; ; {
		if _, err := os.Lstat(filepath.Join(p, ".git")); err == nil {
			r, err := filepath.Rel(p, abs)
			if err != nil {
				return abs, ".", false
			}
			return p, filepath.ToSlash(r), true
		}
		parent := filepath.Dir(p)
		if parent == p {
			return abs, ".", false
		}
		p = parent
	}
}
