package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// objectCacheSize bounds go-git's cache of decoded objects (its default is
// 96 MiB). bgrender reads most objects once; what it reads again (trees
// near the root, delta bases) is small. check --all of 1,000 apps read 17,000 blobs
// and kept the process at 146 MiB with the default.
const objectCacheSize = 8 * cache.MiByte

// defaultBranch is the branch of an empty repository whose HEAD cannot be
// read (an empty network remote advertises none).
const defaultBranch = "main"

// Options says which repository and branch Open works on.
type Options struct {
	// Repo is a local path (a checkout with a worktree, or a bare repo) or a
	// remote URL (scheme://..., or scp-like user@host:path).
	Repo string
	// Branch is the branch to read and commit to. Empty: the checked-out
	// branch of a local checkout; the remote's HEAD branch for URLs; for an
	// empty repository the branch its HEAD names where that can be read,
	// else "main".
	Branch string
	// Auth is used for network remotes (a URL, or a local checkout's origin).
	Auth Auth
	// Push makes Apply push when the repo has a remote: for local checkouts
	// and bare repos the remote named by Remote, else the branch's upstream
	// (branch.<name>.remote), else origin; the URL itself for URLs. Without
	// it Apply on a URL commits only in memory. Apply and Propose in a
	// local repository with remotes, none of which is chosen that way, fail
	// with a *NoRemoteError (reading works).
	Push bool
	// Remote names the remote of a local repository to push to.
	Remote string
	// Refresh (local repositories with a remote) first fetches the branch
	// from the remote; when the local branch is behind it, the Repo reads
	// and commits on the remote's head, and a successful Apply then brings
	// the local branch (and its worktree) forward. This is how a transition
	// that lost a race retries from a checkout.
	Refresh bool
	// History (network URLs only) clones the branch's full history, still in
	// memory and without a checkout, so that LastChange can walk it. The
	// default is a depth-1 clone. Repos on this machine (paths and file://
	// URLs) are read in place and always have their full history.
	History bool
	// ReadOnly opens the branch for reading only; for a local repository the
	// branch may then also be a remote-tracking branch (origin/main, or main
	// found only as refs/remotes/origin/main), and without a branch a
	// detached HEAD is read (Branch is then "HEAD"), as CI checkouts have
	// them.
	ReadOnly bool
	// Signer, when set, signs every commit Apply makes (see NewOpenPGPSigner
	// and NewSSHSigner).
	Signer Signer
}

// Repo is one branch of a git repository opened for reading an app's files
// and committing changes to them. It is not safe for concurrent use.
type Repo struct {
	loc      location
	branch   string
	head     plumbing.Hash // zero: no commit yet
	headTree plumbing.Hash // zero when head is zero
	objects  storer.EncodedObjectStorer
	shallow  map[plumbing.Hash]bool

	// Local repositories (paths): the branch ref is advanced on disk.
	gitDir   string
	repo     *git.Repository
	checkout string // worktree root when the branch is checked out there
	// local is the local branch's commit; it differs from head when
	// Refresh found the branch behind its remote.
	local     plumbing.Hash
	localTree plumbing.Hash

	remote     remote // nil: Apply does not push
	remoteName string // of a local repository's remote
	remoteErr  error  // why no remote was chosen though there are some
	signer     Signer // nil: commits are not signed
	secrets    []string
	closers    []func() error

	readOnly bool // opened on a remote-tracking branch: no commits

	// index is the checkout's index as last read for reading only, valid
	// while the index file is indexFile (see readIndexShared).
	index     *index.Index
	indexFile os.FileInfo
}

