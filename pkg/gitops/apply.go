package gitops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Change is one commit's worth of edits to one directory.
type Change struct {
	// Dir is the app directory, a slash path relative to the repository
	// root; "" or "." is the root.
	Dir string
	// Files maps slash paths relative to Dir to their content, written as
	// regular (0644) files; one that was executable stays executable.
	Files map[string][]byte
	// Replace lists paths relative to Dir (files or directories; "." for all
	// of Dir) that are replaced whole: every file under them that is not in
	// Files is deleted.
	Replace []string
	// Message is the full commit message (see FormatMessage).
	Message string
	// Author is the author and committer.
	Author Signature
}

// Signature names who made a commit and when.
type Signature struct {
	Name, Email string
	When        time.Time
}

// Result describes the commit Apply made.
type Result struct {
	Commit plumbing.Hash
	Parent plumbing.Hash // zero for the first commit of the branch
	Pushed bool
	// LocalBehind, for a local checkout, names the files whose local
	// changes kept Apply from bringing the checked-out branch forward to a
	// pushed Commit (the branch and worktree are left as they were); empty
	// when the branch is at Commit.
	LocalBehind []string
}

// Apply commits c on the branch, on top of Head, and pushes it when
// Options.Push was set and the repo has a remote. The push is a
// compare-and-swap on the old head: if the remote branch moved, the push
// fails with ErrPushRejected.
//
// Apply is all or nothing: the push comes first, and nothing local moves
// unless it succeeded. Then, in a local repository, the remote-tracking
// branch and the local branch move to the commit; when the branch is
// checked out, so do the worktree files that differ and their index
// entries, unless one of them has local changes (see Result.LocalBehind).
// Without a remote, the commit goes on the local branch the same way. A
// run killed meanwhile leaves the checkout as it was, or at the commit once
// the next Open has finished the update.
//
// Apply writes the blobs, trees and commit as objects directly, rewriting
// only the trees on the path to c.Dir. It returns ErrNoChange when the
// resulting tree is Head's tree. On error the Result is zero, except when
// the commit was made (and pushed) but updating the checkout failed.
func (r *Repo) Apply(ctx context.Context, c Change) (Result, error) {
	res, err := r.apply(ctx, c)
	if err != nil {
		return res, redact(fmt.Errorf("commit to %s on %s: %w", displayDir(c.Dir), r.branch, err), r.secrets)
	}
	return res, nil
}

func (r *Repo) apply(ctx context.Context, c Change) (Result, error) {
	mc, err := r.makeCommit(ctx, c)
	if err != nil {
		return Result{}, err
	}
	old, new := r.head, mc.hash
	res := Result{Commit: new, Parent: old}
	if r.remote != nil {
		if err := r.remote.push(ctx, refUpdate{branch: r.branch, old: old, new: new}, mc.te.written, r.objects); err != nil {
			return Result{}, r.pushError(err)
		}
		res.Pushed = true
	}
	r.head, r.headTree = new, mc.root
	if r.gitDir == "" {
		return res, nil
	}
	// From here the commit is made (and pushed): failures are reported with
	// the Result. Finish even if ctx ends now.
	ctx = context.WithoutCancel(ctx)
	if res.Pushed {
		if cur, _, err := readRef(r.gitDir, r.tracking()); err == nil {
			// The remote-tracking branch is git's note of where the remote
			// is; a lock on it (a git fetch running) only delays the note.
			_ = casRef(r.gitDir, r.tracking(), cur, new)
		}
	}
	dirty, err := r.advanceLocal(ctx, new, mc.root)
	if err != nil {
		if res.Pushed {
			return res, fmt.Errorf("commit %s is pushed, but bringing the local branch %s to it failed (git pull --ff-only does it): %w", shortHash(new), r.branch, err)
		}
		return Result{}, fmt.Errorf("advance local branch: %w", err)
	}
	if len(dirty) > 0 && !res.Pushed {
		// Cannot happen: the caller checked the app dir, the only one changed.
		return Result{}, fmt.Errorf("advance local branch: local changes in %s", strings.Join(dirty, ", "))
	}
	res.LocalBehind = dirty
	return res, nil
}

// advanceLocal moves the local branch, and its checkout when it is checked
// out, from where it is to commit new.
func (r *Repo) advanceLocal(ctx context.Context, new, newTree plumbing.Hash) ([]string, error) {
	branch := plumbing.NewBranchReferenceName(r.branch)
	if r.checkout == "" {
		if err := casRef(r.gitDir, branch, r.local, new); err != nil {
			return nil, err
		}
	} else {
		dirty, err := r.advanceCheckout(ctx, r.local, r.localTree, new, newTree)
		if err != nil || len(dirty) > 0 {
			return dirty, err
		}
	}
	r.local, r.localTree = new, newTree
	return nil, nil
}

