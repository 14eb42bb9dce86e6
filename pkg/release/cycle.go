package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bgrender/bgrender/pkg/analysis"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/notify"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/wait"
)

// collecting is e with every commit it reports also appended to out.
func (e *Engine) collecting(out *[]Result) *Engine {
	c := *e
	c.OnCommit = func(r Result) error {
		*out = append(*out, r)
		if e.OnCommit != nil {
			return e.OnCommit(r)
		}
		return nil
	}
	return &c
}

// waits reports whether there is a controller to wait on for cfg.
func (e *Engine) waits(cfg config.Config) bool {
	return e.Waiter != nil && e.Waiter.Configured(cfg)
}

// staged reports whether a make-before-break transition may be split into
// commits with waits between: not in a dry run, and not as a proposal,
// which lands as one merge.
func (e *Engine) staged() bool {
	_, direct := e.publisher().(Direct)
	return !e.DryRun && direct
}

func (e *Engine) wait(ctx context.Context, r Result) error {
	_, err := e.waitFor(ctx, r.Dir, r.Config, r.Commit)
	return err
}

// waitFor waits for commit, recording how long that took.
func (e *Engine) waitFor(ctx context.Context, dir string, cfg config.Config, commit string) (wait.Result, error) {
	start := time.Now()
	res, err := e.Waiter.Wait(ctx, dir, cfg, commit)
	e.waitTimes.add(commit, time.Since(start))
	return res, err
}

// waitLog records how long each commit was waited for (nil: not kept).
type waitLog struct {
	mu sync.Mutex
	d  map[string]time.Duration
}

func (w *waitLog) add(commit string, d time.Duration) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d[commit] += d
}

func (w *waitLog) of(commit string) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d[commit]
}

// Deploy commits a new release (state.Deploy). With makeBeforeBreak and a
// controller to wait on, it is two commits with a wait between: the
// Deployment and subset first, the test route once they are applied;
// three for an app taken over with init --adopt whose own routes do not
// lead to the adopted Deployment yet: those go first, so that the new
// color's pods never join a Service without routes. It returns the
// commits it made.
func (e *Engine) Deploy(ctx context.Context, req state.DeployRequest, makeBeforeBreak bool) ([]Result, error) {
	var out []Result
	err := e.collecting(&out).deploy(ctx, req, makeBeforeBreak && e.staged())
	return out, err
}

func (e *Engine) deploy(ctx context.Context, req state.DeployRequest, split bool) error {
	if split {
		if err := e.routeAdopted(ctx); err != nil {
			return err
		}
	}
	res, err := e.Run(ctx, func(a *App) (state.State, error) {
		split = split && e.waits(a.Config)
		req.Unrouted = split
		if len(a.Config.HooksWhen(config.HookBeforeDeploy)) > 0 {
			if !split {
				return a.State, Usagef("%s: its beforeDeploy hooks run as commits bgrender waits on: deploy with a controller to wait on (wait.controller in %s), not as a pull request or a dry run", a.Dir, config.FileName)
			}
			req.Hold = true
		}
		req.ReleaseID = NewReleaseID(a.State.App, req.Version, req.Color, a.Repo.Head().String(), e.now().UnixNano())
		return state.Deploy(a.State, req)
	}, StepOptions{})
	if err != nil || !split {
		return err
	}
	p := e.cmd(res.Dir)
	if err := e.wait(ctx, res); err != nil {
		return fmt.Errorf("%s: the release is deployed without its test route, but waiting for commit %s failed: %w; once it is applied run `%s route`, or `%s abort`", res.Dir, short(res.Commit), err, p, p)
	}
	if t := res.Next.Test; t != nil && t.Held {
		// The color's objects are there, its Deployment at 0 replicas:
		// the migrations run before any of its pods.
		x := Expect{Release: t.ID}
		if err := e.runHooks(ctx, res.Config, config.HookBeforeDeploy, x); err != nil {
			return fmt.Errorf("%s: %w; %s has no pods: `%s abort` removes it", res.Dir, err, t.Describe(), p)
		}
		unheld, err := e.Run(ctx, x.Guard(state.RoleTest, Transition(state.Unhold)), StepOptions{})
		if err != nil {
			return err
		}
		if err := e.wait(ctx, unheld); err != nil {
			return fmt.Errorf("%s: the release's pods are committed, but waiting for commit %s failed: %w; once it is applied run `%s route`, or `%s abort`", res.Dir, short(unheld.Commit), err, p, p)
		}
	}
	_, err = e.Run(ctx, Transition(state.Route), StepOptions{})
	return err
}

