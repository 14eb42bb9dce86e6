package gitopstest

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshRepoPath is the path of the repository in ServeSSH's URLs.
const sshRepoPath = "/repo.git"

// ServeSSH serves the bare repository at dir over SSH on 127.0.0.1 (a random
// port) for the test's lifetime, accepting only public-key auth with the
// given authorized key for user "git". It returns the ssh:// URL of the repo
// and the path of a known_hosts file that lists the server's host key (for
// SSH_KNOWN_HOSTS).
//
// The server runs no program: it answers exec requests for git-upload-pack
// and git-receive-pack in-process, with the protocol handling of ServeHTTP
// (shallow clones, compare-and-swap pushes, connectivity checks), framed as
// git does over SSH: the reference advertisement first, then the request on
// the channel's stdin and the response on its stdout, then an exit status.
func ServeSSH(t testing.TB, dir string, authorized ssh.PublicKey) (url string, knownHosts string) {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("gitopstest.ServeSSH: host key: %v", err)
	}
	hostKey, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatalf("gitopstest.ServeSSH: host key: %v", err)
	}
	want := authorized.Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == "git" && bytes.Equal(key.Marshal(), want) {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("public key %s of user %q is not authorized", ssh.FingerprintSHA256(key), c.User())
		},
	}
	cfg.AddHostKey(hostKey)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gitopstest.ServeSSH: %v", err)
	}
	addr := ln.Addr().String()
	knownHosts = filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey.PublicKey()) + "\n"
	if err := os.WriteFile(knownHosts, []byte(line), 0o600); err != nil {
		ln.Close()
		t.Fatalf("gitopstest.ServeSSH: %v", err)
	}

	s := &sshRemote{
		http:  &httpRemote{dir: dir, t: t},
		cfg:   cfg,
		conns: map[net.Conn]bool{},
	}
	s.wg.Add(1)
	go s.accept(ln)
	t.Cleanup(func() {
		ln.Close()
		s.closeConns()
		s.wg.Wait()
	})
	return "ssh://git@" + addr + sshRepoPath, knownHosts
}

// NewSSHKey writes a fresh ed25519 private key in OpenSSH form to a file in
// a temporary directory, encrypted with passphrase unless it is empty, and
// returns the file's path and the public key.
func NewSSHKey(t testing.TB, passphrase string) (keyFile string, pub ssh.PublicKey) {
	t.Helper()
	pk, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("gitopstest.NewSSHKey: %v", err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "gitopstest")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "gitopstest", []byte(passphrase))
	}
	if err != nil {
		t.Fatalf("gitopstest.NewSSHKey: %v", err)
	}
	if pub, err = ssh.NewPublicKey(pk); err != nil {
		t.Fatalf("gitopstest.NewSSHKey: %v", err)
	}
	keyFile = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatalf("gitopstest.NewSSHKey: %v", err)
	}
	return keyFile, pub
}

// sshRemote is ServeSSH's server. The protocol work is done by http, the
// server ServeHTTP uses, whose mutex also serialises pushes over SSH.
type sshRemote struct {
	http *httpRemote
	cfg  *ssh.ServerConfig
	wg   sync.WaitGroup // the accept loop, connections and sessions

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func (s *sshRemote) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// track records an open connection, or reports false once the test's
// cleanup has closed them all.
func (s *sshRemote) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = true
	return true
}

func (s *sshRemote) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
}

func (s *sshRemote) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	// A refused key ends here: the client reports the failed handshake.
	_, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		s.wg.Add(1)
		go s.serveSession(nc)
	}
}