// pushError adds what to do to a failed push of a local repository.
func (r *Repo) pushError(err error) error {
	err = fmt.Errorf("push to %s: %w", r.remote, err)
	var stale *staleRefError
	if r.gitDir != "" && errors.As(err, &stale) && stale.got.IsZero() {
		return fmt.Errorf("%w; the remote has no branch %s: push the branch first, then retry", err, r.branch)
	}
	return err
}

// madeCommit is a commit written to the object store, not yet on a branch.
type madeCommit struct {
	te   *treeEditor
	root plumbing.Hash
	hash plumbing.Hash
	dir  string // the edit's directory, cleaned
}

// makeCommit writes c's blobs, trees and commit (signed when a Signer is
// set) on top of Head, without moving any ref.
func (r *Repo) makeCommit(ctx context.Context, c Change) (madeCommit, error) {
	if r.objects == nil {
		return madeCommit{}, errClosed()
	}
	if r.readOnly {
		return madeCommit{}, errors.New("opened read-only on a remote-tracking branch")
	}
	if r.remoteErr != nil {
		return madeCommit{}, r.remoteErr
	}
	if c.Author.Name == "" || c.Author.Email == "" || c.Author.When.IsZero() {
		return madeCommit{}, errors.New("author name, email and time are required")
	}
	if c.Message == "" {
		return madeCommit{}, errors.New("commit message is empty")
	}
	ed, err := newEdit(c)
	if err != nil {
		return madeCommit{}, err
	}
	te := newTreeEditor(r.objects)
	root, err := te.applyEdit(ctx, r.headTree, ed)
	if err != nil {
		return madeCommit{}, err
	}
	if root == r.headTree || (r.head.IsZero() && root == emptyTreeHash()) {
		return madeCommit{}, ErrNoChange
	}
	sig := object.Signature{Name: c.Author.Name, Email: c.Author.Email, When: c.Author.When}
	commit := &object.Commit{Author: sig, Committer: sig, Message: c.Message, TreeHash: root}
	if !r.head.IsZero() {
		commit.ParentHashes = []plumbing.Hash{r.head}
	}
	if r.signer != nil {
		if err := signCommit(commit, r.signer); err != nil {
			return madeCommit{}, err
		}
	}
	obj := r.objects.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return madeCommit{}, fmt.Errorf("encode commit: %w", err)
	}
	if err := te.putObject(obj); err != nil {
		return madeCommit{}, err
	}
	if err := ctx.Err(); err != nil {
		return madeCommit{}, err
	}
	return madeCommit{te: te, root: root, hash: obj.Hash(), dir: ed.dir}, nil
}

// emptyTreeHash is the hash of the tree with no entries.
func emptyTreeHash() plumbing.Hash { return plumbing.ComputeHash(plumbing.TreeObject, nil) }

// Propose commits c on top of Head like Apply, but puts the commit on
// branch (a pull request's head branch) instead of the branch Repo was
// opened on, which stays where it is, locally and on the remote.
//
// branch is replaced whole: whatever it held before (an earlier rendering
// of the same proposal) is overwritten, as a compare-and-swap on the value
// the push reads (in the same session), so two proposers racing on one branch cannot both
// think they won (the loser gets ErrPushRejected). The commit goes to the
// remote when the repo has one, else to the local repository's branch.
func (r *Repo) Propose(ctx context.Context, c Change, branch string) (Result, error) {
	res, err := r.propose(ctx, c, branch)
	if err != nil {
		return Result{}, redact(fmt.Errorf("commit to %s on %s: %w", displayDir(c.Dir), branch, err), r.secrets)
	}
	return res, nil
}

func (r *Repo) propose(ctx context.Context, c Change, branch string) (Result, error) {
	if branch == r.branch {
		return Result{}, fmt.Errorf("a proposal's branch must differ from the base branch %s", r.branch)
	}
	if err := plumbing.NewBranchReferenceName(branch).Validate(); err != nil {
		return Result{}, fmt.Errorf("branch %q: %w", branch, err)
	}
	mc, err := r.makeCommit(ctx, c)
	if err != nil {
		return Result{}, err
	}
	res := Result{Commit: mc.hash, Parent: r.head}
	switch {
	case r.remote != nil:
		if err := r.remote.push(ctx, refUpdate{branch: branch, new: mc.hash, replace: true}, mc.te.written, r.objects); err != nil {
			return Result{}, fmt.Errorf("push to %s: %w", r.remote, err)
		}
		res.Pushed = true
	case r.gitDir != "":
		name := plumbing.NewBranchReferenceName(branch)
		cur, _, err := readRef(r.gitDir, name)
		if err != nil {
			return Result{}, err
		}
		if err := casRef(r.gitDir, name, cur, mc.hash); err != nil {
			return Result{}, fmt.Errorf("update local branch: %w", err)
		}
	default:
		return Result{}, errors.New("the repository was opened without pushing, so the commit would be lost")
	}
	return res, nil
}
