package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/wait"
)

// HookError is a hook whose Job failed: the release under test has the
// failed run recorded, and its Job is gone from the repo.
type HookError struct {
	Hook string
	Err  error
}

func (e *HookError) Error() string { return fmt.Sprintf("hook %s failed: %v", e.Hook, e.Err) }
func (e *HookError) Unwrap() error { return e.Err }

// RunHook runs hook name for the release under test, guarded by x: a commit
// that adds its Job (state.RunHook), a wait until the controller applied
// it and the Job completed, and a commit that records the outcome and
// removes the Job (state.EndHook). A Job that failed (by its conditions,
// or as the controller's health assessment of the commit, which adds
// nothing else) is a *HookError, after its outcome is committed. If the hook is already running (an earlier run
// stopped waiting), it waits for that run instead of starting another. A
// timeout leaves the hook running: run it again to keep waiting.
func (e *Engine) RunHook(ctx context.Context, name string, x Expect) ([]Result, error) {
	var out []Result
	err := e.collecting(&out).runHook(ctx, name, x)
	return out, err
}

func (e *Engine) runHook(ctx context.Context, name string, x Expect) error {
	a, err := e.peek(ctx)
	if err != nil {
		return err
	}
	if _, ok := a.Config.HookNamed(name); !ok {
		return Usagef("%s: no hook %q in %s (hooks: %s)", a.Dir, name, config.FileName, hookNames(a.Config))
	}
	if !e.waits(a.Config) || !e.staged() {
		return Usagef("hook run waits for the GitOps controller and the Job, and records the outcome in its own commit: set wait.controller in %s (or pass --controller); it is not for --pr or --dry-run", config.FileName)
	}
	var commit string
	if h := a.State.RunningHook(); h != nil && h.Name == name {
		if err := state.Expect(a.State, state.RoleTest, x.Release, x.Version); err != nil {
			return err
		}
		last, err := a.Repo.LastChange(ctx, a.Dir)
		if err != nil {
			return fmt.Errorf("%s: find the hook's commit: %w", a.Dir, err)
		}
		commit = last.Hash.String()
	} else {
		res, err := e.Run(ctx, x.Guard(state.RoleTest, func(a *App) (state.State, error) {
			return state.RunHook(a.State, name)
		}), StepOptions{})
		if err != nil {
			return err
		}
		commit = res.Commit
	}
	_, werr := e.Waiter.Wait(ctx, a.Dir, a.Config, commit)
	var failed *wait.FailedError
	switch {
	case werr == nil:
		_, err := e.Run(ctx, x.Guard(state.RoleTest, func(a *App) (state.State, error) {
			return state.EndHook(a.State, true, "")
		}), StepOptions{})
		return err
	case errors.As(werr, &failed):
		// The commit added the Job and nothing else: the controller's
		// failure (Argo CD's Degraded, Flux's health check) is the Job's.
		msg := failed.Message
		if _, err := e.Run(ctx, x.Guard(state.RoleTest, func(a *App) (state.State, error) {
			return state.EndHook(a.State, false, msg)
		}), StepOptions{Extra: []string{"Hook failed: " + msg}}); err != nil {
			return errors.Join(&HookError{Hook: name, Err: werr}, fmt.Errorf("record the failure: %w", err))
		}
		return &HookError{Hook: name, Err: werr}
	default:
		return fmt.Errorf("%s: hook %s is committed (%s), but waiting for its Job failed: %w; once it has finished run `%s hook run %s` again to record it", a.Dir, name, short(commit), werr, e.cmd(a.Dir), name)
	}
}

// runHooks runs the hooks of the release under test that run at when, in
// order.
func (e *Engine) runHooks(ctx context.Context, cfg config.Config, when string, x Expect) error {
	for _, h := range cfg.HooksWhen(when) {
		if err := e.runHook(ctx, h.Name, x); err != nil {
			return err
		}
	}
	return nil
}

// missingHooks are the afterDeploy hooks that have not passed for r.
func missingHooks(cfg config.Config, r state.Release) []string {
	var out []string
	for _, h := range cfg.HooksWhen(config.HookAfterDeploy) {
		if !r.Passed(h.Name) {
			out = append(out, h.Name)
		}
	}
	return out
}

// passedHooks are r's passed afterDeploy hooks as evidence names them,
// "name#attempt".
func passedHooks(cfg config.Config, r state.Release) []string {
	var out []string
	for _, h := range cfg.HooksWhen(config.HookAfterDeploy) {
		for _, run := range r.Hooks {
			if run.Name == h.Name && run.Result == state.HookPassed {
				out = append(out, fmt.Sprintf("%s#%d", run.Name, run.Attempt))
			}
		}
	}
	return out
}

func hookNames(cfg config.Config) string {
	if len(cfg.Hooks) == 0 {
		return "none"
	}
	names := make([]string, 0, len(cfg.Hooks))
	for _, h := range cfg.Hooks {
		names = append(names, h.Name)
	}
	return strings.Join(names, ", ")
}
