package wait

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bgrender/bgrender/internal/ctxsleep"
)

// Defaults of Options.
const (
	DefaultInterval = 2 * time.Second
	// refreshEvery is how often Wait asks the source to refresh again while
	// it waits (Argo CD without a refresh may not look at git for minutes).
	refreshEvery = 30 * time.Second
)

// Options tune Wait. The zero value waits until ctx ends, polling every 2s.
type Options struct {
	// Timeout bounds the wait; 0 means no timeout beyond ctx's.
	Timeout time.Duration
	// Interval is the time between polls; 0 means DefaultInterval.
	Interval time.Duration
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends (returning ctx's error); nil means
	// a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Progress, if set, is called after every observation, failed ones
	// included.
	Progress func(p Progress)
}

// Progress is one poll's outcome, for progress lines.
type Progress struct {
	Source, Commit string
	// Observation is the poll's result (zero when Err is set).
	Observation Observation
	// Err is the poll's error, which Wait retries (a transient one) or
	// returns.
	Err error
	// RefreshErr is the error of the latest refresh, if it failed. Wait goes
	// on without it.
	RefreshErr error
	// Elapsed is the time since Wait started; Poll counts polls from 1.
	Elapsed time.Duration
	Poll    int
}

// Result is a successful wait.
type Result struct {
	Source, Commit string
	// Revision is the revision the source reported as applied: Commit or
	// one the Acceptor accepted.
	Revision string
	Elapsed  time.Duration
	Polls    int
}

// TimeoutError is the error of a wait that ran out of time. It matches
// ErrTimeout, and the last poll error if any.
type TimeoutError struct {
	Source, Commit string
	Elapsed        time.Duration
	// Waiting is what the last observation said was missing ("" if there
	// was none).
	Waiting string
	// LastErr is the last poll error, if any; RefreshErr the last refresh's.
	LastErr, RefreshErr error
}

func (e *TimeoutError) Error() string {
	s := fmt.Sprintf("%s did not apply %s: %v after %s", e.Source, shortSHA(e.Commit), ErrTimeout, e.Elapsed.Round(time.Second))
	switch {
	case e.Waiting != "":
		s += ": " + e.Waiting
	case e.LastErr == nil:
		s += ": no observation yet"
	}
	if e.LastErr != nil {
		s += fmt.Sprintf(" (last error: %v)", e.LastErr)
	}
	if e.RefreshErr != nil {
		s += fmt.Sprintf(" (refresh failed: %v)", e.RefreshErr)
	}
	return s
}

// Unwrap gives ErrTimeout and the last poll error.
func (e *TimeoutError) Unwrap() []error {
	if e.LastErr != nil {
		return []error{ErrTimeout, e.LastErr}
	}
	return []error{ErrTimeout}
}

// Permanent marks err as one that polling again will not cure (a refused
// token, a missing app): Wait returns it at once instead of retrying it until
// the timeout. It returns nil for nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// IsPermanent reports whether Wait stops on err rather than retrying it: a
// *FailedError, or an error (or one it wraps) with a method Permanent() bool
// that returns true, such as Permanent's and *APIError's for 401, 403 and
// 404. (Wait also stops when its ctx ends, but a request's own timeout is
// retried.)
func IsPermanent(err error) bool {
	var fe *FailedError
	if errors.As(err, &fe) {
		return true
	}
	return markedPermanent(err)
}

func markedPermanent(err error) bool {
	if p, ok := err.(interface{ Permanent() bool }); ok && p.Permanent() {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return markedPermanent(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if markedPermanent(e) {
				return true
			}
		}
	}
	return false
}

// Wait waits until src has applied commit (or a revision acc accepts) and
// reports it healthy.
//
// It asks src to refresh first, and again every 30s while it waits; a
// refresh error is not fatal (it is reported in Progress and in a timeout
// error). Then it observes src every o.Interval until an observation is Done.
// It stops at once on a *FailedError (returned as is: the controller failed
// to apply commit) and on permanent errors (see IsPermanent); other errors
// (network, 5xx) are retried. When o.Timeout passes it returns a
// *TimeoutError, which matches ErrTimeout and says what was still missing;
// when ctx ends, an error wrapping ctx's.
func Wait(ctx context.Context, src Source, commit string, acc Acceptor, o Options) (Result, error) {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if commit == "" {
		return Result{}, fmt.Errorf("wait for %s: no commit to wait for", src.Name())
	}
	parent := ctx
	if o.Timeout > 0 {
		// A backstop for a request that hangs; the deadline that counts is
		// measured with o.Now below.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}

	start := o.Now()
	res := Result{Source: src.Name(), Commit: commit}
	var (
		waiting             string
		lastErr, refreshErr error
		lastRefresh         time.Time
		refreshed           bool
	)
	timeout := func() error {
		return &TimeoutError{Source: res.Source, Commit: commit, Elapsed: res.Elapsed, Waiting: waiting, LastErr: lastErr, RefreshErr: refreshErr}
	}
	stopped := func(err error) (Result, error) {
		res.Elapsed = o.Now().Sub(start)
		if parent.Err() == nil && ctx.Err() != nil {
			return res, timeout() // our own backstop deadline
		}
		if waiting != "" {
			return res, fmt.Errorf("wait for %s to apply %s (%s): %w", res.Source, shortSHA(commit), waiting, err)
		}
		return res, fmt.Errorf("wait for %s to apply %s: %w", res.Source, shortSHA(commit), err)
	}

	for {
		if now := o.Now(); !refreshed || now.Sub(lastRefresh) >= refreshEvery {
			refreshed, lastRefresh = true, now
			refreshErr = src.Refresh(ctx)
			if ctx.Err() != nil {
				return stopped(ctx.Err())
			}
		}

		obs, err := src.Observe(ctx, commit, acc, o.Now())
		res.Polls++
		res.Elapsed = o.Now().Sub(start)
		if o.Progress != nil {
			o.Progress(Progress{Source: res.Source, Commit: commit, Observation: obs, Err: err, RefreshErr: refreshErr, Elapsed: res.Elapsed, Poll: res.Polls})
		}
		switch {
		case err == nil && obs.Done:
			res.Revision = obs.Revision
			return res, nil
		case err == nil:
			waiting = obs.Waiting
		case ctx.Err() != nil:
			return stopped(ctx.Err())
		case IsPermanent(err):
			var fe *FailedError
			if errors.As(err, &fe) {
				return res, err
			}
			return res, fmt.Errorf("wait for %s to apply %s: %w", res.Source, shortSHA(commit), err)
		default:
			lastErr = err
		}

		d := o.Interval
		if o.Timeout > 0 {
			left := o.Timeout - res.Elapsed
			if left <= 0 {
				return res, timeout()
			}
			d = min(d, left)
		}
		if err := o.Sleep(ctx, d); err != nil {
			return stopped(err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error { return ctxsleep.Sleep(ctx, d) }
