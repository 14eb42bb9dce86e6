package gate

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/vet"
)

// The trailers of a transition commit: its machine-readable facts.
const (
	TrailerApp        = "Bgrender-App"
	TrailerTransition = "Bgrender-Transition"
	TrailerRelease    = "Bgrender-Release"
	TrailerVersion    = "Bgrender-Version"
	TrailerColor      = "Bgrender-Color"
	// TrailerHook names the hook of a hook or hook-done commit.
	TrailerHook = "Bgrender-Hook"
)

// TransitionMigrate is the trailer of bgrender migrate's commit: a move of
// the layout, not a state transition.
const TransitionMigrate = "migrate"

// withoutSnapshots is s with its releases' snapshot digests cleared.
func withoutSnapshots(s state.State) state.State {
	s = s.Clone()
	for _, r := range []*state.Release{s.Active, s.Test, s.Standby} {
		if r != nil {
			r.Snapshot = ""
			if r.Replaces != nil {
				r.Replaces.Snapshot = ""
			}
		}
	}
	return s
}

func hasSnapshots(s state.State) bool {
	for _, r := range []*state.Release{s.Active, s.Test, s.Standby} {
		if r != nil && r.Snapshot != "" {
			return true
		}
	}
	return false
}

// MaxChain bounds the commits Chain walks back from a branch's head.
const MaxChain = 1000

// History is what the gate reads of a repository (a *gitops.Repo).
type History interface {
	ReadCommit(ctx context.Context, h plumbing.Hash) (gitops.Commit, error)
	IsShallow(h plumbing.Hash) bool
	DirHash(ctx context.Context, commit plumbing.Hash, dir string) (plumbing.Hash, error)
	FileAt(ctx context.Context, commit plumbing.Hash, p string) ([]byte, bool, error)
	FileHashes(ctx context.Context, commit plumbing.Hash, dir string) (map[string]string, error)
}

// Checker judges the app dirs of a pull request branch against its base.
type Checker struct {
	// PR reads the pull request branch's history; Base the base branch's.
	// They may be the same repository.
	PR, Base History
	// OnBase says which commits are the base's head and its ancestors (a
	// *gitops.Ancestry, or a Set): where a branch's own commits end.
	OnBase Ancestry
	// Limits bound every state file read from history.
	Limits vet.Limits
}

// Ancestry says whether a commit is the base's head or one of its
// ancestors.
type Ancestry interface {
	Contains(ctx context.Context, h plumbing.Hash) (bool, error)
}

// Set is an Ancestry of commits known in full.
type Set map[plumbing.Hash]bool

// Contains reports whether h is in s.
func (s Set) Contains(_ context.Context, h plumbing.Hash) (bool, error) { return s[h], nil }

// Chain is what a pull request branch did to one app dir.
type Chain struct {
	// Commits changed the app dir, oldest first, each with one parent.
	Commits []gitops.Commit
	// From is the base commit the branch left from (zero when the branch
	// shares no history with the base).
	From plumbing.Hash
}

// ErrTruncated: the branch's history ends (a shallow clone) before it
// reaches the base.
var ErrTruncated = errors.New("the branch's history is truncated before it reaches the base; check out with full history (git fetch --unshallow, or fetch-depth: 0)")

