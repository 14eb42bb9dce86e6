package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// remote is where Apply and Propose push. push sends objs, which it reads
// from src, then moves the remote branch as a compare-and-swap (see
// refUpdate). Everything else the new commit reaches must already be on the
// remote: it is reachable from a commit the remote has.
type remote interface {
	push(ctx context.Context, u refUpdate, objs []plumbing.Hash, src storer.EncodedObjectStorer) error
	fetch(ctx context.Context, branch string, into *Repo) (plumbing.Hash, error)
	String() string
	close() error
}

// refUpdate moves branch to new as a compare-and-swap: on old (zero: the
// branch must not exist), or with replace on whatever the remote holds when
// the push reads it (force-with-lease on the value just read: a writer
// racing in between still makes the swap fail).
type refUpdate struct {
	branch   string
	old, new plumbing.Hash
	replace  bool
}

// expect returns the value the swap is on, given the branch's current one.
func (u refUpdate) expect(cur plumbing.Hash, exists bool) (plumbing.Hash, error) {
	name := plumbing.NewBranchReferenceName(u.branch)
	if u.replace {
		return cur, nil
	}
	if exists != !u.old.IsZero() || cur != u.old {
		return u.old, &staleRefError{name: name, want: u.old, got: cur}
	}
	return u.old, nil
}

// newRemote returns the remote at loc: repositories on this machine are
// written in place, others are reached with go-git's network transports.
// go-git's file transport is never used: it runs the git binary.
func newRemote(loc location, a Auth) (remote, error) {
	installTransports()
	switch loc.kind {
	case kindNetURL:
		ep, err := transport.NewEndpoint(loc.raw)
		if err != nil {
			return nil, fmt.Errorf("remote %s: %w", loc.display, redact(err, loc.secrets))
		}
		tr, err := client.NewClient(ep)
		if err != nil {
			return nil, fmt.Errorf("remote %s: %w", loc.display, err)
		}
		auth, err := loc.authMethod(a)
		if err != nil {
			return nil, err
		}
		return &wireRemote{ep: ep, tr: tr, auth: auth, display: loc.display, raw: loc.raw}, nil
	default:
		gitDir, bare, err := findGitDir(loc.path)
		if err != nil {
			return nil, fmt.Errorf("remote %s: %w", loc.display, err)
		}
		st := openStorage(gitDir)
		return &fsRemote{gitDir: gitDir, st: st, bare: bare, display: loc.display}, nil
	}
}

// rejected wraps a refusal of the remote as ErrPushRejected.
type rejectedError struct{ msg string }

func (e *rejectedError) Error() string        { return e.msg }
func (e *rejectedError) Is(target error) bool { return target == ErrPushRejected }

// serverError is a refusal or failure of the server's own (ErrServer), and
// with auth one about the credentials (ErrAuth too).
type serverError struct {
	msg  string
	auth bool
}

func (e *serverError) Error() string { return e.msg }
func (e *serverError) Is(target error) bool {
	return target == ErrServer || (e.auth && target == ErrAuth)
}

// authError marks an error as the server's refusal of the credentials.
func authError(err error) error {
	if err == nil || errors.Is(err, ErrAuth) {
		return err
	}
	if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) ||
		strings.Contains(err.Error(), "unable to authenticate") {
		return &serverError{msg: err.Error(), auth: true}
	}
	return err
}

// raceStatuses are the words of a ref update's refusal that mean the ref
// moved: git's "stale info", "non-fast-forward", "fetch first", "failed to
// update ref" / "cannot lock ref" (its compare-and-swap under the lock).
var raceStatuses = []string{"stale info", "non-fast-forward", "fetch first", "failed to update ref", "failed to lock", "cannot lock ref", "already exists"}

func isRaceStatus(s string) bool {
	s = strings.ToLower(s)
	for _, r := range raceStatuses {
		if strings.Contains(s, r) {
			return true
		}
	}
	return false
}

// serverMessages are the server's "remote:" lines (a hook's output),
// bounded, for an error.
type serverMessages struct{ b bytes.Buffer }

