package gitops

import (
	"context"
	"errors"
	"fmt"
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
	// regular (0644) files.
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
}

// Apply commits c on the branch, on top of Head, and pushes it when
// Options.Push was set and the repo has a remote. The push is a
// compare-and-swap on the old head: if the remote branch moved, the push
// fails with ErrPushRejected.
//
// Apply is all or nothing: when the push fails, the local branch ref (of a
// local repo) is put back and the worktree is not touched. After a success
// on the checked-out branch of a local checkout, the worktree files under
// c.Dir and their index entries are updated, so the checkout stays clean.
//
// Apply writes the blobs, trees and commit as objects directly, rewriting
// only the trees on the path to c.Dir. It returns ErrNoChange when the
// resulting tree is Head's tree. On error the Result is zero, except when
// the commit was made (and pushed) but updating the worktree failed.
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
	te, root, old, new := mc.te, mc.root, r.head, mc.hash

	branchRef := plumbing.NewBranchReferenceName(r.branch)
	if r.gitDir != "" {
		if err := casRef(r.gitDir, branchRef, old, new); err != nil {
			return Result{}, fmt.Errorf("advance local branch: %w", err)
		}
	}
	res := Result{Commit: new, Parent: old}
	if r.remote != nil {
		if err := r.remote.push(ctx, refUpdate{branch: r.branch, old: old, new: new}, te.written, r.objects); err != nil {
			err = fmt.Errorf("push to %s: %w", r.remote, err)
			if r.gitDir != "" {
				var stale *staleRefError
				switch {
				case errors.As(err, &stale) && stale.got.IsZero() && !stale.locked:
					err = fmt.Errorf("%w; the remote has no branch %s: push the branch first, then retry", err, r.branch)
				case errors.Is(err, ErrPushRejected):
					err = fmt.Errorf("%w; the local branch is not in step with its remote: pull (and push any local commits), then retry", err)
				}
				if rerr := casRef(r.gitDir, branchRef, new, old); rerr != nil {
					err = errors.Join(err, fmt.Errorf("restore local branch to %s: %w", shortHash(old), rerr))
				}
			}
			return Result{}, err
		}
		res.Pushed = true
	}
	// The commit is made (and pushed): from here on, failures are reported
	// with the Result.
	oldTree := r.headTree
	r.head, r.headTree = new, root
	var errs []error
	if r.checkout != "" {
		// Finish even if ctx ends now: a half-updated worktree is worse.
		if err := r.updateWorktree(context.WithoutCancel(ctx), oldTree, root, mc.dir); err != nil {
			errs = append(errs, fmt.Errorf("commit %s is made, but updating the worktree failed (git reset --hard repairs it): %w", new, err))
		}
	}
	if res.Pushed && r.gitDir != "" {
		tracking := plumbing.NewRemoteReferenceName("origin", r.branch)
		if err := r.repo.Storer.SetReference(plumbing.NewHashReference(tracking, new)); err != nil {
			errs = append(errs, fmt.Errorf("commit %s is pushed, but updating %s failed: %w", new, tracking.Short(), err))
		}
	}
	return res, errors.Join(errs...)
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