// Chain walks back from head along first parents to the base, collecting
// the commits that changed dir. At a merge commit it follows the parent
// whose app dir the merge kept (a pull request's merge checkout keeps the
// branch's, a merge of the base into the branch keeps the base's); a merge
// that combined changes to dir from both sides ends the walk at the base
// side's parent when that parent is on the base, and is an error otherwise.
func (c *Checker) Chain(ctx context.Context, head plumbing.Hash, dir string) (Chain, error) {
	var ch Chain
	cur := head
	for n := 0; ; n++ {
		on, err := c.OnBase.Contains(ctx, cur)
		if err != nil {
			return Chain{}, err
		}
		if on {
			ch.From = cur
			break
		}
		if n == MaxChain {
			return Chain{}, fmt.Errorf("%s: more than %d commits on the branch since the base; rebase it on the base", dir, MaxChain)
		}
		cm, err := c.PR.ReadCommit(ctx, cur)
		if err != nil {
			if errors.Is(err, gitops.ErrUnknownRevision) {
				return Chain{}, fmt.Errorf("%s: %w", dir, ErrTruncated)
			}
			return Chain{}, err
		}
		tree, err := c.PR.DirHash(ctx, cur, dir)
		if err != nil {
			return Chain{}, err
		}
		if len(cm.Parents) == 0 {
			if !tree.IsZero() {
				ch.Commits = append(ch.Commits, cm)
			}
			break
		}
		if c.PR.IsShallow(cur) {
			return Chain{}, fmt.Errorf("%s: %w", dir, ErrTruncated)
		}
		if len(cm.Parents) > 1 {
			next, err := c.mergeParent(ctx, cm, tree, dir)
			if err != nil {
				return Chain{}, err
			}
			cur = next
			continue
		}
		pt, err := c.PR.DirHash(ctx, cm.Parents[0], dir)
		if err != nil {
			return Chain{}, err
		}
		if pt != tree {
			ch.Commits = append(ch.Commits, cm)
		}
		cur = cm.Parents[0]
	}
	for i, j := 0, len(ch.Commits)-1; i < j; i, j = i+1, j-1 {
		ch.Commits[i], ch.Commits[j] = ch.Commits[j], ch.Commits[i]
	}
	return ch, nil
}

// mergeParent picks the parent of merge m to walk on: the first whose app
// dir is m's; else, when m merged the branch with the base, the branch's
// side (the base's changes are the base's to judge).
func (c *Checker) mergeParent(ctx context.Context, m gitops.Commit, tree plumbing.Hash, dir string) (plumbing.Hash, error) {
	var offBase []plumbing.Hash
	for _, p := range m.Parents {
		pt, err := c.PR.DirHash(ctx, p, dir)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if pt == tree {
			return p, nil
		}
		on, err := c.OnBase.Contains(ctx, p)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !on {
			offBase = append(offBase, p)
		}
	}
	if len(offBase) == 1 && len(offBase) < len(m.Parents) {
		return offBase[0], nil
	}
	return plumbing.ZeroHash, fmt.Errorf("%s: merge commit %s combines changes to the app from %d branches; rebase the branch on the base and make each change as its own commit",
		dir, short(m.Hash), len(m.Parents))
}

