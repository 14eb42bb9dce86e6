package release

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/wait"
)

// ControllerWaiter is the Waiter of a GitOps controller (a wait.Source):
// a commit is applied when the controller reports it, or a later revision
// that does not change the app dir's manifests (another app's commit on
// the same branch), as synced and healthy. It reads the env repo to tell.
type ControllerWaiter struct {
	// Source is the controller for an app with cfg, and the wait settings
	// (the timeout) with defaults applied; an error says why there is none.
	Source func(cfg config.Config) (wait.Source, config.Wait, error)
	// IsConfigured reports whether an app with cfg has a controller to wait
	// on (nil: every app has).
	IsConfigured func(cfg config.Config) bool
	// Open opens the env repo with its history.
	Open func(ctx context.Context) (*gitops.Repo, error)
	// Interval is the poll interval (0: wait's default).
	Interval time.Duration
	// Progress receives each look at the controller (nil: none).
	Progress func(wait.Progress)
}

// Configured implements Waiter.
func (w *ControllerWaiter) Configured(cfg config.Config) bool {
	return w.IsConfigured == nil || w.IsConfigured(cfg)
}

// Wait implements Waiter.
func (w *ControllerWaiter) Wait(ctx context.Context, dir string, cfg config.Config, commit string) (wait.Result, error) {
	src, wc, err := w.Source(cfg)
	if err != nil {
		return wait.Result{}, err
	}
	src = GateRoutes(cfg, src)
	r, err := w.Open(ctx)
	if err != nil {
		return wait.Result{}, err
	}
	defer r.Close()
	return w.WaitWith(ctx, src, wc, r, dir, commit)
}

// WaitWith waits on src for commit of app dir dir, reading repo r (which
// the caller closes) to accept later revisions.
//
// When the app's state at commit has a hook running, the wait is also for
// its Job to complete (wait.Job): a hook commit is applied once the
// migration or test it runs has passed.
func (w *ControllerWaiter) WaitWith(ctx context.Context, src wait.Source, wc config.Wait, r *gitops.Repo, dir, commit string) (wait.Result, error) {
	if job, ns, err := runningHookJob(ctx, r, dir, commit); err != nil {
		return wait.Result{}, err
	} else if job != "" {
		src = wait.Job(src, ns, job)
	}
	acc := &gitAcceptor{reopen: w.Open, repo: r, dir: dir}
	defer acc.Close()
	return wait.Wait(ctx, src, commit, acc, wait.Options{
		Timeout:  wc.Timeout.Duration,
		Interval: w.Interval,
		Progress: w.Progress,
	})
}

// gitAcceptor accepts a revision that is the commit or a descendant that
// does not change the app's manifests, reading the env repo. A revision it
// has not seen (pushed after the repo was opened) makes it open the repo
// again once.
type gitAcceptor struct {
	reopen func(ctx context.Context) (*gitops.Repo, error)
	repo   *gitops.Repo // the caller's; the caller closes it
	own    *gitops.Repo // opened again by the acceptor; Close closes it
	dir    string
	// verdicts caches answers: the controller reports the same revision
	// poll after poll, and the answer for a known revision cannot change.
	verdicts map[[2]string]verdict
}

type verdict struct {
	ok  bool
	why string
}

func (a *gitAcceptor) Accept(ctx context.Context, commit, revision string) (bool, string, error) {
	key := [2]string{commit, revision}
	if v, ok := a.verdicts[key]; ok {
		return v.ok, v.why, nil
	}
	ok, why, err := a.accept(ctx, commit, revision)
	if err == nil {
		if a.verdicts == nil {
			a.verdicts = map[[2]string]verdict{}
		}
		a.verdicts[key] = verdict{ok, why}
	}
	return ok, why, err
}

func (a *gitAcceptor) accept(ctx context.Context, commit, revision string) (bool, string, error) {
	ok, why, err := a.current().Acceptable(ctx, a.dir, commit, revision, state.FileName)
	if !errors.Is(err, gitops.ErrUnknownRevision) {
		return ok, why, err
	}
	fresh, err := a.reopen(ctx)
	if err != nil {
		return false, "", err
	}
	a.Close()
	a.own = fresh
	return fresh.Acceptable(ctx, a.dir, commit, revision, state.FileName)
}

func (a *gitAcceptor) current() *gitops.Repo {
	if a.own != nil {
		return a.own
	}
	return a.repo
}

// Close closes the repo the acceptor opened itself, if any.
func (a *gitAcceptor) Close() {
	if a.own != nil {
		a.own.Close()
		a.own = nil
	}
}

// runningHookJob is the Job of the hook the app's state at commit runs, and
// its namespace; "" when none runs.
func runningHookJob(ctx context.Context, r *gitops.Repo, dir, commit string) (job, namespace string, err error) {
	h := plumbing.NewHash(commit)
	data, ok, err := r.FileAt(ctx, h, path.Join(dir, state.FileName))
	if err != nil || !ok {
		return "", "", err
	}
	st, err := state.Parse(state.FileName, data)
	if err != nil {
		return "", "", fmt.Errorf("%s at %s: %w", path.Join(dir, state.FileName), short(commit), err)
	}
	run := st.RunningHook()
	if run == nil {
		return "", "", nil
	}
	cfgData, ok, err := r.FileAt(ctx, h, path.Join(dir, config.FileName))
	if err != nil || !ok {
		return "", "", fmt.Errorf("%s at %s: %v", path.Join(dir, config.FileName), short(commit), err)
	}
	cfg, err := config.Parse(config.FileName, cfgData)
	if err != nil {
		return "", "", err
	}
	return render.HookJobName(st.App, run.Name, st.Test.ID, run.Attempt), cfg.Namespace, nil
}
