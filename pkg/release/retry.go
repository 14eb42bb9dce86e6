package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bgrender/bgrender/internal/ctxsleep"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/state"
)

// Attempt is one try of a transition: read the app at the branch head
// (with refresh, a local checkout first fetches its remote and reads at the
// remote's head), run the step and commit. It returns the app it read (nil
// when it read none) and how the try ended.
type Attempt func(ctx context.Context, refresh bool) (*App, error)

// Retrier runs attempts of one transition until it lands. The push is a
// compare-and-swap on the head the state was read at: when another
// transition landed first, the whole attempt runs again on the new head —
// re-read, re-validated, re-rendered, never a blind retry — a bounded
// number of times with backoff. A step that the new head no longer allows
// is refused, naming the head it was refused at. A lock in the way
// (another process writing the ref) is waited for the same bounded way.
// The zero value is ready: no jitter, real sleeps.
type Retrier struct {
	// Jitter randomises a backoff (nil: none).
	Jitter func(time.Duration) time.Duration
	// Sleep waits a backoff (nil: a timer that stops when ctx is done).
	Sleep func(context.Context, time.Duration) error
}

// Retry limits: a lock is held for the moment of a write, so a few tries
// tell one held from one left behind.
const (
	maxAttempts       = 10
	maxLockedAttempts = 4
)

// Run runs attempt until it returns nil, a refusal or an error that no
// retry mends, and returns that, with the branch head named on a refusal.
func (rt Retrier) Run(ctx context.Context, attempt Attempt) error {
	raced, refreshed := false, false
	var firstHead string
	for n := 1; ; n++ {
		a, err := attempt(ctx, raced || refreshed)
		var refused *state.RefusedError
		if a != nil && firstHead == "" {
			firstHead = a.Repo.Head().String()
		}
		switch {
		case err == nil:
			return nil
		case errors.As(err, &refused) && a != nil && !raced && !refreshed && a.Repo.CanRefresh():
			// A checkout judges on what it has: its remote may be ahead.
			// Judge again on the remote's head before refusing.
			refreshed = true
			continue
		case (raced || refreshed) && errors.As(err, &refused) && a != nil && a.Repo.Head().String() != firstHead:
			return fmt.Errorf("%w (another transition landed first; branch %s is now at %s)", err, a.Repo.Branch(), short(a.Repo.Head().String()))
		case errors.As(err, &refused) && a != nil:
			// Name the head the refusal was judged at: a pipeline that
			// started just after another landed learns what it saw.
			return fmt.Errorf("%w (branch %s is at %s)", err, a.Repo.Branch(), short(a.Repo.Head().String()))
		case !errors.Is(err, gitops.ErrPushRejected) && !errors.Is(err, gitops.ErrLocked):
			return err
		case n >= maxLockedAttempts && errors.Is(err, gitops.ErrLocked):
			return err
		case n == maxAttempts:
			return fmt.Errorf("%w; gave up after %d attempts: the branch keeps moving", err, n)
		}
		raced = true
		backoff := time.Duration(25<<min(n, 6)) * time.Millisecond
		if rt.Jitter != nil {
			backoff = rt.Jitter(backoff)
		}
		if err := rt.sleep(ctx, backoff); err != nil {
			return err
		}
	}
}

func (rt Retrier) sleep(ctx context.Context, d time.Duration) error {
	if rt.Sleep != nil {
		return rt.Sleep(ctx, d)
	}
	return ctxsleep.Sleep(ctx, d)
}

// short is a commit hash's first 7 digits.
func short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