// routeAdopted commits the adopted Deployment's routes and waits for them
// to be applied, when the app has one not routed yet and a controller to
// wait on.
func (e *Engine) routeAdopted(ctx context.Context) error {
	a, err := e.peek(ctx)
	if err != nil {
		return err
	}
	if ad := a.State.Adopted; ad == nil || ad.Routed || !e.waits(a.Config) || a.State.Phase() != state.PhaseEmpty {
		return nil
	}
	res, err := e.Run(ctx, Transition(state.RouteAdopted), StepOptions{})
	if err != nil {
		return err
	}
	if err := e.wait(ctx, res); err != nil {
		return fmt.Errorf("%s: the routes to the adopted Deployment are committed, but waiting for commit %s failed: %w; run the deploy again once it is applied", res.Dir, short(res.Commit), err)
	}
	return nil
}

// Abort drops the release under test, guarded by x. With makeBeforeBreak
// and a controller to wait on, the test route goes first and the
// Deployment and subset follow once that is applied, so no rule routes to
// a subset about to vanish. It returns the commits it made.
// A reason goes into the abort's commit and its event.
func (e *Engine) Abort(ctx context.Context, x Expect, makeBeforeBreak bool, reason string) ([]Result, error) {
	var out []Result
	err := e.collecting(&out).abort(ctx, x, makeBeforeBreak && e.staged(), reason)
	return out, err
}

func (e *Engine) abort(ctx context.Context, x Expect, split bool, reason string) error {
	o := StepOptions{Reason: reason}
	if reason != "" {
		o.Extra = []string{"Cause: " + reason}
	}
	res, err := e.Run(ctx, x.Guard(state.RoleTest, func(a *App) (state.State, error) {
		split = split && e.waits(a.Config) && a.State.TestRouted()
		if !split {
			return state.Abort(a.State)
		}
		return state.Unroute(a.State)
	}), o)
	if err != nil || !split {
		return err
	}
	if err := e.wait(ctx, res); err != nil {
		return fmt.Errorf("%s: the test route is removed, but waiting for commit %s failed: %w; run `%s abort` again to remove the release", res.Dir, short(res.Commit), err, e.cmd(res.Dir))
	}
	_, err = e.Run(ctx, x.Guard(state.RoleTest, Transition(state.Abort)), o)
	return err
}

