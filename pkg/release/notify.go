package release

import (
	"context"
	"fmt"
	"time"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/notify"
	"github.com/bgrender/bgrender/pkg/state"
)

// Notifier tells an app's notify: targets about an event.
type Notifier interface {
	// Notify sends ev to the targets of cfg that want it and says how each
	// went; the error is a required target's failure.
	Notify(ctx context.Context, cfg config.Config, ev notify.Event) ([]notify.Delivery, error)
}

// eventTypes are the transitions people are told about.
var eventTypes = map[state.Transition]string{
	state.TDeploy:       config.EventDeployed,
	state.TVerify:       config.EventVerified,
	state.TPromote:      config.EventPromoted,
	state.TRollback:     config.EventRolledBack,
	state.TAbort:        config.EventAborted,
	state.TDecommission: config.EventDecommissioned,
}

// EventFor is the event of a transition that landed, with reason saying
// why (an abort's or a rollback's cause; a rollback's recorded cause when
// empty); ok is false for a transition nobody is told about (route,
// unroute, hooks).
func EventFor(r Result, reason string, at time.Time) (ev notify.Event, ok bool) {
	typ, ok := eventTypes[state.Transition(r.Transition)]
	if !ok {
		return notify.Event{}, false
	}
	ev = notify.Event{
		Type: typ, Time: at.UTC().Format(time.RFC3339), App: r.Next.App, Namespace: r.Config.Namespace, Dir: r.Dir,
		Live: notify.ReleaseOf(r.Next.Active), Commit: r.Commit, Reason: reason,
	}
	switch typ {
	case config.EventDeployed, config.EventVerified:
		ev.Release = notify.ReleaseOf(r.Next.Test)
	case config.EventPromoted:
		ev.Release = notify.ReleaseOf(r.Next.Active)
		if r.Prev.Active != nil {
			ev.Replaced = notify.ReleaseOf(r.Prev.Active)
		}
		if p := r.Next.Active.Promotion; p != nil && p.Forced && ev.Reason == "" {
			ev.Reason = "forced without verification: " + p.Reason
		}
	case config.EventRolledBack:
		ev.Release = notify.ReleaseOf(r.Prev.Active)
		if ev.Reason == "" {
			ev.Reason = rollbackCause(r.Next, r.Prev.Active)
		}
	case config.EventAborted:
		ev.Release = notify.ReleaseOf(r.Prev.Test)
	case config.EventDecommissioned:
		ev.Release = notify.ReleaseOf(r.Prev.Standby)
	}
	return ev.Finish(), true
}

// rollbackCause is the cause recorded on the release rolled back from,
// wherever the rollback put it.
func rollbackCause(s state.State, from *state.Release) string {
	if from == nil {
		return ""
	}
	for _, r := range []*state.Release{s.Standby, s.Test} {
		if r != nil && r.ID == from.ID {
			return r.RollbackCause
		}
	}
	return ""
}

// landed reports whether r is a commit on the branch, which people are
// told about: not a dry run, a commit left local, or a proposal.
func landed(r Result) bool { return r.Pushed && !r.DryRun && r.PR == nil }

// notify tells the app's targets about r, if it landed, recording how it
// went in r. The error is a required target's failure: the commit stands.
func (e *Engine) notify(ctx context.Context, r *Result, reason string) error {
	if e.Notifier == nil || len(r.Config.Notify) == 0 || !landed(*r) {
		return nil
	}
	ev, ok := EventFor(*r, reason, e.now())
	if !ok {
		return nil
	}
	dels, err := e.Notifier.Notify(ctx, r.Config, ev)
	r.Notifications = dels
	if err != nil {
		return fmt.Errorf("%s: commit %s (%s) is pushed and stands, but %w", r.Dir, short(r.Commit), r.Transition, err)
	}
	return nil
}

// notifyFailed tells the app's targets that the release of sum failed
// (with nothing to roll back to, or a rollback that did not land).
func (e *Engine) notifyFailed(ctx context.Context, sum *Summary, cause error) {
	if e.Notifier == nil || len(sum.Commits) == 0 {
		return
	}
	last := sum.Commits[len(sum.Commits)-1]
	if len(last.Config.Notify) == 0 {
		return
	}
	var rel *notify.Release
	for _, c := range sum.Commits {
		if c.Transition == string(state.TDeploy) {
			rel = notify.ReleaseOf(c.Next.Test)
		}
	}
	ev := notify.Event{
		Type: config.EventFailed, Time: e.now().UTC().Format(time.RFC3339), App: last.Next.App, Namespace: last.Config.Namespace,
		Dir: last.Dir, Release: rel, Live: notify.ReleaseOf(last.Next.Active), Commit: last.Commit, Reason: cause.Error(),
	}.Finish()
	// A required target's failure is in the deliveries; the release has
	// failed already.
	sum.Notifications, _ = e.Notifier.Notify(ctx, last.Config, ev)
}