func (m *serverMessages) Write(p []byte) (int, error) {
	if room := 2048 - m.b.Len(); room > 0 {
		m.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (m *serverMessages) String() string {
	var lines []string
	for _, l := range strings.FieldsFunc(m.b.String(), func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return " (the server said: " + strings.Join(lines, "; ") + ")"
}

// httpError says what an HTTP-level failure of the server was, quoting it.
func httpError(what string, err error) error {
	var he *githttp.Err
	var ue *plumbing.UnexpectedError
	if errors.As(err, &ue) {
		errors.As(ue.Err, &he) // go-git's wrapper has no Unwrap
	}
	switch {
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return &serverError{msg: fmt.Sprintf("%s: the server refused to let these credentials push (HTTP 403: %s)", what, reason(err)), auth: true}
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return &serverError{msg: fmt.Sprintf("%s: the server wants credentials (HTTP 401)", what), auth: true}
	case he != nil || errors.As(err, &he):
		return &serverError{msg: fmt.Sprintf("%s: the server failed (HTTP %d): %s", what, he.Response.StatusCode, strings.TrimSpace(he.Reason))}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// reason is the server's text of a go-git HTTP error ("...: text").
func reason(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return strings.TrimSpace(s)
}

// fsRemote is a repository on this machine: objects are copied into it and
// its branch ref is swapped under git's lock file protocol.
type fsRemote struct {
	gitDir  string
	st      *filesystem.Storage
	bare    bool
	display string
}

func (f *fsRemote) String() string { return f.display }
func (f *fsRemote) close() error   { return f.st.Close() }

func (f *fsRemote) push(ctx context.Context, u refUpdate, objs []plumbing.Hash, src storer.EncodedObjectStorer) error {
	name := plumbing.NewBranchReferenceName(u.branch)
	if !f.bare {
		if ref, err := f.st.Reference(plumbing.HEAD); err == nil && ref.Type() == plumbing.SymbolicReference && ref.Target() == name {
			return fmt.Errorf("refusing to update %s, the checked-out branch of the non-bare repository %s", u.branch, f.display)
		}
	}
	// Fail early, before copying objects, when the branch already moved.
	cur, ok, err := readRef(f.gitDir, name)
	if err != nil {
		return err
	}
	old, err := u.expect(cur, ok)
	if err != nil {
		return err
	}
	for _, h := range objs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.st.HasEncodedObject(h) == nil {
			continue
		}
		o, err := src.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return fmt.Errorf("read object %s: %w", h, err)
		}
		if _, err := f.st.SetEncodedObject(o); err != nil {
			return fmt.Errorf("write object %s: %w", h, err)
		}
	}
	return casRef(f.gitDir, name, old, u.new)
}

// wireRemote is a remote reached over go-git's network transports. It sends
// a pack of exactly the new objects, so its cost does not depend on the size
// of the repository.
type wireRemote struct {
	ep      *transport.Endpoint
	tr      transport.Transport
	auth    transport.AuthMethod
	display string
	raw     string // the URL, credentials and all
}

func (w *wireRemote) String() string { return w.display }
func (w *wireRemote) close() error   { return nil }

func (w *wireRemote) push(ctx context.Context, u refUpdate, objs []plumbing.Hash, src storer.EncodedObjectStorer) (err error) {
	sess, err := w.tr.NewReceivePackSession(w.ep, w.auth)
	if err != nil {
		return fmt.Errorf("connect: %w", authError(err))
	}
	defer func() {
		if cerr := sess.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close session: %w", cerr)
		}
	}()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return httpError("list remote refs", err)
	}
	name := plumbing.NewBranchReferenceName(u.branch)
	var cur plumbing.Hash
	exists := false
	if ar != nil {
		cur, exists = ar.References[name.String()]
	}
	old, err := u.expect(cur, exists)
	if err != nil {
		return err
	}
	caps := capability.NewList()
	if ar != nil {
		caps = ar.Capabilities
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(caps)
	req.Commands = []*packp.Command{{Name: name, Old: old, New: u.new}}
	var pack bytes.Buffer
	enc := packfile.NewEncoder(&pack, src, !caps.Supports(capability.OFSDelta))
	if _, err := enc.Encode(objs, 0); err != nil {
		return fmt.Errorf("pack %d objects: %w", len(objs), err)
	}
	req.Packfile = io.NopCloser(&pack)
	// The server's messages (a hook's refusal) come on the side band.
	var said serverMessages
	switch {
	case caps.Supports(capability.Sideband64k):
		req.Capabilities.Set(capability.Sideband64k)
		req.Progress = &said
	case caps.Supports(capability.Sideband):
		req.Capabilities.Set(capability.Sideband)
		req.Progress = &said
	}
	rs, err := sess.ReceivePack(ctx, req)
	if rs != nil {
		if rs.UnpackStatus != "" && rs.UnpackStatus != "ok" {
			// The server's storage, not a race: a missing base would show
			// as a refused ref update (the old value no longer matches).
			return &serverError{msg: fmt.Sprintf("the server could not store the pushed objects: %s%s", rs.UnpackStatus, said.String())}
		}
		for _, cs := range rs.CommandStatuses {
			switch {
			case cs.Status == "ok":
			case isRaceStatus(cs.Status):
				return &rejectedError{msg: fmt.Sprintf("remote refused to update %s: %s%s", cs.ReferenceName.Short(), cs.Status, said.String())}
			default:
				return &serverError{msg: fmt.Sprintf("the server refused to update %s: %s%s", cs.ReferenceName.Short(), cs.Status, said.String())}
			}
		}
	}
	if err != nil {
		return httpError("send pack", err)
	}
	return nil
}

// fetch copies branch's commit on the remote, and everything it reaches
// that into lacks, into the local repository into, and returns it (zero
// when the remote has no such branch).
func (f *fsRemote) fetch(ctx context.Context, branch string, into *Repo) (plumbing.Hash, error) {
	h, ok, err := readRef(f.gitDir, plumbing.NewBranchReferenceName(branch))
	if err != nil || !ok {
		return plumbing.ZeroHash, err
	}
	return h, copyMissing(ctx, f.st, into.objects, h)
}

func (w *wireRemote) fetch(ctx context.Context, branch string, into *Repo) (plumbing.Hash, error) {
	spec := config.RefSpec("+" + plumbing.NewBranchReferenceName(branch).String() + ":" + into.tracking().String())
	err := into.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: into.remoteName, RemoteURL: w.raw, RefSpecs: []config.RefSpec{spec}, Auth: w.auth, Tags: git.NoTags})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		var nm git.NoMatchingRefSpecError
		if errors.As(err, &nm) {
			return plumbing.ZeroHash, nil
		}
		return plumbing.ZeroHash, err
	}
	h, _, err := readRef(into.gitDir, into.tracking())
	return h, err
}

