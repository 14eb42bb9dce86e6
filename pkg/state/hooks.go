package state

import (
	"fmt"
	"regexp"
)

// Hook transitions: a hook Job is added to the repo for the release under
// test (THook), and the next commit records its outcome and removes it
// (THookDone), so that neither the repo nor the cluster keeps finished Jobs.
const (
	THook     Transition = "hook"
	THookDone Transition = "hook-done"
	// TUnhold gives a held release under test its pods, once its
	// beforeDeploy hooks passed.
	TUnhold Transition = "unhold"
)

// Hook outcomes.
const (
	HookRunning = "running"
	HookPassed  = "passed"
	HookFailed  = "failed"
)

// HookRun is one run of a hook for a release.
type HookRun struct {
	// Name is the hook's name in bgrender.yaml.
	Name string `json:"name" yaml:"name"`
	// Attempt counts the runs of this hook for this release, from 1: each
	// run is a Job of its own, so none is ever changed in place (a Job's
	// template is immutable).
	Attempt int `json:"attempt" yaml:"attempt"`
	// Result is running (the Job is in the repo), passed or failed.
	Result string `json:"result" yaml:"result"`
	// Message is, for a failed run, why (the Job controller's condition).
	Message string `json:"message,omitempty" yaml:"message,omitempty"`
}

// RunningHook is the hook run of the release under test whose Job is in
// the repo, or nil.
func (s State) RunningHook() *HookRun {
	if s.Test == nil {
		return nil
	}
	for i := range s.Test.Hooks {
		if s.Test.Hooks[i].Result == HookRunning {
			return &s.Test.Hooks[i]
		}
	}
	return nil
}

// Passed reports whether the release has a passed run of the hook.
func (r Release) Passed(hook string) bool {
	for _, h := range r.Hooks {
		if h.Name == hook && h.Result == HookPassed {
			return true
		}
	}
	return false
}

var hookName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// RunHook adds a run of hook to the release under test: its Job goes into
// the repo with this state. One hook runs at a time.
func RunHook(s State, hook string) (State, error) {
	if s.Test == nil {
		return s, refuse(s, ErrNoTest, "no release is under test to run hook %s for; deploy one first", hook)
	}
	if !hookName.MatchString(hook) {
		return s, refuse(s, ErrInvalidArgs, "hook %q: not a hook name", hook)
	}
	if h := s.RunningHook(); h != nil {
		return s, refuse(s, ErrInvalidArgs, "hook %s (attempt %d) is still running for %s; wait for it (`bgrender wait`) and end it first", h.Name, h.Attempt, s.Test.Describe())
	}
	next := s.clone()
	attempt := 1
	for _, h := range next.Test.Hooks {
		if h.Name == hook {
			attempt = h.Attempt + 1
		}
	}
	next.Test.Hooks = append(next.Test.Hooks, HookRun{Name: hook, Attempt: attempt, Result: HookRunning})
	next.Test.Evidence = nil // what was verified before this hook is not what runs after it
	next.Last = lastFor(THook, *next.Test)
	return next, nil
}

// EndHook records the outcome of the running hook and removes its Job from
// the repo. message says why a run failed.
func EndHook(s State, passed bool, message string) (State, error) {
	h := s.RunningHook()
	if h == nil {
		return s, refuse(s, ErrInvalidArgs, "no hook is running")
	}
	next := s.clone()
	run := next.RunningHook()
	run.Result = HookFailed
	if passed {
		run.Result = HookPassed
	}
	run.Message = message
	next.Last = lastFor(THookDone, *next.Test)
	return next, nil
}

func validateHookRuns(runs []HookRun) error {
	running := 0
	for i, h := range runs {
		field := fmt.Sprintf("hooks[%d]", i)
		if !hookName.MatchString(h.Name) {
			return fmt.Errorf("%s.name %q: not a hook name", field, h.Name)
		}
		if h.Attempt < 1 {
			return fmt.Errorf("%s.attempt %d: counts from 1", field, h.Attempt)
		}
		switch h.Result {
		case HookRunning:
			running++
		case HookPassed, HookFailed:
		default:
			return fmt.Errorf("%s.result %q: must be running, passed or failed", field, h.Result)
		}
	}
	if running > 1 {
		return fmt.Errorf("hooks: %d runs are running; one runs at a time", running)
	}
	return nil
}

// Unhold gives the held release under test its pods (Held off); it stays
// without its test route until Route.
func Unhold(s State) (State, error) {
	if s.Test == nil || !s.Test.Held {
		return s, refuse(s, ErrInvalidArgs, "no release under test is held")
	}
	if h := s.RunningHook(); h != nil {
		return s, refuse(s, ErrInvalidArgs, "hook %s is still running for %s; wait for it first", h.Name, s.Test.Describe())
	}
	next := s.clone()
	next.Test.Held = false
	next.Last = lastFor(TUnhold, *next.Test)
	return next, nil
}