// Open opens the branch of o.Repo. Network URLs are cloned into memory
// (single branch, no tags, no checkout, depth 1 unless o.History); file://
// URLs and local paths are read in place, so only the objects that are
// asked for are read. An empty remote opens with a zero Head.
func Open(ctx context.Context, o Options) (*Repo, error) {
	installTransports()
	loc, err := parseLocation(o.Repo)
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	secrets := loc.secretsWith(o.Auth)
	var r *Repo
	switch loc.kind {
	case kindNetURL:
		r, err = openNet(ctx, loc, o)
	case kindFileURL:
		r, err = openFileURL(loc, o)
	default:
		r, err = openLocal(ctx, loc, o)
	}
	if err != nil {
		return nil, redact(fmt.Errorf("open %s: %w", loc.display, err), secrets)
	}
	r.secrets = append(secrets, r.secrets...) // plus those of a local repo's origin
	r.signer = o.Signer
	if r.gitDir == "" {
		r.local = r.head
	}
	if err := r.loadTrees(); err != nil {
		r.Close()
		return nil, redact(fmt.Errorf("open %s: %w", loc.display, err), secrets)
	}
	return r, nil
}

// loadTrees reads the root trees of head and of the local branch, where
// they are not read yet.
func (r *Repo) loadTrees() error {
	for _, t := range []struct{ commit, tree *plumbing.Hash }{{&r.head, &r.headTree}, {&r.local, &r.localTree}} {
		if t.commit.IsZero() || !t.tree.IsZero() {
			continue
		}
		c, err := object.GetCommit(r.objects, *t.commit)
		if err != nil {
			return fmt.Errorf("read head commit %s: %w", *t.commit, err)
		}
		*t.tree = c.TreeHash
	}
	return nil
}