// Verify waits for the app's last transition commit, smoke-tests the
// release under test through the test route and commits the evidence
// (state.Verify), guarded by x.
func (e *Engine) Verify(ctx context.Context, x Expect) (Result, error) {
	a, err := e.Open(ctx, OpenOptions{History: true}) // the last transition commit
	if err != nil {
		return Result{}, err
	}
	defer a.Repo.Close()
	if err := state.Expect(a.State, state.RoleTest, x.Release, x.Version); err != nil {
		return Result{}, err
	}
	if a.State.Test == nil {
		return Result{}, &state.RefusedError{App: a.State.App, Reason: state.ErrNoTest, Detail: "nothing to verify: no release is under test"}
	}
	if !a.State.TestRouted() {
		return Result{}, &state.RefusedError{App: a.State.App, Reason: state.ErrNoTest,
			Detail: fmt.Sprintf("%s has no test route yet; `%s route` it first", a.State.Test.Describe(), e.cmd(a.Dir))}
	}
	if missing := missingHooks(a.Config, *a.State.Test); len(missing) > 0 {
		return Result{}, &state.RefusedError{App: a.State.App, Reason: state.ErrNoEvidence,
			Detail: fmt.Sprintf("the afterDeploy hooks %s have not passed for %s; `%s hook run %s` first", strings.Join(missing, ", "), a.State.Test.Describe(), e.cmd(a.Dir), missing[0])}
	}
	if e.Smoke == nil {
		return Result{}, Usagef("%s: no smoke checks can be run: the engine has no Smoker", a.Dir)
	}
	if err := e.Smoke.Ready(a.Config); err != nil {
		return Result{}, err
	}
	if e.Waiter == nil {
		return Result{}, Usagef("%s: no GitOps controller to wait on: the engine has no Waiter", a.Dir)
	}
	last, err := a.Repo.LastChange(ctx, a.Dir)
	if err != nil {
		return Result{}, fmt.Errorf("%s: find the last transition commit: %w", a.Dir, err)
	}
	commit := last.Hash.String()
	applied, err := e.waitFor(ctx, a.Dir, a.Config, commit)
	if err != nil {
		return Result{}, fmt.Errorf("%s: verify: %w", a.Dir, err)
	}
	report, err := e.Smoke.Smoke(ctx, a.Config, *a.State.Test, true)
	if err != nil {
		return Result{}, fmt.Errorf("%s: verify %s through the test route: %w", a.Dir, a.State.Test.Describe(), err)
	}
	ev := state.Evidence{
		Release: a.State.Test.ID, Commit: commit, Revision: applied.Revision, Source: applied.Source,
		VerifiedAt: e.now().UTC().Format(time.RFC3339),
	}
	for _, c := range report.Checks {
		ev.Checks = append(ev.Checks, c.Name)
	}
	ev.Hooks = passedHooks(a.Config, *a.State.Test)
	if a.Config.Analysis != nil {
		if e.Analyst == nil {
			return Result{}, Usagef("%s: its analysis cannot be run: the engine has no Analyst", a.Dir)
		}
		vars, err := analysis.VarsFor(a.Config, a.State, analysis.PhaseTest)
		if err != nil {
			return Result{}, err
		}
		rep, err := e.Analyst.Analyze(ctx, a.Config, vars)
		if err != nil {
			return Result{}, fmt.Errorf("%s: verify %s: analysis: %w", a.Dir, a.State.Test.Describe(), err)
		}
		if err := analysis.Verdict(rep); err != nil {
			return Result{}, fmt.Errorf("%s: verify %s: %w", a.Dir, a.State.Test.Describe(), err)
		}
		ev.Analysis = analysis.Summary(rep)
	}
	return e.Run(ctx, x.Guard(state.RoleTest, func(a *App) (state.State, error) {
		return state.Verify(a.State, ev)
	}), StepOptions{Extra: EvidenceLines(ev)})
}

// Outcome is how a release ended.
type Outcome string

// The outcomes of a release.
const (
	Released   Outcome = "released"
	Aborted    Outcome = "aborted"
	RolledBack Outcome = "rolled-back"
	Failed     Outcome = "failed"
)

// ReleaseOptions say what Release releases.
type ReleaseOptions struct {
	Request state.DeployRequest
	// DecommissionAfter decommissions the old color this long after a
	// healthy switch (0: it stays warm).
	DecommissionAfter time.Duration
}

// Summary is what a release did: its outcome, the error that decided it,
// and every commit it made, in order.
type Summary struct {
	App, Version string
	// Outcome is "" when the release stopped before it committed anything
	// (a usage error or a refusal): there is nothing to summarise.
	Outcome Outcome
	Err     error
	Commits []Result
	// Notifications say how the event of a failed release went to the
	// app's notify: targets (each commit's are in the commit's Result).
	Notifications []notify.Delivery
}