// HandMade returns, in words, every change of chain to the app's state that
// no transition explains. Changes to the app's own files alone (base/,
// bgrender.yaml) are not state changes: they are not judged here.
func (c *Checker) HandMade(ctx context.Context, dir string, ch Chain) []string {
	var out []string
	for _, cm := range ch.Commits {
		if f := c.judge(ctx, dir, cm); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (c *Checker) judge(ctx context.Context, dir string, cm gitops.Commit) string {
	at := fmt.Sprintf("commit %s (%q)", short(cm.Hash), firstLine(cm.Message))
	var before state.State
	hadBefore := false
	if len(cm.Parents) > 0 { // a root commit (a branch with no history in common with the base) has no state before it
		var err error
		if before, hadBefore, err = c.stateAt(ctx, cm.Parents[0], dir); err != nil {
			return fmt.Sprintf("%s: the state before it: %v", at, err)
		}
	}
	after, hasAfter, err := c.stateAt(ctx, cm.Hash, dir)
	if err != nil {
		return fmt.Sprintf("%s: %v", at, err)
	}
	switch {
	case !hasAfter:
		return "" // the app dir is removed or being rebuilt; a later commit gives its state
	case !hadBefore:
		if state.IsFresh(after) {
			return "" // a new app, as init makes it
		}
		return fmt.Sprintf("%s creates the app's state with releases already in it (%s); create an app with `bgrender init` and make each transition with bgrender",
			at, strings.Join(state.Changes(state.New(after.App), after), "; "))
	case state.Equal(before, after):
		return ""
	}
	transition := cm.Trailer(TrailerTransition)
	if transition == "" || cm.Trailer(TrailerApp) != after.App {
		return fmt.Sprintf("%s changes the release state by hand: %s; only a bgrender transition commit may change it: run the command named, which commits it",
			at, strings.Join(changes(before, after), "; "))
	}
	if transition == TransitionMigrate {
		// bgrender migrate moves the layout: it records snapshot digests
		// where there were none, and changes no release.
		if !state.Equal(withoutSnapshots(before), withoutSnapshots(after)) || hasSnapshots(before) {
			return fmt.Sprintf("%s says it is a migrate, but it changes the releases: %s", at, strings.Join(changes(before, after), "; "))
		}
		return ""
	}
	color := state.Color(cm.Trailer(TrailerColor))
	step := state.Step{Transition: state.Transition(transition), Release: cm.Trailer(TrailerRelease), Version: cm.Trailer(TrailerVersion), Color: color}
	want, err := state.Replay(before, step, after)
	if err != nil {
		return fmt.Sprintf("%s says it is a %s, but that is not valid from the state before it: %v", at, transition, err)
	}
	if !state.Equal(want, after) {
		return fmt.Sprintf("%s says it is a %s, but its state differs from what that %s gives: %s; only bgrender may write the state",
			at, transition, transition, strings.Join(changes(want, after), "; "))
	}
	if edited, err := c.ownFilesChanged(ctx, cm, dir); err != nil {
		return fmt.Sprintf("%s: %v", at, err)
	} else if len(edited) > 0 {
		return fmt.Sprintf("%s says it is a %s, but it also changes the app's own files (%s); a transition changes only the overlays and the state: make those changes a commit of their own",
			at, transition, strings.Join(edited, ", "))
	}
	if step.Transition == state.TVerify {
		if err := c.evidenceOnBase(ctx, dir, *after.Test.Evidence); err != nil {
			return fmt.Sprintf("%s records verification evidence that %v; run `bgrender verify` on the base branch, or with --pr from the pipeline", at, err)
		}
	}
	return ""
}

func changes(a, b state.State) []string {
	if c := state.Changes(a, b); len(c) > 0 {
		return c
	}
	return []string{"the state file's content"}
}

// stateAt reads and parses the app's state at commit, within the limits.
func (c *Checker) stateAt(ctx context.Context, commit plumbing.Hash, dir string) (state.State, bool, error) {
	p := path.Join(dir, state.FileName)
	data, ok, err := c.PR.FileAt(ctx, commit, p)
	if err != nil || !ok {
		return state.State{}, false, err
	}
	if err := vet.YAML(p, data, c.Limits); err != nil {
		return state.State{}, false, err
	}
	s, err := state.Parse(p, data)
	if err != nil {
		return state.State{}, false, err
	}
	return s, true, nil
}

// ownFilesChanged lists the files of the app dir, other than bgrender's,
// that commit changed.
func (c *Checker) ownFilesChanged(ctx context.Context, cm gitops.Commit, dir string) ([]string, error) {
	before, err := c.PR.FileHashes(ctx, cm.Parents[0], dir)
	if err != nil {
		return nil, err
	}
	after, err := c.PR.FileHashes(ctx, cm.Hash, dir)
	if err != nil {
		return nil, err
	}
	var changed []string
	for p := range union(before, after) {
		if p != state.FileName && !render.Owned(p) && before[p] != after[p] {
			changed = append(changed, path.Join(dir, p))
		}
	}
	sort.Strings(changed)
	return changed, nil
}

func union(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// evidenceOnBase: the evidence must name a commit on the base at which the
// release was under test behind its test route: what verify waits to be
// applied before it runs the checks through that route.
func (c *Checker) evidenceOnBase(ctx context.Context, dir string, ev state.Evidence) error {
	h := plumbing.NewHash(ev.Commit)
	on := false
	if len(ev.Commit) == 40 && h.String() == ev.Commit {
		var err error
		if on, err = c.OnBase.Contains(ctx, h); err != nil {
			return err
		}
	}
	if !on {
		return fmt.Errorf("names commit %q, which is not on the base", ev.Commit)
	}
	p := path.Join(dir, state.FileName)
	data, ok, err := c.Base.FileAt(ctx, h, p)
	if err == nil && ok {
		err = vet.YAML(p, data, c.Limits)
	}
	if err != nil || !ok {
		return fmt.Errorf("names commit %s, where the app's state cannot be read (%v)", short(h), err)
	}
	s, err := state.Parse(p, data)
	if err != nil {
		return fmt.Errorf("names commit %s, where the app's state does not parse: %v", short(h), err)
	}
	if !s.TestRouted() || s.Test.ID != ev.Release {
		return fmt.Errorf("names commit %s, where release %s was not under test behind the test route", short(h), ev.Release)
	}
	return nil
}

func short(h plumbing.Hash) string { return h.String()[:12] }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
