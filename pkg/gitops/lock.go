package gitops

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// Lock files are created the way git creates them: <file>.lock, exclusively,
// renamed over <file> once written. A lock that exists belongs to someone
// else, and git never removes another process's lock; neither does
// bgrender, with one exception it can prove: a lock that a bgrender process
// created and then was killed holding.
//
// The proof: a bgrender process holds an exclusive flock on the git dir's
// bgrender-lock-owner file for as long as it holds a lock there, and makes
// its lock as a hard link to a file of its own in bgrender-locks/, named
// after the lock, which it removes before it lets the flock go. The kernel
// releases a flock when its process dies. So a process that holds the flock
// and finds a file in bgrender-locks/ knows its maker is dead, and if the
// lock it is named after is that same file (a hard link to it), the lock was
// the dead process's own: it removes both. Every other lock is reported
// (*LockedError) with the command that removes it.

const (
	ownerFile = "bgrender-lock-owner"
	lockDir   = "bgrender-locks"
)

// heldLock is a lock file this process created.
type heldLock struct {
	f        *os.File // the lock file
	lockPath string
	target   string
	mine     string   // the hard link in lockDir; "" without flock
	owner    *os.File // flocked while the lock is held; nil where flock is missing
}

// takeLock creates target's lock file (target is a path inside gitDir),
// after removing any that a killed bgrender process left in gitDir.
func takeLock(gitDir, target string) (*heldLock, error) {
	owner, err := lockOwner(gitDir)
	if err != nil {
		return nil, err
	}
	h := &heldLock{lockPath: target + ".lock", target: target, owner: owner}
	if owner == nil {
		h.f, err = os.OpenFile(h.lockPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		return h, h.lockError(err)
	}
	removeDeadLocks(gitDir)
	rel, err := filepath.Rel(gitDir, h.lockPath)
	if err != nil {
		h.release()
		return nil, fmt.Errorf("lock %s: %w", target, err)
	}
	dir := filepath.Join(gitDir, lockDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.release()
		return nil, fmt.Errorf("lock %s: %w", target, err)
	}
	h.mine = filepath.Join(dir, url.PathEscape(filepath.ToSlash(rel)))
	// Exclusively: a file left there is never truncated (it may be a link
	// to a ref, left by a process killed after its rename).
	if h.f, err = os.OpenFile(h.mine, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
		h.release()
		return nil, fmt.Errorf("lock %s: %w", target, err)
	}
	if err := os.Link(h.mine, h.lockPath); err != nil {
		h.f.Close()
		os.Remove(h.mine)
		return nil, h.lockError(err)
	}
	return h, nil
}

func (h *heldLock) lockError(err error) error {
	if err == nil {
		return nil
	}
	h.release()
	if errors.Is(err, fs.ErrExist) {
		return &LockedError{Path: h.lockPath}
	}
	return fmt.Errorf("lock %s: %w", h.target, err)
}

// write writes the lock file's content.
func (h *heldLock) write(b []byte) error {
	_, err := h.f.Write(b)
	return err
}

// commit renames the written lock file over its target.
func (h *heldLock) commit() error {
	defer h.release()
	if err := h.f.Close(); err != nil {
		os.Remove(h.lockPath)
		return err
	}
	if err := os.Rename(h.lockPath, h.target); err != nil {
		os.Remove(h.lockPath)
		return err
	}
	return nil
}

// abort removes the lock file, leaving the target as it was.
func (h *heldLock) abort() {
	defer h.release()
	h.f.Close()
	os.Remove(h.lockPath)
}

func (h *heldLock) release() {
	if h.mine != "" {
		os.Remove(h.mine)
	}
	if h.owner != nil {
		unflock(h.owner)
		h.owner.Close()
		h.owner = nil
	}
}

// lockOwner opens the owner file of gitDir and takes its flock, waiting for
// another bgrender process's lock to be released (they are held for the
// moments of a write). It returns nil where flock does not exist.
func lockOwner(gitDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(gitDir, ownerFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Join(gitDir, ownerFile), err)
	}
	ok, err := flock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	if !ok {
		f.Close()
		return nil, nil
	}
	return f, nil
}

// removeDeadLocks removes what dead bgrender processes left in gitDir: each
// file in lockDir (its maker let the flock go, which the caller now holds,
// without removing it: it died), and the lock it is named after when that is
// the same file.
func removeDeadLocks(gitDir string) {
	dir := filepath.Join(gitDir, lockDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		mine := filepath.Join(dir, e.Name())
		rel, err := url.PathUnescape(e.Name())
		if err == nil {
			lock := filepath.Join(gitDir, filepath.FromSlash(rel))
			a, errA := os.Lstat(mine)
			b, errB := os.Lstat(lock)
			if errA == nil && errB == nil && os.SameFile(a, b) {
				os.Remove(lock)
			}
		}
		os.Remove(mine)
	}
}
