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
	"time"

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
	locked    bool
}

func (e *staleRefError) Error() string {
	if e.locked {
		return fmt.Sprintf("%s is being updated by another process", e.name.Short())
	}
	return fmt.Sprintf("%s is at %s, expected %s", e.name.Short(), shortHash(e.got), shortHash(e.want))
}

func (e *staleRefError) Is(target error) bool { return target == ErrPushRejected }

func shortHash(h plumbing.Hash) string {
	if h.IsZero() {
		return "nothing (no such branch)"
	}
	return h.String()[:12]
}

// casRef moves ref name of the repository at gitDir from old to new; a zero
// old means the ref must not exist, a zero new deletes it. A ref found
// elsewhere than old, or locked, gives a *staleRefError (an ErrPushRejected).
func casRef(gitDir string, name plumbing.ReferenceName, old, new plumbing.Hash) (err error) {
	refPath := filepath.Join(gitDir, filepath.FromSlash(name.String()))
	lockPath := refPath + ".lock"
	if err := os.MkdirAll(filepath.Dir(refPath), 0o755); err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	f, err := os.OpenFile(lockPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) && removeStaleLock(lockPath) {
		f, err = os.OpenFile(lockPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if errors.Is(err, fs.ErrExist) {
		return &staleRefError{name: name, locked: true}
	}
	if err != nil {
		return fmt.Errorf("update ref %s: lock: %w", name, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(lockPath)
		}
	}()
	cur, exists, err := readRef(gitDir, name)
	if err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	if exists != !old.IsZero() || cur != old {
		return &staleRefError{name: name, want: old, got: cur}
	}
	if new.IsZero() {
		if err := os.Remove(refPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete ref %s: %w", name, err)
		}
		return nil
	}
	if _, err := f.WriteString(new.String() + "\n"); err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	renamed = true
	if err := os.Rename(lockPath, refPath); err != nil {
		os.Remove(lockPath)
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	return nil
}

// staleLockAge: a ref lock is held for the microseconds of a read, a write
// and a rename; one this old was left by a process killed while holding it
// (SIGKILL, power loss) and would block the branch for ever.
const staleLockAge = 3 * time.Second

// removeStaleLock removes the lock at path when it is stale, and reports
// whether it did.
func removeStaleLock(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || time.Since(fi.ModTime()) < staleLockAge {
		return false
	}
	return os.Remove(path) == nil
}
