package gitops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrUnknownRevision: a commit asked about is not in the objects this Repo
// can read, typically one pushed after Open (a network clone is a snapshot).
// Re-open and ask again.
var ErrUnknownRevision = errors.New("unknown revision")

// Bounds of the ancestry walk in Acceptable.
const (
	// maxAncestryWalk is how many commits Acceptable reads, going back from
	// the revision, before it gives up looking for the commit.
	maxAncestryWalk = 10000
	// maxNamedChanges is how many changed files a refusal names.
	maxNamedChanges = 5
)

// Acceptable reports whether revision (what a GitOps controller says it
// applied) is as good as commit (what bgrender committed and waits for) for
// the app in dir: either commit itself, or a descendant of it (commit is
// reachable from revision through parents) whose tree under dir is the same
// as commit's, ignoring the files in ignore (slash paths relative to dir:
// bgrender's state file changes without changing any manifest). A later
// commit made for another app on the same branch is therefore acceptable; one
// that changed this app's manifests again is not.
//
// Both must be full 40-hex commit hashes; a malformed one is an error. When ok
// is false, why says in words what is wrong with revision:
//
//	revision 1a2b3c4d5e6f is not a descendant of 9f8e7d6c5b4a
//	revision 1a2b3c4d5e6f changes apps/myapp after 9f8e7d6c5b4a (overlays/virtualservice.yaml)
//	revision 1a2b3c4d5e6f is unknown: not on branch main as read
//
// A revision (or commit) that is not in the object store, such as a commit
// pushed after Open, gives ok false with that last why and an error wrapping
// ErrUnknownRevision: re-open the Repo and ask again.
//
// The walk goes back from revision and from commit at once, reading each
// commit once and visiting merges' every parent, so that an older revision
// (the controller not there yet) is told quickly too; it gives up after 10000
// commits (refusing revision). It needs
// the history between the two: Repos opened from paths and file:// URLs have
// it, network URLs need Options.History; otherwise the error wraps
// ErrHistoryTruncated.
func (r *Repo) Acceptable(ctx context.Context, dir, commit, revision string, ignore ...string) (ok bool, why string, err error) {
	ok, why, err = r.acceptable(ctx, dir, commit, revision, ignore)
	if err != nil {
		return false, why, redact(fmt.Errorf("check revision %s against %s: %w", abbrev(revision), abbrev(commit), err), r.secrets)
	}
	return ok, why, nil
}

func (r *Repo) acceptable(ctx context.Context, dir, commit, revision string, ignore []string) (bool, string, error) {
	if r.objects == nil {
		return false, "", errClosed()
	}
	d, err := cleanDir(dir)
	if err != nil {
		return false, "", fmt.Errorf("directory: %w", err)
	}
	ign := make(map[string]bool, len(ignore))
	for _, p := range ignore {
		cp, err := cleanRel(p)
		if err != nil {
			return false, "", fmt.Errorf("ignored file: %w", err)
		}
		ign[cp] = true
	}
	ch, err := fullHash("commit", commit)
	if err != nil {
		return false, "", err
	}
	rh, err := fullHash("revision", revision)
	if err != nil {
		return false, "", err
	}
	if ch == rh {
		return true, "", nil
	}
	cc, err := object.GetCommit(r.objects, ch)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, fmt.Sprintf("commit %s is unknown: not on branch %s as read", abbrev(commit), r.branch), fmt.Errorf("commit %s: %w", abbrev(commit), ErrUnknownRevision)
	}
	if err != nil {
		return false, "", fmt.Errorf("read commit %s: %w", ch, err)
	}
	rc, err := object.GetCommit(r.objects, rh)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, fmt.Sprintf("revision %s is unknown: not on branch %s as read", abbrev(revision), r.branch), fmt.Errorf("revision %s: %w", abbrev(revision), ErrUnknownRevision)
	}
	if err != nil {
		return false, "", fmt.Errorf("read commit %s: %w", rh, err)
	}

	found, walked, err := r.reaches(ctx, rc, cc)
	if err != nil {
		return false, "", err
	}
	if !found {
		if walked {
			return false, fmt.Sprintf("revision %s is more than %d commits after %s (or not a descendant): not searched further", abbrev(revision), maxAncestryWalk, abbrev(commit)), nil
		}
		return false, fmt.Sprintf("revision %s is not a descendant of %s", abbrev(revision), abbrev(commit)), nil
	}

	changed, err := changedFiles(ctx, r, cc.TreeHash, rc.TreeHash, d, ign)
	if err != nil {
		return false, "", err
	}
	if len(changed) > 0 {
		shown, more := changed, ""
		if len(shown) > maxNamedChanges {
			shown, more = shown[:maxNamedChanges], fmt.Sprintf(" and %d more", len(changed)-maxNamedChanges)
		}
		return false, fmt.Sprintf("revision %s changes %s after %s (%s%s)", abbrev(revision), displayDir(d), abbrev(commit), strings.Join(shown, ", "), more), nil
	}
	return true, "", nil
}

