package release_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/release"
)

// A lost push race runs the attempt again, reading anew; a lock is waited
// for a few times only; other errors end it at once.
func TestRetrier(t *testing.T) {
	var slept []time.Duration
	rt := release.Retrier{Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	var refreshes []bool
	raceTwice := func(ctx context.Context, refresh bool) (*release.App, error) {
		refreshes = append(refreshes, refresh)
		if len(refreshes) <= 2 {
			return nil, fmt.Errorf("push: %w", gitops.ErrPushRejected)
		}
		return nil, nil
	}
	if err := rt.Run(context.Background(), raceTwice); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(refreshes) != "[false true true]" || len(slept) != 2 || slept[1] <= slept[0] {
		t.Errorf("refreshes %v, backoffs %v", refreshes, slept)
	}

	n := 0
	locked := func(context.Context, bool) (*release.App, error) { n++; return nil, gitops.ErrLocked }
	if err := rt.Run(context.Background(), locked); !errors.Is(err, gitops.ErrLocked) || n != 4 {
		t.Errorf("locked: %v after %d attempts", err, n)
	}
	n = 0
	always := func(context.Context, bool) (*release.App, error) { n++; return nil, gitops.ErrPushRejected }
	if err := rt.Run(context.Background(), always); err == nil || !strings.Contains(err.Error(), "gave up after 10 attempts") || n != 10 {
		t.Errorf("a branch that keeps moving: %v after %d attempts", err, n)
	}
	n = 0
	other := func(context.Context, bool) (*release.App, error) { n++; return nil, errors.New("disk full") }
	if err := rt.Run(context.Background(), other); err == nil || n != 1 {
		t.Errorf("another error: %v after %d attempts", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (release.Retrier{}).Run(ctx, always); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: %v", err)
	}
}