func openNet(ctx context.Context, loc location, o Options) (*Repo, error) {
	auth, err := loc.authMethod(o.Auth)
	if err != nil {
		return nil, err
	}
	mem := memory.NewStorage()
	co := &git.CloneOptions{
		URL:          loc.raw,
		Auth:         auth,
		SingleBranch: true,
		NoCheckout:   true,
		Tags:         git.NoTags,
	}
	if !o.History {
		co.Depth = 1
	}
	if o.Branch != "" {
		co.ReferenceName = plumbing.NewBranchReferenceName(o.Branch)
	}
	r := &Repo{loc: loc, objects: mem, shallow: map[plumbing.Hash]bool{}}
	repo, err := git.CloneContext(ctx, mem, nil, co)
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		r.branch = o.Branch
		if r.branch == "" {
			r.branch = defaultBranch
		}
	case err != nil:
		var nm git.NoMatchingRefSpecError
		if o.Branch != "" && (errors.As(err, &nm) || errors.Is(err, plumbing.ErrReferenceNotFound)) {
			return nil, fmt.Errorf("%w: %s", ErrBranchNotFound, o.Branch)
		}
		return nil, fmt.Errorf("clone: %w", authError(err))
	default:
		ref, err := repo.Head()
		if err != nil {
			return nil, fmt.Errorf("clone: read HEAD: %w", err)
		}
		r.branch, r.head = ref.Name().Short(), ref.Hash()
		sh, err := mem.Shallow()
		if err != nil {
			return nil, fmt.Errorf("clone: %w", err)
		}
		for _, h := range sh {
			r.shallow[h] = true
		}
	}
	if o.Push {
		r.remote, err = newRemote(loc, o.Auth)
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

func openFileURL(loc location, o Options) (*Repo, error) {
	gitDir, bare, err := findGitDir(loc.path)
	if err != nil {
		return nil, err
	}
	st := openStorage(gitDir)
	r := &Repo{loc: loc, objects: overlay{mem: memory.NewStorage(), base: st}}
	r.closers = append(r.closers, st.Close)
	if err := r.resolveBranch(st, gitDir, o.Branch, ""); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.loadShallow(st); err != nil {
		r.Close()
		return nil, err
	}
	if o.Push {
		r.remote = &fsRemote{gitDir: gitDir, st: st, bare: bare, display: loc.display}
	}
	return r, nil
}

// findGitDir returns the git directory of the repository at dir: dir itself
// when bare, else dir/.git.
func findGitDir(dir string) (gitDir string, bare bool, err error) {
	if isDir(filepath.Join(dir, "objects")) && isFile(filepath.Join(dir, "HEAD")) {
		return dir, true, nil
	}
	g := filepath.Join(dir, ".git")
	if isDir(filepath.Join(g, "objects")) {
		return g, false, nil
	}
	return "", false, fmt.Errorf("%w: no git repository at %s", transport.ErrRepositoryNotFound, dir)
}

// openStorage opens the git directory gitDir in place. It keeps pack files
// open between reads; the caller must Close it.
func openStorage(gitDir string) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(osfs.New(gitDir), cache.NewObjectLRU(objectCacheSize), filesystem.Options{KeepDescriptors: true})
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func openLocal(ctx context.Context, loc location, o Options) (*Repo, error) {
	repo, err := git.PlainOpenWithOptions(loc.path, &git.PlainOpenOptions{})
	if err != nil {
		return nil, err
	}
	st, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return nil, fmt.Errorf("unexpected storage %T", repo.Storer)
	}
	gitDir := st.Filesystem().Root()
	r := &Repo{loc: loc, objects: st, gitDir: gitDir, repo: repo}
	r.closers = append(r.closers, st.Close)
	checkedOut := ""
	if ref, err := st.Reference(plumbing.HEAD); err == nil && ref.Type() == plumbing.SymbolicReference && ref.Target().IsBranch() {
		checkedOut = ref.Target().Short()
	}
	if o.Branch == "" && checkedOut == "" {
		ref, err := st.Reference(plumbing.HEAD)
		if !o.ReadOnly || err != nil || ref.Type() != plumbing.HashReference {
			r.Close()
			return nil, errors.New("HEAD is detached: name the branch to read and commit to with --branch")
		}
		// A CI checkout (a pull request's merge commit, a runner's commit):
		// read what is checked out.
		r.branch, r.head, r.readOnly = "HEAD", ref.Hash(), true
		if err := r.loadShallow(st); err != nil {
			r.Close()
			return nil, err
		}
		return r, nil
	}
	err = r.resolveBranch(st, gitDir, o.Branch, checkedOut)
	if o.ReadOnly && o.Branch != "" && (errors.Is(err, ErrBranchNotFound) || (err == nil && r.head.IsZero())) {
		// No such local branch (or no local branch at all, as in a fresh CI
		// checkout): a remote-tracking one will do for reading.
		if h, ok := remoteTracking(gitDir, o.Branch); ok {
			r.branch, r.head, r.readOnly, err = o.Branch, h, true, nil
		}
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	if err := r.loadShallow(st); err != nil {
		r.Close()
		return nil, err
	}
	wt, err := repo.Worktree()
	switch {
	case errors.Is(err, git.ErrIsBareRepository):
	case err != nil:
		r.Close()
		return nil, fmt.Errorf("open worktree: %w", err)
	case r.branch == checkedOut:
		r.checkout = wt.Filesystem.Root()
	}
	r.local = r.head
	if err := r.loadTrees(); err != nil {
		r.Close()
		return nil, err
	}
	if o.Push {
		if err := r.openRemote(loc, o); err != nil {
			r.Close()
			return nil, err
		}
	}
	if r.checkout != "" && !o.ReadOnly {
		// Reading leaves the checkout alone: the next transition finishes it.
		if err := r.finishInterrupted(); err != nil {
			r.Close()
			return nil, err
		}
	}
	if o.Refresh && r.remote != nil && !r.readOnly {
		if err := r.refresh(ctx, o.Auth); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// NoRemoteError: a local repository has remotes, but none is chosen to push
// to (no --remote, no upstream of the branch, no origin), or the one chosen
// does not exist.
type NoRemoteError struct {
	Branch  string
	Asked   string   // the remote asked for, if any
	Remotes []string // the repository's remotes, sorted
}

func (e *NoRemoteError) Error() string {
	list := strings.Join(e.Remotes, ", ")
	if e.Asked != "" {
		return fmt.Sprintf("no remote %q: the remotes are %s", e.Asked, list)
	}
	return fmt.Sprintf("branch %s has no upstream remote and there is no origin: choose one of %s to push to (--remote NAME, or git branch --set-upstream-to)", e.Branch, list)
}

// openRemote chooses and opens the remote a local repository pushes to.
func (r *Repo) openRemote(loc location, o Options) error {
	cfg, err := r.repo.Config()
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var names []string
	for n := range cfg.Remotes {
		names = append(names, n)
	}
	sort.Strings(names)
	name := o.Remote
	if name == "" {
		if b, ok := cfg.Branches[r.branch]; ok && b.Remote != "" && b.Remote != "." {
			name = b.Remote
		}
	}
	if name == "" && cfg.Remotes["origin"] != nil {
		name = "origin"
	}
	if name == "" {
		if len(names) > 0 {
			r.remoteErr = &NoRemoteError{Branch: r.branch, Remotes: names}
		}
		return nil // no remote at all: commits stay local
	}
	rc, ok := cfg.Remotes[name]
	if !ok || len(rc.URLs) == 0 {
		r.remoteErr = &NoRemoteError{Branch: r.branch, Asked: name, Remotes: names}
		return nil
	}
	u := rc.URLs[0]
	rl, err := parseLocation(u)
	if err == nil && rl.kind == kindLocal && !filepath.IsAbs(u) {
		rl, err = parseLocation(filepath.Join(loc.path, u))
	}
	if err != nil {
		return fmt.Errorf("remote %s: %w", name, err)
	}
	if r.remote, err = newRemote(rl, o.Auth); err != nil {
		return fmt.Errorf("remote %s: %w", name, err)
	}
	r.remoteName = name
	r.closers = append(r.closers, r.remote.close)
	r.secrets = append(r.secrets, rl.secretsWith(o.Auth)...)
	return nil
}

// tracking is the remote-tracking ref of the branch.
func (r *Repo) tracking() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName(r.remoteName, r.branch)
}

// refresh fetches the branch from the remote and, when the local branch is
// behind it, reads at the remote's head.
func (r *Repo) refresh(ctx context.Context, a Auth) error {
	h, err := r.remote.fetch(ctx, r.branch, r)
	if err != nil {
		return r.wrap(err, "fetch %s from %s", r.branch, r.remote)
	}
	if h.IsZero() || h == r.head {
		return nil
	}
	cur, _, err := readRef(r.gitDir, r.tracking())
	if err == nil && cur != h {
		if err := casRef(r.gitDir, r.tracking(), cur, h); err != nil && !errors.Is(err, ErrPushRejected) {
			return err
		}
	}
	behind, err := isAncestor(ctx, r.objects, r.local, h)
	if err != nil {
		return err
	}
	if !behind {
		ahead, err := isAncestor(ctx, r.objects, h, r.local)
		if err != nil {
			return err
		}
		if ahead {
			return fmt.Errorf("%w: the local branch %s has commits that %s/%s does not: push them (or reset the branch), then retry", ErrDiverged, r.branch, r.remoteName, r.branch)
		}
		return fmt.Errorf("%w: the local branch %s and %s/%s have diverged: merge or rebase it, then retry", ErrDiverged, r.branch, r.remoteName, r.branch)
	}
	c, err := object.GetCommit(r.objects, h)
	if err != nil {
		return r.wrap(err, "read %s/%s", r.remoteName, r.branch)
	}
	r.head, r.headTree = h, c.TreeHash
	return nil
}

// resolveBranch sets r.branch (want, else the checked-out branch, else the
// branch HEAD names, else "main") and r.head.
func (r *Repo) resolveBranch(st storer.ReferenceStorer, gitDir, want, checkedOut string) error {
	r.branch = want
	if r.branch == "" {
		r.branch = checkedOut
	}
	if r.branch == "" {
		if ref, err := st.Reference(plumbing.HEAD); err == nil && ref.Type() == plumbing.SymbolicReference && ref.Target().IsBranch() {
			r.branch = ref.Target().Short()
		}
	}
	if r.branch == "" {
		r.branch = defaultBranch
	}
	name := plumbing.NewBranchReferenceName(r.branch)
	if err := name.Validate(); err != nil {
		return fmt.Errorf("branch %q: %w", r.branch, err)
	}
	h, ok, err := readRef(gitDir, name)
	if err != nil {
		return err
	}
	if ok {
		r.head = h
		return nil
	}
	if want != "" && want != checkedOut {
		empty, err := hasNoBranches(st)
		if err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("%w: %s", ErrBranchNotFound, want)
		}
	}
	return nil
}

// remoteTracking finds branch as a remote-tracking branch of the repository
// at gitDir: refs/remotes/BRANCH (branch "origin/main"), else
// refs/remotes/origin/BRANCH.
func remoteTracking(gitDir, branch string) (plumbing.Hash, bool) {
	for _, n := range []string{"refs/remotes/" + branch, "refs/remotes/origin/" + branch} {
		if h, ok, err := readRef(gitDir, plumbing.ReferenceName(n)); err == nil && ok {
			return h, true
		}
	}
	return plumbing.ZeroHash, false
}

func hasNoBranches(st storer.ReferenceStorer) (bool, error) {
	it, err := st.IterReferences()
	if err != nil {
		return false, fmt.Errorf("list refs: %w", err)
	}
	defer it.Close()
	none := true
	err = it.ForEach(func(ref *plumbing.Reference) error {
		if ref.Name().IsBranch() {
			none = false
			return storer.ErrStop
		}
		return nil
	})
	return none, err
}

func (r *Repo) loadShallow(st storer.ShallowStorer) error {
	sh, err := st.Shallow()
	if err != nil {
		return fmt.Errorf("read shallow commits: %w", err)
	}
	r.shallow = make(map[plumbing.Hash]bool, len(sh))
	for _, h := range sh {
		r.shallow[h] = true
	}
	return nil
}

// Close frees what Open allocated: file descriptors and the in-memory clone.
func (r *Repo) Close() error {
	var errs []error
	for _, c := range r.closers {
		if err := c(); err != nil {
			errs = append(errs, err)
		}
	}
	r.closers = nil
	r.objects = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close %s: %w", r.loc.display, err)
	}
	return nil
}