// serveSession runs the one exec request of a session channel and reports
// its exit status, as sshd does for a command.
func (s *sshRemote) serveSession(nc ssh.NewChannel) {
	defer s.wg.Done()
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	command, ok := "", false
	for req := range reqs {
		var p struct{ Command string }
		if req.Type == "exec" && ssh.Unmarshal(req.Payload, &p) == nil {
			req.Reply(true, nil)
			command, ok = p.Command, true
			break
		}
		req.Reply(false, nil) // env, pty-req, shell, ...
	}
	if !ok {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	status := uint32(0)
	if err := s.exec(ch, command); err != nil {
		s.http.t.Logf("gitopstest ssh server: %s: %v", command, err)
		fmt.Fprintf(ch.Stderr(), "fatal: %v\n", err)
		status = 1
	}
	// The client may have hung up once it had what it wanted.
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
}

// exec serves one git-upload-pack or git-receive-pack command on ch.
func (s *sshRemote) exec(ch ssh.Channel, command string) error {
	service, path, err := parseGitCommand(command)
	if err != nil {
		return err
	}
	if path != sshRepoPath {
		// go-git's client turns this message into ErrRepositoryNotFound.
		return fmt.Errorf("'%s' does not appear to be a git repository", path)
	}
	st := filesystem.NewStorageWithOptions(osfs.New(s.http.dir), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	defer st.Close()
	if err := s.advertise(ch, service, st); err != nil {
		return fmt.Errorf("advertise references: %w", err)
	}
	// A client that only wanted the references (or found nothing to fetch
	// or push) says goodbye with a flush packet or by closing its stdin.
	in := bufio.NewReader(ch)
	if b, err := in.Peek(4); errors.Is(err, io.EOF) || bytes.Equal(b, pktline.FlushPkt) {
		return nil
	} else if err != nil {
		return err
	}
	w := channelResponse{Writer: ch, header: http.Header{}}
	if service == transport.UploadPackServiceName {
		return s.http.uploadPack(w, in, st)
	}
	return s.http.receivePack(w, in, st)
}

// advertise writes what git-upload-pack and git-receive-pack send first over
// SSH: the references and capabilities of ServeHTTP's info/refs, without the
// "# service=..." packet and flush that only smart HTTP puts before them.
func (s *sshRemote) advertise(w io.Writer, service string, st storer.Storer) error {
	rec := httptest.NewRecorder()
	if err := s.http.infoRefs(rec, service, st); err != nil {
		return err
	}
	body := bytes.NewReader(rec.Body.Bytes())
	sc := pktline.NewScanner(body)
	if !sc.Scan() || !bytes.HasPrefix(sc.Bytes(), []byte("# service=")) {
		return fmt.Errorf("info/refs does not start with a service line: %v", sc.Err())
	}
	if !sc.Scan() || len(sc.Bytes()) != 0 {
		return fmt.Errorf("info/refs: no flush after the service line: %v", sc.Err())
	}
	_, err := io.Copy(w, body) // the scanner reads exactly the two packets
	return err
}

// channelResponse lets ServeHTTP's handlers, which set headers and write a
// body, write to an SSH channel: headers are dropped.
type channelResponse struct {
	io.Writer
	header http.Header
}

func (r channelResponse) Header() http.Header { return r.header }
func (channelResponse) WriteHeader(int)       {}

// parseGitCommand splits a command such as git-upload-pack '/repo.git' into
// the service and the (shell-unquoted) path.
func parseGitCommand(command string) (service, path string, err error) {
	service, arg, ok := strings.Cut(command, " ")
	if !ok || (service != transport.UploadPackServiceName && service != transport.ReceivePackServiceName) {
		return "", "", fmt.Errorf("unsupported command %q: only git-upload-pack and git-receive-pack run here", command)
	}
	path, err = shellUnquote(strings.TrimSpace(arg))
	if err != nil {
		return "", "", fmt.Errorf("command %q: %w", command, err)
	}
	return service, path, nil
}

// shellUnquote undoes git's sq_quote: one single-quoted word, in which a
// quote or a bang is written as close quote, backslash, the character, open
// quote:
//
//	'/it'\''s/repo.git'  is  /it's/repo.git
func shellUnquote(s string) (string, error) {
	if !strings.HasPrefix(s, "'") {
		return "", errors.New("path is not single-quoted")
	}
	var b strings.Builder
	s = s[1:]
	for {
		i := strings.IndexByte(s, '\'')
		if i < 0 {
			return "", errors.New("unterminated quote")
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		switch {
		case s == "":
			return b.String(), nil
		case len(s) >= 3 && s[0] == '\\' && (s[1] == '\'' || s[1] == '!') && s[2] == '\'':
			b.WriteByte(s[1])
			s = s[3:]
		default:
			return "", errors.New("path is not one single-quoted word")
		}
	}
}
