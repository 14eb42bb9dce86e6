package gitops

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
)

// Branch refs of repositories on this machine are read and updated here the
// way git does it, so that bgrender and git processes exclude each other: the
// update takes <ref>.lock (created exclusively), checks the old value, writes
// the new one to the lock file and renames it over the ref.

// readRef returns the hash a ref of the repository at gitDir points at, and
// whether it exists: the loose ref file first, then packed-refs.
func readRef(gitDir string, name plumbing.ReferenceName) (plumbing.Hash, bool, error) {
	for depth := 0; depth < 5; depth++ {
		data, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(name.String())))
		switch {
		case err == nil:
			s := strings.TrimSpace(string(data))
			if target, ok := strings.CutPrefix(s, "ref:"); ok {
				name = plumbing.ReferenceName(strings.TrimSpace(target))
				continue
			}
			h, ok := parseHash(s)
			if !ok {
				return plumbing.ZeroHash, false, fmt.Errorf("read ref %s: malformed content %q", name, s)
			}
			return h, true, nil
		case errors.Is(err, fs.ErrNotExist), isNotDir(err):
			return readPackedRef(gitDir, name)
		default:
			return plumbing.ZeroHash, false, fmt.Errorf("read ref %s: %w", name, err)
		}
	}
	return plumbing.ZeroHash, false, fmt.Errorf("read ref %s: too many levels of symbolic refs", name)
}

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

func parseHash(s string) (plumbing.Hash, bool) {
	if len(s) != 40 {
		return plumbing.ZeroHash, false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return plumbing.ZeroHash, false
		}
	}
	return plumbing.NewHash(s), true
}

func readPackedRef(gitDir string, name plumbing.ReferenceName) (plumbing.Hash, bool, error) {
	f, err := os.Open(filepath.Join(gitDir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("read packed-refs: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue
		}
		hash, ref, ok := strings.Cut(line, " ")
		if ok && ref == name.String() {
			if h, ok := parseHash(hash); ok {
				return h, true, nil
			}
			return plumbing.ZeroHash, false, fmt.Errorf("read packed-refs: malformed line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("read packed-refs: %w", err)
	}
	return plumbing.ZeroHash, false, nil
}

// staleRefError: a compare-and-swap found the ref elsewhere than expected.
type staleRefError struct {
	name      plumbing.ReferenceName
	want, got plumbing.Hash // zero: absent
}

func (e *staleRefError) Error() string {
	return fmt.Sprintf("%s is at %s, expected %s", e.name.Short(), shortHash(e.got), shortHash(e.want))
}

func (e *staleRefError) Is(target error) bool { return target == ErrPushRejected }

// LockedError reports a git lock file that exists: another git or bgrender
// process holds it, or one was killed while it did. Nothing removes it but
// whoever knows no process holds it: git itself never removes another
// process's lock.
type LockedError struct {
	// Path is the lock file.
	Path string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s exists: another git or bgrender process is writing there, or one was killed while it did; if none is running, remove it (rm %s) and try again", e.Path, e.Path)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

func shortHash(h plumbing.Hash) string {
	if h.IsZero() {
		return "nothing (no such branch)"
	}
	return h.String()[:12]
}

// casRef moves ref name of the repository at gitDir from old to new; a zero
// old means the ref must not exist, a zero new deletes it. A ref found
// elsewhere than old gives a *staleRefError (an ErrPushRejected); a ref
// whose lock exists gives a *LockedError (ErrLocked).
func casRef(gitDir string, name plumbing.ReferenceName, old, new plumbing.Hash) (err error) {
	refPath := filepath.Join(gitDir, filepath.FromSlash(name.String()))
	if err := os.MkdirAll(filepath.Dir(refPath), 0o755); err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	l, err := takeLock(gitDir, refPath)
	if err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	cur, exists, err := readRef(gitDir, name)
	if err != nil {
		l.abort()
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	if exists != !old.IsZero() || cur != old {
		l.abort()
		return &staleRefError{name: name, want: old, got: cur}
	}
	if new.IsZero() {
		defer l.abort()
		if err := os.Remove(refPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete ref %s: %w", name, err)
		}
		return nil
	}
	if err := l.write([]byte(new.String() + "\n")); err != nil {
		l.abort()
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	if err := l.commit(); err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	return nil
}
