package gitops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in      string
		kind    locKind
		display string
		secret  string // must not appear in display
	}{
		{in: "https://user:secret@host/x.git", kind: kindNetURL, display: "https://user:xxxxx@host/x.git", secret: "secret"},
		{in: "https://ghp_tokenonly@github.com/o/r.git", kind: kindNetURL, display: "https://xxxxx@github.com/o/r.git", secret: "ghp_tokenonly"},
		{in: "https://host/x.git", kind: kindNetURL, display: "https://host/x.git"},
		{in: "http://a:p%40ss@127.0.0.1:8080/r", kind: kindNetURL, display: "http://a:xxxxx@127.0.0.1:8080/r", secret: "p%40ss"},
		{in: "ssh://git@host:2222/x.git", kind: kindNetURL, display: "ssh://git@host:2222/x.git"},
		{in: "git@github.com:org/repo.git", kind: kindNetURL, display: "git@github.com:org/repo.git"},
		{in: "file:///srv/env.git", kind: kindFileURL, display: "file:///srv/env.git"},
		{in: "/srv/env", kind: kindLocal, display: "/srv/env"},
		{in: "./with:colon", kind: kindLocal, display: "./with:colon"},
		{in: "relative/dir", kind: kindLocal, display: "relative/dir"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			l, err := parseLocation(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if l.kind != tt.kind || l.display != tt.display {
				t.Errorf("parseLocation = kind %d, display %q; want %d, %q", l.kind, l.display, tt.kind, tt.display)
			}
			if tt.secret != "" && strings.Contains(l.display, tt.secret) {
				t.Errorf("display %q leaks %q", l.display, tt.secret)
			}
		})
	}
	for _, bad := range []string{"", "  ", "file://otherhost/x", "https://user:pw@host/%zz"} {
		_, err := parseLocation(bad)
		if err == nil {
			t.Errorf("parseLocation(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("parseLocation(%q) error leaks the password: %v", bad, err)
		}
	}
}

func TestOpenErrorIsRedacted(t *testing.T) {
	// Nothing listens on port 1: the clone fails at once, and the message
	// must not carry the password.
	_, err := Open(context.Background(), Options{Repo: "https://user:hunter2@127.0.0.1:1/x.git", Auth: Auth{Token: "tok-123"}})
	if err == nil {
		t.Fatal("Open succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "hunter2") || !strings.Contains(msg, "user:xxxxx@127.0.0.1") {
		t.Errorf("error = %q", msg)
	}
}

func TestRedact(t *testing.T) {
	base := errors.New("dial https://u:s3cr3t@h/x failed")
	err := redact(base, []string{"s3cr3t", ""})
	if err.Error() != "dial https://u:xxxxx@h/x failed" || !errors.Is(err, base) {
		t.Errorf("redact = %v", err)
	}
	if redact(nil, nil) != nil {
		t.Error("redact(nil) != nil")
	}
}

func TestCasRef(t *testing.T) {
	h1 := plumbing.NewHash("1111111111111111111111111111111111111111")
	h2 := plumbing.NewHash("2222222222222222222222222222222222222222")
	name := plumbing.NewBranchReferenceName("feature/x")
	tests := []struct {
		name     string
		setup    func(t *testing.T, gitDir string)
		old, new plumbing.Hash
		wantErr  error
		want     plumbing.Hash
		exists   bool
	}{
		{name: "create", old: plumbing.ZeroHash, new: h1, want: h1, exists: true},
		{name: "create over existing", setup: loose(name, h2), old: plumbing.ZeroHash, new: h1, wantErr: ErrPushRejected, want: h2, exists: true},
		{name: "update", setup: loose(name, h1), old: h1, new: h2, want: h2, exists: true},
		{name: "update stale", setup: loose(name, h2), old: h1, new: h2, wantErr: ErrPushRejected, want: h2, exists: true},
		{name: "update packed", setup: packed(name, h1), old: h1, new: h2, want: h2, exists: true},
		{name: "delete", setup: loose(name, h1), old: h1, new: plumbing.ZeroHash, want: plumbing.ZeroHash},
		{name: "locked", setup: func(t *testing.T, g string) {
			loose(name, h1)(t, g)
			write(t, filepath.Join(g, "refs/heads/feature/x.lock"), "")
		}, old: h1, new: h2, wantErr: ErrLocked, want: h1, exists: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, g)
			}
			err := casRef(g, name, tt.old, tt.new)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("casRef: %v, want %v", err, tt.wantErr)
			}
			got, ok, err := readRef(g, name)
			if err != nil || got != tt.want || ok != tt.exists {
				t.Errorf("ref = %s, %v, %v; want %s, %v", got, ok, err, tt.want, tt.exists)
			}
			if tt.name != "locked" {
				if _, err := os.Stat(filepath.Join(g, "refs/heads/feature/x.lock")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("lock file left behind: %v", err)
				}
			}
		})
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func loose(name plumbing.ReferenceName, h plumbing.Hash) func(*testing.T, string) {
	return func(t *testing.T, g string) { write(t, filepath.Join(g, name.String()), h.String()+"\n") }
}

func packed(name plumbing.ReferenceName, h plumbing.Hash) func(*testing.T, string) {
	return func(t *testing.T, g string) {
		write(t, filepath.Join(g, "packed-refs"), "# pack-refs with: peeled fully-peeled sorted\n"+h.String()+" "+name.String()+"\n")
	}
}

