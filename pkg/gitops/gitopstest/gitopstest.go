package gitopstest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/bgrender/bgrender/pkg/gitops"
)

// Author is the author and committer of the commits Seed makes.
func Author() gitops.Signature {
	return gitops.Signature{Name: "gitopstest", Email: "gitopstest@example.com", When: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// NewRemote creates an empty bare repository whose HEAD names branch ("main"
// when empty) in a temporary directory. url is its file:// URL.
func NewRemote(t testing.TB, branch string) (dir string, url string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "remote.git")
	if err := gitops.InitBare(dir, branch); err != nil {
		t.Fatalf("gitopstest.NewRemote: %v", err)
	}
	return dir, FileURL(dir)
}

// FileURL is the file:// URL of the repository at dir.
func FileURL(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return "file://" + filepath.ToSlash(abs)
}

// Seed pushes one commit to branch of the repository at url (any location
// gitops.Open takes) that writes files (slash paths relative to the root),
// on top of the branch, which is created if the repository is empty. It
// returns the commit.
func Seed(t testing.TB, url string, branch string, files map[string]string, message string) plumbing.Hash {
	t.Helper()
	ctx := context.Background()
	r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: branch, Push: true})
	if err != nil {
		t.Fatalf("gitopstest.Seed: %v", err)
	}
	defer r.Close()
	fs := make(map[string][]byte, len(files))
	for p, c := range files {
		fs[p] = []byte(c)
	}
	res, err := r.Apply(ctx, gitops.Change{Dir: ".", Files: fs, Message: message, Author: Author()})
	if err != nil {
		t.Fatalf("gitopstest.Seed: %v", err)
	}
	return res.Commit
}

// Clone makes a full local checkout (with a worktree, the remote's HEAD
// branch checked out and origin pointing at url) in a temporary directory
// and returns its path. For file:// URLs and paths it copies the objects and
// refs with go-git rather than running a transport (go-git's file transport
// runs the git binary).
func Clone(t testing.TB, url string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "checkout")
	srcDir, local := localPath(url)
	if !local {
		if _, err := git.PlainClone(dst, false, &git.CloneOptions{URL: url}); err != nil {
			t.Fatalf("gitopstest.Clone %s: %v", url, err)
		}
		return dst
	}
	src := openDir(t, srcDir)
	branch := "main"
	if ref, err := src.Reference(plumbing.HEAD); err == nil && ref.Type() == plumbing.SymbolicReference {
		branch = ref.Target().Short()
	}
	repo, err := git.PlainInitWithOptions(dst, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)},
	})
	if err != nil {
		t.Fatalf("gitopstest.Clone: %v", err)
	}
	it, err := src.IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		t.Fatalf("gitopstest.Clone: %v", err)
	}
	if err := it.ForEach(func(o plumbing.EncodedObject) error {
		_, err := repo.Storer.SetEncodedObject(o)
		return err
	}); err != nil {
		t.Fatalf("gitopstest.Clone: copy objects: %v", err)
	}
	refs, err := src.IterReferences()
	if err != nil {
		t.Fatalf("gitopstest.Clone: %v", err)
	}
	var head plumbing.Hash
	if err := refs.ForEach(func(ref *plumbing.Reference) error {
		if !ref.Name().IsBranch() || ref.Type() != plumbing.HashReference {
			return nil
		}
		if ref.Name().Short() == branch {
			head = ref.Hash()
		}
		return repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewRemoteReferenceName("origin", ref.Name().Short()), ref.Hash()))
	}); err != nil {
		t.Fatalf("gitopstest.Clone: copy refs: %v", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		t.Fatalf("gitopstest.Clone: %v", err)
	}
	if err := repo.CreateBranch(&config.Branch{Name: branch, Remote: "origin", Merge: plumbing.NewBranchReferenceName(branch)}); err != nil {
		t.Fatalf("gitopstest.Clone: %v", err)
	}
	if !head.IsZero() {
		if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), head)); err != nil {
			t.Fatalf("gitopstest.Clone: %v", err)
		}
		wt, err := repo.Worktree()
		if err != nil {
			t.Fatalf("gitopstest.Clone: %v", err)
		}
		if err := wt.Reset(&git.ResetOptions{Commit: head, Mode: git.HardReset}); err != nil {
			t.Fatalf("gitopstest.Clone: checkout: %v", err)
		}
	}
	return dst
}

// Log returns branch's commits, newest first, following first parents, with
// their trailers parsed. It stops where a shallow history ends.
func Log(t testing.TB, repoOrURL string, branch string) []gitops.Commit {
	t.Helper()
	s := open(t, repoOrURL)
	h := Head(t, repoOrURL, branch)
	var out []gitops.Commit
	for !h.IsZero() {
		c, err := object.GetCommit(s, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) && len(out) > 0 {
			break
		}
		if err != nil {
			t.Fatalf("gitopstest.Log: %v", err)
		}
		out = append(out, gitops.CommitFrom(c))
		h = plumbing.ZeroHash
		if len(c.ParentHashes) > 0 {
			h = c.ParentHashes[0]
		}
	}
	return out
}

