package gitops

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Test for them with errors.Is; the errors returned wrap them
// with what was being attempted.
var (
	// ErrNoChange: the change would produce a tree identical to Head's, so no
	// commit was made.
	ErrNoChange = errors.New("nothing to commit: the files are already as requested")

	// ErrPushRejected: the branch moved since this Repo read it (a push that
	// lost a race, or a local branch that is behind or ahead of its remote),
	// or the remote refused the update. Nothing was changed; re-open and retry.
	ErrPushRejected = errors.New("push rejected")

	// ErrHistoryTruncated: the history available (a shallow clone) ends before
	// the answer was found.
	ErrHistoryTruncated = errors.New("history is truncated (shallow clone)")

	// ErrEmptyRepo: the branch has no commit yet.
	ErrEmptyRepo = errors.New("branch has no commits")

	// ErrNotFound: no commit in the branch's history touched the directory.
	ErrNotFound = errors.New("no commit touched the directory")

	// ErrLocked: a git lock file (a ref's, the index's) exists; see
	// LockedError. Retrying may help when another process holds it for the
	// moment of its write; a lock left by a killed process stays until
	// removed.
	ErrLocked = errors.New("locked")

	// ErrDiverged: the local branch of a checkout has commits its remote
	// does not (unpushed, or diverged): a transition would push them too.
	ErrDiverged = errors.New("the local branch is not in step with its remote")

	// ErrServer: the remote refused or failed a push for its own reasons
	// (a hook, its storage, the credentials' rights, an HTTP error): not a
	// lost race, so retrying does not help. The error quotes the server.
	ErrServer = errors.New("the git server refused the push")

	// ErrAuth: the server did not accept the credentials (none, or ones
	// that may not do what was asked).
	ErrAuth = errors.New("the git server did not accept the credentials")

	// ErrBranchNotFound: Options.Branch names a branch that the repository
	// does not have (an empty repository has every branch: the first commit
	// creates it).
	ErrBranchNotFound = errors.New("branch not found")

	// ErrNotDirectory is wrapped by ReadTree's error for a path that is a
	// file.
	ErrNotDirectory = errors.New("it is a file, not a directory")
)

// DirtyError reports uncommitted changes in a local checkout (see
// Repo.CheckClean).
type DirtyError struct {
	// Dir is the directory that was checked ("" for the root).
	Dir string
	// Paths are slash paths relative to the repository root, sorted: files
	// whose worktree or index content or mode differs from Head, files
	// deleted from the worktree, and untracked files.
	Paths []string
}

func (e *DirtyError) Error() string {
	const max = 10
	shown := e.Paths
	more := ""
	if len(shown) > max {
		more = fmt.Sprintf(" and %d more", len(shown)-max)
		shown = shown[:max]
	}
	return fmt.Sprintf("uncommitted changes under %s: %s%s",
		displayDir(e.Dir), strings.Join(shown, ", "), more)
}

func displayDir(dir string) string {
	if dir == "" || dir == "." {
		return "the repository root"
	}
	return dir
}

// redactedError replaces the message of an error that may contain a secret
// (a URL with a password, say) while keeping it unwrappable.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with every secret in secrets removed from its message.
func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := msg
	for _, s := range secrets {
		if s != "" {
			red = strings.ReplaceAll(red, s, redactedMark)
		}
	}
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}