// Trees must list entries in git's order, where a directory sorts as if
// its name ended in "/": "a-b" < "a.b" < "a/" < "a0" and "a" (file) < "a-b".
func TestTreeOrder(t *testing.T) {
	ctx := context.Background()
	s := memory.NewStorage()
	te := newTreeEditor(s)
	ed, err := newEdit(Change{Files: map[string][]byte{
		"a/x": nil, "a-b": nil, "a.b": nil, "a0": nil, "b/a": nil, "b.txt": nil, "A": nil,
	}})
	if err != nil {
		t.Fatal(err)
	}
	root, err := te.applyEdit(ctx, plumbing.ZeroHash, ed)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := object.GetTree(s, root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range tree.Entries {
		names = append(names, e.Name)
	}
	want := []string{"A", "a-b", "a.b", "a", "a0", "b.txt", "b"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("entries = %v, want %v", names, want)
	}

	// Emptying a directory drops it; editing keeps siblings by hash.
	before := map[string]plumbing.Hash{}
	for _, e := range tree.Entries {
		before[e.Name] = e.Hash
	}
	te = newTreeEditor(s)
	ed, _ = newEdit(Change{Dir: "b", Replace: []string{"a"}})
	root2, err := te.applyEdit(ctx, root, ed)
	if err != nil {
		t.Fatal(err)
	}
	tree2, _ := object.GetTree(s, root2)
	for _, e := range tree2.Entries {
		if e.Name == "b" {
			t.Errorf("empty directory b kept")
		}
		if before[e.Name] != e.Hash {
			t.Errorf("sibling %s changed", e.Name)
		}
	}
	if len(tree2.Entries) != len(tree.Entries)-1 {
		t.Errorf("entries after = %d, want %d", len(tree2.Entries), len(tree.Entries)-1)
	}
	// Only the new root tree was written: nothing else is new.
	if len(te.written) != 1 || te.written[0] != root2 {
		t.Errorf("written = %v, want just the root %s", te.written, root2)
	}
}

func TestTreeEditReadsOnlyThePath(t *testing.T) {
	ctx := context.Background()
	s := memory.NewStorage()
	files := map[string][]byte{}
	for _, app := range []string{"a", "b", "c"} {
		files["apps/"+app+"/s.yaml"] = []byte(app)
		files["apps/"+app+"/deep/x.yaml"] = []byte(app)
	}
	ed, _ := newEdit(Change{Files: files})
	root, err := newTreeEditor(s).applyEdit(ctx, plumbing.ZeroHash, ed)
	if err != nil {
		t.Fatal(err)
	}
	cs := &readCounter{Storage: s, reads: 0}
	te := newTreeEditor(cs)
	ed, _ = newEdit(Change{Dir: "apps/b", Files: map[string][]byte{"s.yaml": []byte("b2")}})
	if _, err := te.applyEdit(ctx, root, ed); err != nil {
		t.Fatal(err)
	}
	// root, apps, apps/b: three trees; nothing of apps/a or apps/c, and not
	// apps/b/deep.
	if cs.reads != 3 {
		t.Errorf("read %d objects, want 3", cs.reads)
	}
	for _, h := range te.written {
		o, _ := s.EncodedObject(plumbing.AnyObject, h)
		if o.Type() == plumbing.TreeObject {
			tr, _ := object.GetTree(s, h)
			for _, e := range tr.Entries {
				if e.Mode == filemode.Dir && e.Name == "deep" && !te.known[e.Hash] {
					t.Errorf("deep tree rewritten")
				}
			}
		}
	}
}

type readCounter struct {
	*memory.Storage
	reads int
}

func (r *readCounter) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	r.reads++
	return r.Storage.EncodedObject(t, h)
}

// TestRefLocks: a lock made by another process (git, say) is never removed,
// however old: it is reported with the command that removes it. A lock
// that a bgrender process made and was killed holding (its flock released,
// its record left) is removed by the next bgrender process.
func TestRefLocks(t *testing.T) {
	gitDir := t.TempDir()
	name := plumbing.NewBranchReferenceName("main")
	old := plumbing.NewHash("1111111111111111111111111111111111111111")
	next := plumbing.NewHash("2222222222222222222222222222222222222222")
	if err := casRef(gitDir, name, plumbing.ZeroHash, old); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(gitDir, "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-24 * time.Hour)
	if err := os.Chtimes(lock, long, long); err != nil {
		t.Fatal(err)
	}
	err := casRef(gitDir, name, old, next)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "rm "+lock) {
		t.Fatalf("another process's lock must be respected and reported: %v", err)
	}
	if !fileExists(lock) {
		t.Fatal("the lock was removed")
	}
	os.Remove(lock)

	// A bgrender process killed while holding the lock: the kernel drops its
	// flock, its record stays.
	refPath := filepath.Join(gitDir, "refs", "heads", "main")
	h, err := takeLock(gitDir, refPath)
	if err != nil {
		t.Fatal(err)
	}
	h.f.Close()
	h.owner.Close()
	if !fileExists(lock) {
		t.Fatal("no lock left behind")
	}
	if err := casRef(gitDir, name, old, next); err != nil {
		t.Fatalf("a dead bgrender's lock must not block the branch: %v", err)
	}
	if h, _, _ := readRef(gitDir, name); h != next {
		t.Fatalf("ref %s, want %s", h, next)
	}
	// A dead bgrender's file whose lock was since made again by someone
	// else (not the same file) leaves that lock alone.
	h, err = takeLock(gitDir, refPath)
	if err != nil {
		t.Fatal(err)
	}
	h.f.Close()
	h.owner.Close()
	os.Remove(lock)
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := casRef(gitDir, name, next, old); !errors.Is(err, ErrLocked) {
		t.Fatalf("another process's lock where a dead bgrender's was: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(gitDir, lockDir)); len(ents) != 0 {
		t.Errorf("the dead process's files are left: %v", ents)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