// Branch is the branch this Repo reads and commits to.
func (r *Repo) Branch() string { return r.branch }

// Head is the branch's commit as this Repo knows it: as opened, then moved
// by each successful Apply. It is the zero hash when the branch has no
// commit yet.
func (r *Repo) Head() plumbing.Hash { return r.head }

// IsRemote reports whether the Repo was opened from a URL.
func (r *Repo) IsRemote() bool { return r.loc.kind != kindLocal }

// Location is the path or URL the Repo was opened from, with any password
// or token in it replaced by "xxxxx": safe to print.
func (r *Repo) Location() string { return r.loc.display }

// errClosed is returned by every method of a closed Repo.
func errClosed() error { return errors.New("repository is closed") }

func (r *Repo) wrap(err error, format string, args ...any) error {
	return redact(fmt.Errorf(format+": %w", append(args, err)...), r.secrets)
}

// ReadDir returns the files under dir (a slash path relative to the
// repository root; "" or "." is the root) at Head, keyed by slash path
// relative to dir; a symbolic link's content is its target. A missing
// directory, or a branch with no commit, gives an empty map. Only that
// subtree is read.
func (r *Repo) ReadDir(ctx context.Context, dir string) (map[string][]byte, error) {
	t, err := r.ReadTree(ctx, dir, Bounds{})
	if err != nil {
		return nil, err
	}
	for p, target := range t.Links {
		t.Files[p] = []byte(target)
	}
	return t.Files, nil
}