// Files returns the files under dir ("" or "." for the root) at rev (a
// commit hash or a branch name), keyed by slash path relative to dir. A
// missing directory gives an empty map.
func Files(t testing.TB, repoOrURL, rev string, dir string) map[string]string {
	t.Helper()
	s := open(t, repoOrURL)
	h := resolve(t, repoOrURL, rev)
	out := map[string]string{}
	if h.IsZero() {
		return out
	}
	c, err := object.GetCommit(s, h)
	if err != nil {
		t.Fatalf("gitopstest.Files: %v", err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatalf("gitopstest.Files: %v", err)
	}
	if d := strings.Trim(dir, "/"); d != "" && d != "." {
		tree, err = tree.Tree(d)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return out
		}
		if err != nil {
			t.Fatalf("gitopstest.Files: %v", err)
		}
	}
	if err := tree.Files().ForEach(func(f *object.File) error {
		c, err := f.Contents()
		out[f.Name] = c
		return err
	}); err != nil {
		t.Fatalf("gitopstest.Files: %v", err)
	}
	return out
}

// Paths returns the sorted keys of a Files result.
func Paths(files map[string]string) []string {
	out := make([]string, 0, len(files))
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Head returns the commit branch points at, or the zero hash when the
// branch does not exist.
func Head(t testing.TB, repoOrURL, branch string) plumbing.Hash {
	t.Helper()
	s := open(t, repoOrURL)
	ref, err := s.Reference(plumbing.NewBranchReferenceName(branch))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash
	}
	if err != nil {
		t.Fatalf("gitopstest.Head: %v", err)
	}
	return ref.Hash()
}

// localPath returns the filesystem path of a file:// URL or a path.
func localPath(repoOrURL string) (string, bool) {
	if strings.HasPrefix(repoOrURL, "file://") {
		u, err := url.Parse(repoOrURL)
		if err == nil {
			return filepath.FromSlash(u.Path), true
		}
	}
	if strings.Contains(repoOrURL, "://") {
		return "", false
	}
	return repoOrURL, true
}

// open returns the storage of a repository: read in place for paths and
// file:// URLs, cloned into memory (all of the remote HEAD's history, no
// checkout) for others.
func open(t testing.TB, repoOrURL string) storage.Storer {
	t.Helper()
	if dir, ok := localPath(repoOrURL); ok {
		return openDir(t, dir)
	}
	mem := memory.NewStorage()
	if _, err := git.Clone(mem, nil, &git.CloneOptions{URL: repoOrURL, NoCheckout: true}); err != nil && !errors.Is(err, errEmpty) {
		t.Fatalf("gitopstest: clone %s: %v", repoOrURL, err)
	}
	return mem
}

func openDir(t testing.TB, dir string) storage.Storer {
	t.Helper()
	gitDir := dir
	if fi, err := os.Stat(filepath.Join(dir, ".git")); err == nil && fi.IsDir() {
		gitDir = filepath.Join(dir, ".git")
	}
	if _, err := os.Stat(filepath.Join(gitDir, "HEAD")); err != nil {
		t.Fatalf("gitopstest: no git repository at %s", dir)
	}
	st := filesystem.NewStorage(osfs.New(gitDir), cache.NewObjectLRUDefault())
	t.Cleanup(func() { st.Close() })
	return st
}

// TreeHash returns the hash of the tree at dir ("" or "." for the root) in
// the commit rev (a hash or a branch name), or the zero hash when there is
// no such directory. Equal hashes mean untouched directories.
func TreeHash(t testing.TB, repoOrURL, rev, dir string) plumbing.Hash {
	t.Helper()
	s := open(t, repoOrURL)
	h := resolve(t, repoOrURL, rev)
	if h.IsZero() {
		return plumbing.ZeroHash
	}
	c, err := object.GetCommit(s, h)
	if err != nil {
		t.Fatalf("gitopstest.TreeHash: %v", err)
	}
	if d := strings.Trim(dir, "/"); d == "" || d == "." {
		return c.TreeHash
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatalf("gitopstest.TreeHash: %v", err)
	}
	sub, err := tree.Tree(strings.Trim(dir, "/"))
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash
	}
	if err != nil {
		t.Fatalf("gitopstest.TreeHash: %v", err)
	}
	return sub.Hash
}

// resolve turns a commit hash or a branch name into a hash (zero for a
// missing branch).
func resolve(t testing.TB, repoOrURL, rev string) plumbing.Hash {
	t.Helper()
	if h := plumbing.NewHash(rev); len(rev) == 40 && h.String() == rev {
		return h
	}
	return Head(t, repoOrURL, rev)
}

// Git runs the git binary in dir with a fixed identity and no user or
// system configuration, and returns its standard output. Tests use it to
// make what bgrender itself never makes (symbolic links, merges, a second
// remote) and to check the result as git sees it (fsck, status).
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME="+dir,
		"GIT_AUTHOR_NAME=gitopstest", "GIT_AUTHOR_EMAIL=gitopstest@example.com",
		"GIT_COMMITTER_NAME=gitopstest", "GIT_COMMITTER_EMAIL=gitopstest@example.com")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s in %s: %v\n%s%s", strings.Join(args, " "), dir, err, out, stderr.String())
	}
	return string(out)
}
