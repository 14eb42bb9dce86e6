package gitopstest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/revlist"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

var errEmpty = transport.ErrEmptyRemoteRepository

// ServeHTTP serves the bare repository at dir over git's smart HTTP protocol
// on a loopback port until the test ends, and returns its URL. With a
// username, requests must carry that username and password (basic auth).
//
// The server supports what gitops needs and checks what a real server
// checks: shallow (depth) clones, and pushes that are compare-and-swaps
// (an update whose old value is not the ref's current value is refused)
// and that must leave every object reachable from the new commit present.
func ServeHTTP(t testing.TB, dir, username, password string) string {
	t.Helper()
	h := &httpRemote{dir: dir, user: username, pass: password, t: t}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL + "/repo.git"
}

type httpRemote struct {
	dir, user, pass string
	t               testing.TB
	// mu serialises pushes, making the ref check and update atomic, and
	// keeps reads out while a push writes: go-git's filesystem storage is
	// not safe for a reader and a writer at once (a real server's ref and
	// object writes are atomic renames).
	mu sync.RWMutex
}

type loader struct{ st storer.Storer }

func (l loader) Load(*transport.Endpoint) (storer.Storer, error) { return l.st, nil }

func (h *httpRemote) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if h.user != "" {
		u, p, ok := req.BasicAuth()
		if !ok || u != h.user || p != h.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="gitopstest"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	st := filesystem.NewStorageWithOptions(osfs.New(h.dir), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	defer st.Close()
	var err error
	switch {
	case req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/info/refs"):
		h.mu.RLock()
		err = h.infoRefs(w, req.URL.Query().Get("service"), st)
		h.mu.RUnlock()
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/git-upload-pack"):
		h.mu.RLock()
		err = h.uploadPack(w, req.Body, st)
		h.mu.RUnlock()
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/git-receive-pack"):
		err = h.receivePack(w, req.Body, st)
	default:
		http.NotFound(w, req)
		return
	}
	if err != nil {
		h.t.Logf("gitopstest http server: %s %s: %v", req.Method, req.URL.Path, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (h *httpRemote) infoRefs(w http.ResponseWriter, service string, st storer.Storer) error {
	srv := server.NewServer(loader{st})
	var ar *packp.AdvRefs
	var err error
	switch service {
	case transport.UploadPackServiceName:
		var s transport.UploadPackSession
		if s, err = srv.NewUploadPackSession(nil, nil); err == nil {
			ar, err = s.AdvertisedReferences()
		}
		if err == nil {
			err = ar.Capabilities.Set(capability.Shallow)
		}
	case transport.ReceivePackServiceName:
		var s transport.ReceivePackSession
		if s, err = srv.NewReceivePackSession(nil, nil); err == nil {
			ar, err = s.AdvertisedReferences()
		}
	default:
		return fmt.Errorf("unknown service %q", service)
	}
	if err != nil {
		return err
	}
	ar.Prefix = [][]byte{[]byte("# service=" + service), pktline.Flush}
	w.Header().Set("Content-Type", "application/x-"+service+"-advertisement")
	w.Header().Set("Cache-Control", "no-cache")
	return ar.Encode(w)
}

func (h *httpRemote) uploadPack(w http.ResponseWriter, body io.Reader, st storer.Storer) error {
	req := packp.NewUploadPackRequest()
	if err := req.UploadRequest.Decode(body); err != nil {
		return fmt.Errorf("decode upload request: %w", err)
	}
	// Read the haves up to the client's "done", as git does, before
	// answering: over SSH the client writes them after the wants, and a
	// server that answered and hung up first would make its write fail
	// ("sending done message: EOF").
	sc := pktline.NewScanner(body)
	for sc.Scan() {
		if strings.TrimSpace(string(sc.Bytes())) == "done" {
			break
		}
	}
	var objs, shallows []plumbing.Hash
	var err error
	if d, ok := req.Depth.(packp.DepthCommits); ok && d > 0 {
		objs, shallows, err = shallowObjects(st, req.Wants, int(d))
	} else {
		objs, err = revlist.Objects(st, req.Wants, nil)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	if !req.Depth.IsZero() {
		if err := (&packp.ShallowUpdate{Shallows: shallows}).Encode(w); err != nil {
			return err
		}
	}
	if err := pktline.NewEncoder(w).EncodeString("NAK\n"); err != nil {
		return err
	}
	// No delta search: it would make the server, not the client, dominate
	// benchmarks.
	_, err = packfile.NewEncoder(w, st, false).Encode(objs, 0)
	return err
}

// shallowObjects returns the objects of the commits within depth of wants,
// and the commits at the edge that have parents (the new shallow commits).
func shallowObjects(s storer.EncodedObjectStorer, wants []plumbing.Hash, depth int) (objs, shallows []plumbing.Hash, err error) {
	seen := map[plumbing.Hash]bool{}
	level := wants
	for d := 1; d <= depth && len(level) > 0; d++ {
		var next []plumbing.Hash
		for _, h := range level {
			if seen[h] {
				continue
			}
			seen[h] = true
			c, err := object.GetCommit(s, h)
			if err != nil {
				return nil, nil, err
			}
			tree, err := revlist.Objects(s, []plumbing.Hash{c.TreeHash}, nil)
			if err != nil {
				return nil, nil, err
			}
			objs = append(objs, h)
			objs = append(objs, tree...)
			if d == depth && len(c.ParentHashes) > 0 {
				shallows = append(shallows, h)
			}
			next = append(next, c.ParentHashes...)
		}
		level = next
	}
	dedup := map[plumbing.Hash]bool{}
	out := objs[:0]
	for _, h := range objs {
		if !dedup[h] {
			dedup[h] = true
			out = append(out, h)
		}
	}
	return out, shallows, nil
}

func (h *httpRemote) receivePack(w http.ResponseWriter, body io.Reader, st storer.Storer) error {
	req := packp.NewReferenceUpdateRequest()
	if err := req.Decode(body); err != nil {
		return fmt.Errorf("decode update request: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rs := packp.NewReportStatus()
	rs.UnpackStatus = "ok"
	if req.Packfile != nil {
		if err := packfile.UpdateObjectStorage(st, req.Packfile); err != nil && !errors.Is(err, packfile.ErrEmptyPackfile) {
			rs.UnpackStatus = err.Error()
		}
	}
	for _, cmd := range req.Commands {
		status := "ok"
		cur, err := st.Reference(cmd.Name)
		var curHash plumbing.Hash
		if err == nil {
			curHash = cur.Hash()
		}
		switch {
		case rs.UnpackStatus != "ok":
			status = "unpacker error"
		case curHash != cmd.Old:
			status = "stale info"
		case !cmd.New.IsZero():
			// A real server checks connectivity: everything the new commit
			// reaches must be here.
			if err := checkConnected(st, cmd.Old, cmd.New); err != nil {
				status = "missing necessary objects: " + err.Error()
			} else if err := st.SetReference(plumbing.NewHashReference(cmd.Name, cmd.New)); err != nil {
				status = err.Error()
			}
		default:
			if err := st.RemoveReference(cmd.Name); err != nil {
				status = err.Error()
			}
		}
		rs.CommandStatuses = append(rs.CommandStatuses, &packp.CommandStatus{ReferenceName: cmd.Name, Status: status})
	}
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	return rs.Encode(w)
}

// checkConnected checks that every object the commit new reaches is
// present, given that everything old reaches is (old is the ref's current
// value). It descends only into trees that differ from old's at the same
// path, so it costs what the push changed, like git's check with its
// quarantine.
func checkConnected(s storer.EncodedObjectStorer, old, new plumbing.Hash) error {
	c, err := object.GetCommit(s, new)
	if err != nil {
		return err
	}
	for _, p := range c.ParentHashes {
		if err := s.HasEncodedObject(p); err != nil {
			return fmt.Errorf("parent %s: %w", p, err)
		}
	}
	var oldTree plumbing.Hash
	if !old.IsZero() {
		oc, err := object.GetCommit(s, old)
		if err != nil {
			return err
		}
		oldTree = oc.TreeHash
	}
	return checkTree(s, c.TreeHash, oldTree)
}

func checkTree(s storer.EncodedObjectStorer, h, old plumbing.Hash) error {
	if h == old {
		return nil
	}
	t, err := object.GetTree(s, h)
	if err != nil {
		return fmt.Errorf("tree %s: %w", h, err)
	}
	oldEntries := map[string]plumbing.Hash{}
	if !old.IsZero() {
		ot, err := object.GetTree(s, old)
		if err != nil {
			return err
		}
		for _, e := range ot.Entries {
			oldEntries[e.Name] = e.Hash
		}
	}
	for _, e := range t.Entries {
		if e.Mode == filemode.Submodule || oldEntries[e.Name] == e.Hash {
			continue
		}
		if e.Mode == filemode.Dir {
			if err := checkTree(s, e.Hash, oldEntries[e.Name]); err != nil {
				return err
			}
			continue
		}
		if err := s.HasEncodedObject(e.Hash); err != nil {
			return fmt.Errorf("blob %s: %w", e.Hash, err)
		}
	}
	return nil
}