// Bounds limit what ReadTree reads. A zero field is no limit.
type Bounds struct {
	// FileBytes bounds one file; DirBytes all of them together.
	FileBytes, DirBytes int64
}

// Tree is a directory's content at a commit, keyed by slash path relative to
// the directory.
type Tree struct {
	// Files are the regular and executable files.
	Files map[string][]byte
	// Links are the symbolic links, with their targets. Nothing bgrender
	// reads follows them.
	Links map[string]string
}

// TooLargeError reports a file, or a directory's files together, over
// Bounds. Sizes are read from the objects' headers: nothing over a bound is
// read into memory.
type TooLargeError struct {
	// Path is the file (or, with Dir, the directory), relative to the
	// repository root.
	Path  string
	Dir   bool
	Size  int64
	Limit int64
}

func (e *TooLargeError) Error() string {
	what := "file"
	if e.Dir {
		what = "directory's files together"
	}
	return fmt.Sprintf("%s: %s of %d bytes, over the limit of %d", e.Path, what, e.Size, e.Limit)
}

// ReadTree reads the directory dir (as ReadDir) at Head, within b: a file
// or the whole over a bound gives a *TooLargeError before its content is
// read. Submodules are left out.
func (r *Repo) ReadTree(ctx context.Context, dir string, b Bounds) (Tree, error) {
	if r.objects == nil {
		return Tree{}, errClosed()
	}
	d, err := cleanDir(dir)
	if err != nil {
		return Tree{}, fmt.Errorf("read %s: %w", dir, err)
	}
	out := Tree{Files: map[string][]byte{}, Links: map[string]string{}}
	h, mode, ok, err := treeAt(r.objects, r.headTree, d)
	if err != nil {
		return Tree{}, r.wrap(err, "read %s", displayDir(d))
	}
	if !ok {
		return out, nil
	}
	if mode != filemode.Dir {
		return Tree{}, fmt.Errorf("read %s: %w", d, ErrNotDirectory)
	}
	files, err := listFiles(ctx, r.objects, h)
	if err != nil {
		return Tree{}, r.wrap(err, "read %s", displayDir(d))
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	objs := make([]plumbing.EncodedObject, len(paths))
	var total int64
	for i, p := range paths {
		o, err := r.objects.EncodedObject(plumbing.BlobObject, files[p].hash)
		if err != nil {
			return Tree{}, r.wrap(err, "read %s", joinPath(d, p))
		}
		size := o.Size()
		if b.FileBytes > 0 && size > b.FileBytes {
			return Tree{}, &TooLargeError{Path: joinPath(d, p), Size: size, Limit: b.FileBytes}
		}
		if total += size; b.DirBytes > 0 && total > b.DirBytes {
			return Tree{}, &TooLargeError{Path: joinPath(d, "."), Dir: true, Size: total, Limit: b.DirBytes}
		}
		objs[i] = o
	}
	for i, p := range paths {
		fe := files[p]
		data, err := objectContent(objs[i])
		if err != nil {
			return Tree{}, r.wrap(err, "read %s", joinPath(d, p))
		}
		if fe.mode == filemode.Symlink {
			out.Links[p] = string(data)
			continue
		}
		out.Files[p] = data
	}
	return out, nil
}

// FindDirs returns, sorted, every directory at Head (a slash path relative to
// the root, "." for the root) that directly contains a file called name. It
// reads every tree of the commit, but no file.
func (r *Repo) FindDirs(ctx context.Context, name string) ([]string, error) {
	if r.objects == nil {
		return nil, errClosed()
	}
	var dirs []string
	if r.headTree.IsZero() {
		return dirs, nil
	}
	var rec func(h plumbing.Hash, p string) error
	rec = func(h plumbing.Hash, p string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := object.GetTree(r.objects, h)
		if err != nil {
			return fmt.Errorf("read tree %s: %w", h, err)
		}
		for _, te := range t.Entries {
			switch {
			case te.Mode == filemode.Dir:
				if err := rec(te.Hash, joinPath(p, te.Name)); err != nil {
					return err
				}
			case te.Name == name && te.Mode != filemode.Submodule:
				d := p
				if d == "" {
					d = "."
				}
				dirs = append(dirs, d)
			}
		}
		return nil
	}
	if err := rec(r.headTree, ""); err != nil {
		return nil, r.wrap(err, "find directories holding %s", name)
	}
	sort.Strings(dirs)
	return dirs, nil
}

// CanRefresh reports whether Options.Refresh would fetch: a local
// repository with a remote to push to.
func (r *Repo) CanRefresh() bool { return r.gitDir != "" && r.remote != nil && !r.readOnly }

// PushTarget is where Apply and Propose push, as a location safe to print
// (credentials redacted); "" when they do not push.
func (r *Repo) PushTarget() string {
	if r.remote == nil {
		return ""
	}
	return r.remote.String()
}
