package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// remote is where Apply and Propose push. push sends objs, which it reads
// from src, then moves the remote branch as a compare-and-swap (see
// refUpdate). Everything else the new commit reaches must already be on the
// remote: it is reachable from a commit the remote has.
type remote interface {
	push(ctx context.Context, u refUpdate, objs []plumbing.Hash, src storer.EncodedObjectStorer) error
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
		return &wireRemote{ep: ep, tr: tr, auth: auth, display: loc.display}, nil
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
}

func (w *wireRemote) String() string { return w.display }
func (w *wireRemote) close() error   { return nil }

func (w *wireRemote) push(ctx context.Context, u refUpdate, objs []plumbing.Hash, src storer.EncodedObjectStorer) (err error) {
	sess, err := w.tr.NewReceivePackSession(w.ep, w.auth)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		if cerr := sess.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close session: %w", cerr)
		}
	}()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return fmt.Errorf("list remote refs: %w", err)
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
	rs, err := sess.ReceivePack(ctx, req)
	if rs != nil {
		if rs.UnpackStatus != "" && rs.UnpackStatus != "ok" {
			// Typically a missing object: the remote no longer has the head
			// we built on (rewritten history). A fresh read is the cure, so
			// it counts as a lost race.
			return &rejectedError{msg: fmt.Sprintf("remote could not store the pushed objects: %s", rs.UnpackStatus)}
		}
		for _, cs := range rs.CommandStatuses {
			if cs.Status != "ok" {
				return &rejectedError{msg: fmt.Sprintf("remote refused to update %s: %s", cs.ReferenceName.Short(), cs.Status)}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("send pack: %w", err)
	}
	return nil
}
