package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/bgrender/bgrender/pkg/analysis"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/notify"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/smoke"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/wait"
)

// Engine runs the transitions and releases of one app dir of an env repo.
// Every transition goes through one pipeline: read the app at the branch
// head, guard, step, render, check the build, publish, and a
// compare-and-swap push that runs the whole pipeline again on the new head
// when another transition landed first (Retrier).
//
// The engine prints nothing and exits nothing: it takes its collaborators
// as fields, reports each commit to OnCommit as it lands, and returns what
// it did as values. Its errors are UsageError, a refusal (IsRefused) or a
// failure.
type Engine struct {
	// Open reads the app at the branch head (Load, with the caller's repo
	// options and limits). The engine closes the returned App's Repo.
	Open func(ctx context.Context, o OpenOptions) (*App, error)
	// Builder builds the app dir (kustomize).
	Builder *render.Builder
	// AuthorName and AuthorEmail sign the commits.
	AuthorName, AuthorEmail string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Sleep waits, e.g. before a decommission (nil: a timer that stops
	// when ctx is done).
	Sleep func(context.Context, time.Duration) error
	// Retrier retries a transition that lost the race for the branch.
	Retrier Retrier
	// Publisher publishes a transition's commit (nil: Direct, a push to
	// the branch).
	Publisher Publisher
	// DryRun previews transitions: the diff, nothing committed.
	DryRun bool
	// Waiter waits for the GitOps controller to apply a commit (nil:
	// there is none to wait on).
	Waiter Waiter
	// Smoke runs the app's smoke checks (nil: none can be run).
	Smoke Smoker
	// Analyst runs an app's metric analysis (analysis: in its config);
	// nil refuses to verify an app that has one.
	Analyst Analyst
	// Notifier tells the app's notify: targets about each transition that
	// lands and each failed release (nil: nobody is told).
	Notifier Notifier
	// OnCommit receives each commit as it lands, in order (nil: none); an
	// error from it stops the engine.
	OnCommit func(Result) error
	// OnProgress receives progress in words (nil: none).
	OnProgress func(string)
	// Cmd is the command line that names the app dir in messages, e.g.
	// "bgrender --app apps/shop" (nil: CommandPrefix).
	Cmd func(dir string) string

	waitTimes *waitLog // the waits of a Release, by commit
}

// OpenOptions say how Engine.Open reads the app.
type OpenOptions struct {
	// History reads the branch's history (a network URL is otherwise
	// cloned shallow): to find the app's last transition commit.
	History bool
	// Refresh: a local checkout first fetches the branch from its remote
	// and reads at the remote's head (a retry after a lost race).
	Refresh bool
}

// Waiter waits until the GitOps controller has applied a commit of the
// app dir and reports it healthy.
type Waiter interface {
	// Configured reports whether there is a controller to wait on for an
	// app with cfg.
	Configured(cfg config.Config) bool
	Wait(ctx context.Context, dir string, cfg config.Config, commit string) (wait.Result, error)
}

// Analyst judges a release by its metrics.
type Analyst interface {
	Analyze(ctx context.Context, cfg config.Config, vars config.AnalysisVars) (analysis.Report, error)
}

// Smoker runs an app's smoke checks against release r, through the test
// route (test) or the default route.
type Smoker interface {
	// Ready says why the checks cannot run for an app with cfg, if they
	// cannot (e.g. no gateway to send them to).
	Ready(cfg config.Config) error
	Smoke(ctx context.Context, cfg config.Config, r state.Release, test bool) (smoke.Report, error)
}

// Step computes the next state of the app read at the head. It runs on
// every attempt, so a guard in it is checked on the state each attempt
// reads: a race cannot slip past it.
type Step func(a *App) (state.State, error)

// StepOptions add to a transition's commit message.
type StepOptions struct {
	// Extra lines for the body.
	Extra []string
	// Suffix is added to the subject.
	Suffix string
	// Reason says why, in the event people are told of (an abort's or a
	// rollback's cause).
	Reason string
}

// Result is one transition as committed (or previewed).
type Result struct {
	Dir    string
	Config config.Config
	// Prev is the state the transition was computed from; Next the one it
	// committed.
	Prev, Next state.State
	// Transition names it: a state transition, or e.g. "migrate".
	Transition string
	Subject    string
	// Note says what the transition did besides its own job (the warm
	// standby's color taken, or given back).
	Note           string
	Commit, Parent string
	Pushed, DryRun bool
	// Diff is the unified diff of a dry run.
	Diff string
	// PR is the pull request of a proposal.
	PR *PullRequest
	// LocalBehind lists the files whose local changes kept a checkout from
	// being brought forward to the pushed commit.
	LocalBehind []string
	// Notifications say how the event of a commit that landed went to the
	// app's notify: targets.
	Notifications []notify.Delivery
	// Took is bgrender's own time for the transition: reading the app,
	// rendering, building, committing and pushing (and notifying). Waited
	// is, in a Release, how long it then waited for the controller to
	// apply it (0: it was not waited for).
	Took, Waited time.Duration
}

// Change is a commit of an app dir that Engine.Commit checks and
// publishes: its files for state Next and its message.
type Change struct {
	Files      render.Files
	Next       state.State
	Subject    string
	Body       string
	Note       string
	Transition string
	Trailers   []gitops.Trailer
	// Replace lists the paths of the app dir replaced whole.
	Replace []string
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) cmd(dir string) string {
	if e.Cmd != nil {
		return e.Cmd(dir)
	}
	return CommandPrefix(dir)
}

// CommandPrefix is the bgrender command line for app dir dir.
func CommandPrefix(dir string) string {
	if dir == "." {
		return "bgrender"
	}
	return "bgrender --app " + dir
}

func (e *Engine) publisher() Publisher {
	if e.Publisher != nil {
		return e.Publisher
	}
	return Direct{}
}

func (e *Engine) progress(format string, args ...any) {
	if e.OnProgress != nil {
		e.OnProgress(fmt.Sprintf(format, args...))
	}
}

// peek reads the app at the head and closes the repo: its config and state.
func (e *Engine) peek(ctx context.Context) (*App, error) {
	a, err := e.Open(ctx, OpenOptions{})
	if err != nil {
		return nil, err
	}
	a.Repo.Close()
	return a, nil
}

// Run commits one transition: step on the app read at the head, rendered,
// checked and published, re-run on the new head when another transition
// landed first. A proposal's pull request is opened once it is pushed;
// then the commit (or the preview of a dry run) is told to the app's
// notify: targets and goes to OnCommit. A required target's failure is an
// error after the commit has gone to OnCommit: the commit stands.
func (e *Engine) Run(ctx context.Context, step Step, o StepOptions) (Result, error) {
	start := time.Now()
	var res Result
	err := e.Retrier.Run(ctx, func(ctx context.Context, refresh bool) (*App, error) {
		a, err := e.Open(ctx, OpenOptions{Refresh: refresh})
		if err != nil {
			return nil, err
		}
		defer a.Repo.Close()
		next, err := step(a)
		if err != nil {
			return a, err
		}
		res, err = e.apply(ctx, a, next, o)
		return a, err
	})
	if err != nil {
		return Result{}, err
	}
	if !res.DryRun {
		if err := e.publisher().Finish(ctx, &res); err != nil {
			return res, err
		}
	}
	nerr := e.notify(ctx, &res, o.Reason)
	res.Took = time.Since(start)
	if e.OnCommit != nil {
		if err := e.OnCommit(res); err != nil {
			return res, err
		}
	}
	return res, nerr
}

// apply renders next and commits it as the transition from a.
func (e *Engine) apply(ctx context.Context, a *App, next state.State, o StepOptions) (Result, error) {
	files, next, err := Files(a.Config, a.Files, a.State, next)
	var drift *render.DriftError
	switch {
	case errors.As(err, &drift):
		// A transition never changes a color's files but by a deploy into
		// it; it does not build on ones edited by hand either.
		return Result{}, RefusedError{fmt.Sprintf("%s: refused: %v", a.Dir, ExplainDrift(ctx, a, err))}
	case errors.Is(err, render.ErrOldLayout):
		return Result{}, fmt.Errorf("%s: %w (`%s migrate`)", a.Dir, render.ErrOldLayout, e.cmd(a.Dir))
	case err != nil:
		return Result{}, err
	}
	return e.commit(ctx, a, Change{
		Files: files, Next: next,
		Subject:    Subject(a.State, next) + o.Suffix,
		Body:       Body(a, next, o.Extra...),
		Note:       Note(a.State, next),
		Transition: string(next.Last.Name),
		Trailers:   Trailers(next),
		Replace:    []string{render.OverlaysDir},
	})
}

// Commit checks that c's files (the app dir in state c.Next) build, and
// publishes them as one commit on a's head (or previews the diff in a dry
// run), for a change that is not a state transition (an app's first
// commit, a migration). It is one attempt: a lost race is
// gitops.ErrPushRejected. Unlike Run it does not report to OnCommit.
func (e *Engine) Commit(ctx context.Context, a *App, c Change) (Result, error) {
	res, err := e.commit(ctx, a, c)
	if err != nil || res.DryRun {
		return res, err
	}
	return res, e.publisher().Finish(ctx, &res)
}

// commit is Commit without opening the pull request of a proposal.
func (e *Engine) commit(ctx context.Context, a *App, c Change) (Result, error) {
	if _, err := a.Check(e.Builder, c.Files, c.Next); err != nil {
		var problems *ProblemsError
		if errors.As(err, &problems) {
			return Result{}, fmt.Errorf("%w (`%s check` lists them)", err, e.cmd(a.Dir))
		}
		return Result{}, err
	}
	res := Result{
		Dir: a.Dir, Config: a.Config, Prev: a.State, Next: c.Next,
		Transition: c.Transition, Subject: c.Subject, Note: c.Note,
		Parent: a.Repo.Head().String(),
	}
	if e.DryRun {
		res.DryRun = true
		res.Diff = render.Diff(a.Dir, a.Files, c.Files)
		return res, nil
	}
	change := gitops.Change{
		Dir:     a.Dir,
		Files:   c.Files,
		Replace: c.Replace,
		Message: gitops.FormatMessage(c.Subject, c.Body, c.Trailers),
		Author:  gitops.Signature{Name: e.AuthorName, Email: e.AuthorEmail, When: e.now()},
	}
	out, err := e.publisher().Publish(ctx, a, change, &res)
	if err != nil {
		return Result{}, err
	}
	res.Commit, res.Parent, res.Pushed = out.Commit.String(), out.Parent.String(), out.Pushed
	res.LocalBehind = out.LocalBehind
	return res, nil
}

// AuthHint says where credentials go, for an error of the server's
// refusing them.
func AuthHint(err error) string {
	if !errors.Is(err, gitops.ErrAuth) {
		return ""
	}
	return "; for HTTPS remotes give a token with --git-token or $BGRENDER_GIT_TOKEN (and --git-username if the server needs one), for SSH remotes a key with --ssh-key"
}

// Expect guards a transition against a stale pipeline: the release in a
// role must have this id and/or version (empty: any).
type Expect struct{ Release, Version string }

// Guard runs step only when the release in role is the expected one.
func (x Expect) Guard(role string, step Step) Step {
	return func(a *App) (state.State, error) {
		if err := state.Expect(a.State, role, x.Release, x.Version); err != nil {
			return a.State, err
		}
		return step(a)
	}
}

// Transition makes a Step of a state transition that needs nothing but the
// state.
func Transition(f func(state.State) (state.State, error)) Step {
	return func(a *App) (state.State, error) { return f(a.State) }
}

// NewReleaseID makes a release id unique per deploy from what identifies
// it: the app, version, color, the commit it builds on and the time.
func NewReleaseID(app, version string, color state.Color, parent string, nanos int64) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%d", app, version, color, parent, nanos)))
	return "r-" + hex.EncodeToString(h[:])[:10]
}