// ReleaseID is the id of the release this run deployed ("" before deploy),
// so that its clean-up never touches another pipeline's release.
func (s Summary) ReleaseID() string {
	for _, c := range s.Commits {
		if c.Transition == string(state.TDeploy) && c.Next.Last.Release != "" {
			return c.Next.Last.Release
		}
	}
	return ""
}

// Release runs the whole cycle: deploy (make-before-break), wait, verify
// through the test route, promote, wait, and the checks on the default
// route. A failure before the switch aborts the release, one after it
// rolls back, each its own commit, waited for so that the release ends
// with the cluster safe. The Summary says what it did; the error is the
// failure that decided a release that did not end Released.
func (e *Engine) Release(ctx context.Context, o ReleaseOptions) (Summary, error) {
	sum := Summary{Version: o.Request.Version, Commits: []Result{}}
	c := e.collecting(&sum.Commits)
	c.waitTimes = &waitLog{d: map[string]time.Duration{}}
	err := c.release(ctx, o, &sum)
	for i := range sum.Commits {
		sum.Commits[i].Waited = c.waitTimes.of(sum.Commits[i].Commit)
	}
	if len(sum.Commits) > 0 {
		sum.App = sum.Commits[0].Next.App
	}
	return sum, err
}

func (e *Engine) release(ctx context.Context, o ReleaseOptions, sum *Summary) error {
	finish := func(outcome Outcome, err error) error {
		sum.Outcome, sum.Err = outcome, err
		if outcome == Failed && err != nil {
			e.notifyFailed(ctx, sum, err)
		}
		if err != nil && outcome != Failed {
			return fmt.Errorf("release %s %s: %w", o.Request.Version, outcome, err)
		}
		return err
	}
	a, err := e.peek(ctx)
	if err != nil {
		return err
	}
	if !e.waits(a.Config) {
		return Usagef("release waits for the GitOps controller: set wait.controller in bgrender.yaml or pass --controller")
	}
	if e.Smoke == nil {
		return Usagef("release needs smoke checks, and the engine has no Smoker")
	}
	if err := e.Smoke.Ready(a.Config); err != nil {
		return err
	}
	if len(a.Config.Verify.Checks) == 0 {
		return Usagef("release needs smoke checks: declare verify.checks in bgrender.yaml")
	}
	if e.DryRun {
		return Usagef("release runs a whole cycle and cannot be a dry run")
	}

	// abortRelease drops the release under test and waits until the
	// controller has applied that, so the release ends with the cluster
	// safe.
	abortRelease := func(cause error) error {
		if err := e.abort(ctx, Expect{Release: sum.ReleaseID()}, e.staged(), cause.Error()); err != nil {
			return finish(Aborted, errors.Join(cause, fmt.Errorf("abort: %w", err)))
		}
		if n := len(sum.Commits); n > 0 {
			if err := e.wait(ctx, sum.Commits[n-1]); err != nil {
				cause = errors.Join(cause, fmt.Errorf("waiting for the abort: %w", err))
			}
		}
		return finish(Aborted, cause)
	}

	// Before the switch: any failure aborts the release under test.
	if err := e.deploy(ctx, o.Request, e.staged()); err != nil {
		var refused *state.RefusedError
		if errors.As(err, &refused) || len(sum.Commits) == 0 {
			return err // nothing was committed: a refusal stays a refusal
		}
		return abortRelease(err)
	}
	// In-cluster tests and migrations with the new color up, before the
	// smoke checks; a failed one aborts the release.
	if err := e.runHooks(ctx, a.Config, config.HookAfterDeploy, Expect{Release: sum.ReleaseID()}); err != nil {
		return abortRelease(err)
	}
	if _, err := e.Verify(ctx, Expect{Release: sum.ReleaseID()}); err != nil {
		return abortRelease(err)
	}
	// The switch.
	promoted, err := e.Run(ctx, func(a *App) (state.State, error) {
		return state.Promote(a.State, state.PromoteRequest{})
	}, StepOptions{})
	if err != nil && !promoted.Pushed {
		return abortRelease(err)
	}
	// A required notification that failed after the promote landed is a
	// failure after the switch.
	notifyErr := err
	// After the switch: any failure rolls back.
	if a, err = e.peek(ctx); err != nil {
		return finish(Failed, err)
	}
	nothingBefore := a.State.Standby == nil && a.State.Adopted == nil
	rollback := func(cause error) error {
		res, err := e.Run(ctx, Transition(func(s state.State) (state.State, error) { return state.RollbackBecause(s, cause.Error()) }),
			StepOptions{Suffix: " after a failed release", Extra: []string{"Cause: " + cause.Error()}, Reason: cause.Error()})
		if err != nil && !res.Pushed {
			return finish(Failed, errors.Join(cause, fmt.Errorf("rollback: %w", err)))
		}
		cause = errors.Join(cause, err) // a required notification of the rollback that failed
		if werr := e.wait(ctx, res); werr != nil {
			cause = errors.Join(cause, fmt.Errorf("waiting for the rollback: %w", werr))
		}
		return finish(RolledBack, cause)
	}
	if notifyErr != nil {
		if nothingBefore {
			return finish(Failed, fmt.Errorf("the first release is live, and there is nothing to roll back to: %w", notifyErr))
		}
		return rollback(notifyErr)
	}
	if err := e.wait(ctx, promoted); err != nil {
		if nothingBefore {
			return finish(Failed, fmt.Errorf("promotion of the first release was not applied, and there is nothing to roll back to: %w", err))
		}
		return rollback(err)
	}
	if _, err := e.Smoke.Smoke(ctx, a.Config, *a.State.Active, false); err != nil {
		if nothingBefore {
			return finish(Failed, fmt.Errorf("checks on the default route failed and there is no previous release to roll back to: %w", err))
		}
		return rollback(fmt.Errorf("checks on the default route: %w", err))
	}
	if err := e.analyzeLive(ctx, a); err != nil {
		if nothingBefore {
			return finish(Failed, fmt.Errorf("the analysis after the switch did not pass and there is no previous release to roll back to: %w", err))
		}
		return rollback(fmt.Errorf("analysis after the switch: %w", err))
	}
	if o.DecommissionAfter > 0 && a.State.Standby != nil {
		e.progress("keeping %s warm for %s before decommissioning it", a.State.Standby.Describe(), o.DecommissionAfter)
		if err := e.sleep(ctx, o.DecommissionAfter); err != nil {
			return finish(Released, fmt.Errorf("interrupted before decommissioning %s: %w", a.State.Standby.Describe(), err))
		}
		if _, err := e.Run(ctx, Transition(state.Decommission), StepOptions{}); err != nil {
			return finish(Released, fmt.Errorf("decommission: %w", err))
		}
	}
	return finish(Released, nil)
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	if e.Sleep != nil {
		return e.Sleep(ctx, d)
	}
	return Retrier{}.sleep(ctx, d)
}

// analyzeLive runs the app's analysis after the switch (analysis.afterSwitch)
// on the release that now takes all traffic; nil when there is none, or it
// passed.
func (e *Engine) analyzeLive(ctx context.Context, a *App) error {
	if a.Config.Analysis == nil {
		return nil
	}
	live, ok := a.Config.Analysis.Live()
	if !ok {
		return nil
	}
	if e.Analyst == nil {
		return Usagef("%s: its analysis cannot be run: the engine has no Analyst", a.Dir)
	}
	vars, err := analysis.VarsFor(a.Config, a.State, analysis.PhaseLive)
	if err != nil {
		return err
	}
	cfg := a.Config
	cfg.Analysis = &live
	rep, err := e.Analyst.Analyze(ctx, cfg, vars)
	if err != nil {
		return err
	}
	return analysis.Verdict(rep)
}