// copyMissing copies the commit tip and every object it reaches that dst
// lacks from src to dst. A commit dst has is taken to come with its history
// and trees, so commits are written oldest first and each after its tree:
// a copy cut short leaves dst with that property still true.
func copyMissing(ctx context.Context, src storer.EncodedObjectStorer, dst storer.EncodedObjectStorer, tip plumbing.Hash) error {
	var missing []*object.Commit
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{tip}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] || dst.HasEncodedObject(h) == nil {
			continue
		}
		seen[h] = true
		c, err := object.GetCommit(src, h)
		if err != nil {
			return fmt.Errorf("read commit %s: %w", shortHash(h), err)
		}
		missing = append(missing, c)
		stack = append(stack, c.ParentHashes...)
	}
	// Parents before children: sort by the walk's discovery, reversed, then
	// make sure every commit comes after its missing parents.
	written := map[plumbing.Hash]bool{}
	var write func(c *object.Commit) error
	write = func(c *object.Commit) error {
		if written[c.Hash] {
			return nil
		}
		for _, p := range c.ParentHashes {
			if seen[p] && !written[p] {
				pc, err := object.GetCommit(src, p)
				if err != nil {
					return fmt.Errorf("read commit %s: %w", shortHash(p), err)
				}
				if err := write(pc); err != nil {
					return err
				}
			}
		}
		if err := copyTree(ctx, src, dst, c.TreeHash); err != nil {
			return err
		}
		written[c.Hash] = true
		return copyObject(src, dst, c.Hash)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := write(missing[i]); err != nil {
			return err
		}
	}
	return nil
}

func copyTree(ctx context.Context, src, dst storer.EncodedObjectStorer, h plumbing.Hash) error {
	if dst.HasEncodedObject(h) == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := object.GetTree(src, h)
	if err != nil {
		return fmt.Errorf("read tree %s: %w", shortHash(h), err)
	}
	for _, e := range t.Entries {
		switch e.Mode {
		case filemode.Dir:
			if err := copyTree(ctx, src, dst, e.Hash); err != nil {
				return err
			}
		case filemode.Submodule:
		default:
			if dst.HasEncodedObject(e.Hash) != nil {
				if err := copyObject(src, dst, e.Hash); err != nil {
					return err
				}
			}
		}
	}
	return copyObject(src, dst, h)
}

func copyObject(src, dst storer.EncodedObjectStorer, h plumbing.Hash) error {
	o, err := src.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return fmt.Errorf("read object %s: %w", shortHash(h), err)
	}
	if _, err := dst.SetEncodedObject(o); err != nil {
		return fmt.Errorf("write object %s: %w", shortHash(h), err)
	}
	return nil
}

// maxAncestorWalk bounds isAncestor.
const maxAncestorWalk = 100_000

// isAncestor reports whether commit a is b or reachable from it (a zero a
// is an ancestor of everything).
func isAncestor(ctx context.Context, s storer.EncodedObjectStorer, a, b plumbing.Hash) (bool, error) {
	if a.IsZero() || a == b {
		return true, nil
	}
	seen := map[plumbing.Hash]bool{b: true}
	queue := []plumbing.Hash{b}
	for len(queue) > 0 && len(seen) < maxAncestorWalk {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		h := queue[0]
		queue = queue[1:]
		c, err := object.GetCommit(s, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("read commit %s: %w", shortHash(h), err)
		}
		for _, p := range c.ParentHashes {
			if p == a {
				return true, nil
			}
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return false, nil
}