// reaches reports whether target is an ancestor of from (or from itself).
// It walks back from both commits at once, one commit from each side per
// step, reading each commit at most once: from's side finding target answers
// yes; target's side finding from answers no (from is an ancestor of target,
// the usual case of a controller still on an older commit), and so does
// from's side running out. Commit dates play no part: they can lie. gaveUp is
// true when it stopped at maxAncestryWalk commits without an answer.
func (r *Repo) reaches(ctx context.Context, from, target *object.Commit) (found, gaveUp bool, err error) {
	up := walker{r: r, seen: map[plumbing.Hash]bool{from.Hash: true}, queue: []*object.Commit{from}}
	down := walker{r: r, seen: map[plumbing.Hash]bool{target.Hash: true}, queue: []*object.Commit{target}}
	for len(up.queue) > 0 {
		if err := ctx.Err(); err != nil {
			return false, false, err
		}
		if len(up.seen)+len(down.seen) >= maxAncestryWalk {
			return false, true, nil
		}
		c, err := up.step()
		if err != nil {
			return false, false, err
		}
		if c.Hash == target.Hash {
			return true, false, nil
		}
		if len(down.queue) > 0 {
			d, err := down.step()
			if err != nil {
				return false, false, err
			}
			if d.Hash == from.Hash {
				return false, false, nil
			}
		}
	}
	return false, false, nil
}

// walker is one side of a breadth-first walk over parents.
type walker struct {
	r     *Repo
	seen  map[plumbing.Hash]bool
	queue []*object.Commit
}

// step pops the next commit and queues its unseen parents.
func (w *walker) step() (*object.Commit, error) {
	c := w.queue[0]
	w.queue = w.queue[1:]
	if len(c.ParentHashes) > 0 && w.r.shallow[c.Hash] {
		return nil, fmt.Errorf("%w: reached %s (open with Options.History)", ErrHistoryTruncated, shortHash(c.Hash))
	}
	for _, ph := range c.ParentHashes {
		if w.seen[ph] {
			continue
		}
		w.seen[ph] = true
		p, err := object.GetCommit(w.r.objects, ph)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, fmt.Errorf("%w: parent %s of %s is missing (open with Options.History)", ErrHistoryTruncated, shortHash(ph), shortHash(c.Hash))
		}
		if err != nil {
			return nil, fmt.Errorf("read commit %s: %w", ph, err)
		}
		w.queue = append(w.queue, p)
	}
	return c, nil
}

// changedFiles returns, sorted, the files under dir (slash paths relative to
// dir) that differ in content or mode between the trees a and b, or exist in
// only one, leaving out those in ignore.
func changedFiles(ctx context.Context, r *Repo, a, b plumbing.Hash, dir string, ignore map[string]bool) ([]string, error) {
	ah, am, aok, err := treeAt(r.objects, a, dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", displayDir(dir), err)
	}
	bh, bm, bok, err := treeAt(r.objects, b, dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", displayDir(dir), err)
	}
	if aok == bok && ah == bh && am == bm {
		return nil, nil
	}
	if (aok && am != filemode.Dir) || (bok && bm != filemode.Dir) {
		return []string{"."}, nil // dir is (or was) a file, and it changed
	}
	af, err := listFiles(ctx, r.objects, ah) // a zero hash lists nothing
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", displayDir(dir), err)
	}
	bf, err := listFiles(ctx, r.objects, bh)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", displayDir(dir), err)
	}
	var out []string
	for p, fa := range af {
		if fb, ok := bf[p]; (!ok || fa != fb) && !ignore[p] {
			out = append(out, p)
		}
	}
	for p := range bf {
		if _, ok := af[p]; !ok && !ignore[p] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// fullHash parses a full 40-hex commit hash (either case).
func fullHash(what, s string) (plumbing.Hash, error) {
	h, ok := parseHash(strings.ToLower(s))
	if !ok {
		return plumbing.ZeroHash, fmt.Errorf("%s %q is not a full 40-hex commit hash", what, s)
	}
	return h, nil
}

// abbrev shortens a hash given as a string for messages; anything else is
// shown as is.
func abbrev(s string) string {
	if len(s) == 40 {
		return s[:12]
	}
	return s
}
