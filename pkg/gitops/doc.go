// Package gitops writes bgrender's transitions to an environment repository
// as commits: it reads one app directory of a branch, rewrites the files of
// that directory as one commit, and pushes it with a compare-and-swap on the
// branch, so that a push that lost a race is rejected (ErrPushRejected)
// instead of overwriting someone else's commit. It knows nothing about YAML,
// releases or kustomize: it moves file sets in and out of directories.
//
// Start with Open, which takes a local checkout, a bare repository or a URL,
// then Repo.ReadDir to read an app's files and Repo.Apply to commit a
// Change. FormatMessage and ParseTrailers write and read the "Key: Value"
// trailers that record what a commit did; Repo.LastChange finds the commit
// that last touched a directory.
//
// The cost of a transition does not grow with the number of other apps or
// the length of history: network URLs are cloned into memory (one branch,
// depth 1, no checkout); repositories on this machine, including file://
// URLs, are read in place. Apply writes blobs, trees and the commit as
// objects, rewriting only the trees on the path to the app's directory, and
// pushes exactly the objects it wrote. No worktree status is ever computed,
// and no external program is run: go-git's file transport (which runs the
// git binary) is never used.
//
// A local checkout pushes first and then moves: the remote-tracking branch,
// the local branch, and the worktree files that differ with their index
// entries (unless one has local changes), journaled so that a run killed at
// any point leaves the checkout as it was or, once the next Open has run, at
// the pushed commit. Options.Refresh fetches the branch first, for a retry
// after a lost race. Lock files are git's (<file>.lock, renamed into place);
// none is ever removed unless it is provably a killed bgrender's own (see
// lock.go), and every other one is a *LockedError naming the rm command.
// Repo.ReadTree reads a directory within Bounds and reports symbolic links
// apart from files. go-git's HTTP transport is installed once per process
// with redirects off.
//
// The package gitopstest has helpers for tests of other packages: bare
// remotes in temporary directories, seeding, cloning and reading them back.
package gitops
