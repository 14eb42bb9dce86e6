package wait_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/wait"
)

// fakeClock is Options.Now and Options.Sleep: sleeping moves the time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock(t testing.TB, at string) *fakeClock { return &fakeClock{now: mustTime(t, at)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *fakeClock) options(o wait.Options) wait.Options {
	o.Now, o.Sleep = c.Now, c.Sleep
	return o
}

// scriptSource answers each poll with observe(poll, now).
type scriptSource struct {
	clock      *fakeClock
	refreshErr error
	refreshes  []time.Time
	observe    func(poll int, now time.Time) (wait.Observation, error)
	polls      int
}

func (s *scriptSource) Name() string { return "script" }

func (s *scriptSource) Refresh(context.Context) error {
	s.refreshes = append(s.refreshes, s.clock.Now())
	return s.refreshErr
}

func (s *scriptSource) Observe(_ context.Context, _ string, _ wait.Acceptor, now time.Time) (wait.Observation, error) {
	s.polls++
	return s.observe(s.polls, now)
}

const start = "2026-11-25T18:00:00Z"

func waiting(w string) (wait.Observation, error) {
	return wait.Observation{Revision: refSHA, Sync: "Synced", Health: "Healthy", Waiting: w}, nil
}

func done() (wait.Observation, error) {
	return wait.Observation{Revision: descSHA, Sync: "Synced", Health: "Healthy", Done: true}, nil
}

func TestWaitDone(t *testing.T) {
	clock := newClock(t, start)
	src := &scriptSource{clock: clock, observe: func(poll int, _ time.Time) (wait.Observation, error) {
		if poll < 3 {
			return waiting("revision 05c5a5c is not 9f8e7d6 yet")
		}
		return done()
	}}
	var progress []string
	res, err := wait.Wait(context.Background(), src, newSHA, acceptor(), clock.options(wait.Options{
		Timeout: time.Minute,
		Progress: func(p wait.Progress) {
			progress = append(progress, fmt.Sprintf("%d %s %s %s done=%v %q", p.Poll, p.Elapsed, p.Source, short(p.Commit), p.Observation.Done, p.Observation.Waiting))
		},
	}))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	want := wait.Result{Source: "script", Commit: newSHA, Revision: descSHA, Elapsed: 4 * time.Second, Polls: 3}
	if res != want {
		t.Errorf("Result = %+v, want %+v", res, want)
	}
	wantProgress := []string{
		`1 0s script 9f8e7d6 done=false "revision 05c5a5c is not 9f8e7d6 yet"`,
		`2 2s script 9f8e7d6 done=false "revision 05c5a5c is not 9f8e7d6 yet"`,
		`3 4s script 9f8e7d6 done=true ""`,
	}
	if strings.Join(progress, "\n") != strings.Join(wantProgress, "\n") {
		t.Errorf("progress:\n%s\nwant:\n%s", strings.Join(progress, "\n"), strings.Join(wantProgress, "\n"))
	}
	if fmt.Sprint(clock.sleeps) != "[2s 2s]" {
		t.Errorf("sleeps = %v, want the default interval twice", clock.sleeps)
	}
	if len(src.refreshes) != 1 {
		t.Errorf("refreshes = %v, want one, first", src.refreshes)
	}
}

func TestWaitTimeout(t *testing.T) {
	clock := newClock(t, start)
	src := &scriptSource{clock: clock, observe: func(int, time.Time) (wait.Observation, error) {
		return waiting("revision a1b2c3d is not 9f8e7d6 yet")
	}}
	res, err := wait.Wait(context.Background(), src, newSHA, nil, clock.options(wait.Options{Timeout: 5 * time.Second, Interval: 2 * time.Second}))
	if !errors.Is(err, wait.ErrTimeout) {
		t.Fatalf("Wait = %v; want ErrTimeout", err)
	}
	var te *wait.TimeoutError
	if !errors.As(err, &te) || te.Waiting != "revision a1b2c3d is not 9f8e7d6 yet" || te.Elapsed != 5*time.Second {
		t.Errorf("TimeoutError = %+v", te)
	}
	if want := "script did not apply 9f8e7d6: timed out after 5s: revision a1b2c3d is not 9f8e7d6 yet"; err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	// Polls at 0s, 2s, 4s and, the last sleep cut short, 5s.
	if res.Polls != 4 || fmt.Sprint(clock.sleeps) != "[2s 2s 1s]" {
		t.Errorf("polls = %d, sleeps = %v; want 4 polls, sleeps [2s 2s 1s]", res.Polls, clock.sleeps)
	}
}

func TestWaitFailedErrorStops(t *testing.T) {
	clock := newClock(t, start)
	fail := &wait.FailedError{Source: "script", Commit: newSHA, Reason: "SyncFailed", Message: "one or more objects failed to apply"}
	src := &scriptSource{clock: clock, observe: func(poll int, _ time.Time) (wait.Observation, error) {
		if poll == 2 {
			return wait.Observation{Sync: "OutOfSync", Health: "Healthy"}, fail
		}
		return waiting("sync status is OutOfSync, want Synced")
	}}
	res, err := wait.Wait(context.Background(), src, newSHA, nil, clock.options(wait.Options{Timeout: 10 * time.Minute}))
	var fe *wait.FailedError
	if !errors.As(err, &fe) || fe != fail || errors.Is(err, wait.ErrTimeout) {
		t.Fatalf("Wait = %v; want the FailedError", err)
	}
	if want := "script failed to apply 9f8e7d6: SyncFailed: one or more objects failed to apply"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if res.Polls != 2 || res.Elapsed != 2*time.Second {
		t.Errorf("Result = %+v; want 2 polls in 2s", res)
	}
}

func TestWaitRefresh(t *testing.T) {
	clock := newClock(t, start)
	t0 := clock.Now()
	src := &scriptSource{clock: clock, refreshErr: errors.New("connection reset"), observe: func(_ int, now time.Time) (wait.Observation, error) {
		if now.Sub(t0) < 65*time.Second {
			return waiting("revision 05c5a5c is not 9f8e7d6 yet")
		}
		return done()
	}}
	var refreshErrs int
	res, err := wait.Wait(context.Background(), src, newSHA, nil, clock.options(wait.Options{
		Progress: func(p wait.Progress) {
			if p.RefreshErr != nil {
				refreshErrs++
			}
		},
	}))
	if err != nil {
		t.Fatalf("Wait: %v (a refresh error is not fatal)", err)
	}
	var at []string
	for _, r := range src.refreshes {
		at = append(at, r.Sub(t0).String())
	}
	if got := strings.Join(at, " "); got != "0s 30s 1m0s" {
		t.Errorf("refreshes at %s, want 0s 30s 1m0s", got)
	}
	if refreshErrs != res.Polls {
		t.Errorf("%d progress reports had the refresh error, want all %d", refreshErrs, res.Polls)
	}
}

func TestWaitRefreshErrorInTimeout(t *testing.T) {
	clock := newClock(t, start)
	src := &scriptSource{clock: clock, refreshErr: errors.New("refresh deadline exceeded"), observe: func(int, time.Time) (wait.Observation, error) {
		return waiting("sync status is OutOfSync, want Synced")
	}}
	_, err := wait.Wait(context.Background(), src, newSHA, nil, clock.options(wait.Options{Timeout: 3 * time.Second}))
	if !errors.Is(err, wait.ErrTimeout) || !strings.Contains(err.Error(), "sync status is OutOfSync, want Synced (refresh failed: refresh deadline exceeded)") {
		t.Fatalf("Wait = %v", err)
	}
}

func TestWaitContextCanceled(t *testing.T) {
	clock := newClock(t, start)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &scriptSource{clock: clock, observe: func(int, time.Time) (wait.Observation, error) {
		return waiting("health is Progressing, want Healthy")
	}}
	res, err := wait.Wait(ctx, src, newSHA, nil, clock.options(wait.Options{
		Timeout: time.Hour,
		Progress: func(p wait.Progress) {
			if p.Poll == 2 {
				cancel()
			}
		},
	}))
	if !errors.Is(err, context.Canceled) || errors.Is(err, wait.ErrTimeout) {
		t.Fatalf("Wait = %v; want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "health is Progressing") || res.Polls != 2 {
		t.Errorf("Wait = %+v, %v; want 2 polls and what was missing", res, err)
	}
}

func TestWaitRealClock(t *testing.T) {
	// The default Now and Sleep.
	src := &scriptSource{clock: &fakeClock{}, observe: func(poll int, _ time.Time) (wait.Observation, error) {
		if poll < 3 {
			return waiting("not yet")
		}
		return done()
	}}
	res, err := wait.Wait(context.Background(), src, newSHA, nil, wait.Options{Interval: time.Millisecond, Timeout: time.Minute})
	if err != nil || res.Polls != 3 {
		t.Fatalf("Wait = %+v, %v; want done after 3 polls", res, err)
	}
}

// The tests below run Wait against ArgoCDREST and an HTTP server speaking
// Argo CD's JSON.

func TestWaitArgoCDTransientErrors(t *testing.T) {
	app := loadApp(t, syncedFile)
	var mu sync.Mutex
	gets := 0
	srv := newArgoServer(t, func(refresh string) (int, any) {
		mu.Lock()
		defer mu.Unlock()
		if refresh != "" {
			return http.StatusOK, app
		}
		gets++
		if gets <= 3 {
			return http.StatusBadGateway, `{"error":"upstream connect error","code":14,"message":"upstream connect error"}`
		}
		return http.StatusOK, app
	})
	clock := newClock(t, refFinished)
	clock.now = clock.now.Add(time.Hour)
	var errs []string
	res, err := wait.Wait(context.Background(), srv.source(), refSHA, acceptor(), clock.options(wait.Options{
		Timeout: time.Minute,
		Progress: func(p wait.Progress) {
			if p.Err != nil {
				errs = append(errs, p.Err.Error())
			}
		},
	}))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if res.Polls != 4 || res.Revision != refSHA || len(errs) != 3 {
		t.Errorf("Result = %+v, errors %v; want done on the 4th poll after 3 errors", res, errs)
	}
	if len(errs) > 0 && !strings.Contains(errs[0], "502 Bad Gateway: upstream connect error") {
		t.Errorf("progress error = %q", errs[0])
	}
	if reqs := srv.requests(); len(reqs) == 0 || !strings.Contains(reqs[0], "?refresh=normal ") {
		t.Errorf("first request %v: want the refresh", reqs)
	}
}

func TestWaitArgoCDTransientUntilTimeout(t *testing.T) {
	srv := newArgoServer(t, func(string) (int, any) { return http.StatusServiceUnavailable, "no healthy upstream" })
	clock := newClock(t, start)
	res, err := wait.Wait(context.Background(), srv.source(), refSHA, nil, clock.options(wait.Options{Timeout: 10 * time.Second}))
	if !errors.Is(err, wait.ErrTimeout) {
		t.Fatalf("Wait = %v; want ErrTimeout", err)
	}
	var ae *wait.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("Wait error %v: want it to wrap the last *APIError", err)
	}
	if want := "argocd app app did not apply 05c5a5c: timed out after 10s (last error: argocd app app: Argo CD API answered 503 Service Unavailable: no healthy upstream)"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	if res.Polls != 6 {
		t.Errorf("polls = %d, want 6 (every 2s for 10s)", res.Polls)
	}
}

func TestWaitArgoCDUnauthorizedStops(t *testing.T) {
	srv := newArgoServer(t, func(string) (int, any) {
		return http.StatusUnauthorized, `{"error":"invalid session: token ` + token + ` is expired","code":16,"message":"invalid session: token ` + token + ` is expired"}`
	})
	clock := newClock(t, start)
	res, err := wait.Wait(context.Background(), srv.source(), refSHA, nil, clock.options(wait.Options{Timeout: time.Hour}))
	if !errors.Is(err, wait.ErrUnauthorized) || errors.Is(err, wait.ErrTimeout) {
		t.Fatalf("Wait = %v; want ErrUnauthorized at once", err)
	}
	if res.Polls != 1 || strings.Contains(err.Error(), token) {
		t.Errorf("Wait = %+v, %q; want one poll and no token", res, err)
	}
}

func TestWaitArgoCDFailedStops(t *testing.T) {
	app := loadApp(t, compErrorFile)
	srv := newArgoServer(t, serve(app))
	clock := newClock(t, start)
	res, err := wait.Wait(context.Background(), srv.source(), refSHA, acceptor(), clock.options(wait.Options{Timeout: time.Hour}))
	var fe *wait.FailedError
	if !errors.As(err, &fe) || fe.Reason != "ComparisonError" {
		t.Fatalf("Wait = %v; want a ComparisonError FailedError", err)
	}
	if res.Polls != 1 || len(clock.sleeps) != 0 {
		t.Errorf("Result = %+v, sleeps %v; want it to stop on the first poll", res, clock.sleeps)
	}
}

func TestWaitArgoCDRejectedDescendantNeverDone(t *testing.T) {
	app := loadApp(t, syncedFile)
	set(app, "status.sync.revision", descSHA)
	set(app, "status.operationState.syncResult.revision", descSHA)
	srv := newArgoServer(t, serve(app))
	acc := &fakeAcceptor{why: map[string]string{descSHA: "revision a1b2c3d changes apps/app after 9f8e7d6 (overlays/virtualservice.yaml)"}}
	clock := newClock(t, start)
	_, err := wait.Wait(context.Background(), srv.source(), newSHA, acc, clock.options(wait.Options{Timeout: 20 * time.Second}))
	if !errors.Is(err, wait.ErrTimeout) || !strings.Contains(err.Error(), "revision a1b2c3d is not 9f8e7d6 yet: revision a1b2c3d changes apps/app after 9f8e7d6 (overlays/virtualservice.yaml)") {
		t.Fatalf("Wait = %v; want a timeout naming the acceptor's reason", err)
	}
}

// TestWaitArgoCDHealthFlapping: the sync ends at 17:45:47 with health still
// Healthy from long before; the new pods turn the app Progressing at
// 17:45:53 and Healthy again at 17:45:57. With a 10s cooldown the wait must
// not end at 17:45:57 (10s after the sync) but at 17:46:07.
func TestWaitArgoCDHealthFlapping(t *testing.T) {
	clock := newClock(t, refFinished)
	clock.now = clock.now.Add(2 * time.Second)
	flapStart, flapEnd := mustTime(t, "2026-11-25T17:45:53Z"), mustTime(t, "2026-11-25T17:45:57Z")
	srv := newArgoServer(t, func(string) (int, any) {
		app := loadApp(t, syncedFile)
		now := clock.Now()
		set(app, "status.reconciledAt", now.Format(time.RFC3339))
		switch {
		case now.Before(flapStart):
		case now.Before(flapEnd):
			set(app, "status.health.status", "Progressing")
			set(app, "status.health.lastTransitionTime", flapStart.Format(time.RFC3339))
		default:
			set(app, "status.health.lastTransitionTime", flapEnd.Format(time.RFC3339))
		}
		return http.StatusOK, app
	})
	var seen []string
	res, err := wait.Wait(context.Background(), srv.source(), refSHA, acceptor(), clock.options(wait.Options{
		Timeout: time.Minute,
		Progress: func(p wait.Progress) {
			seen = append(seen, clock.Now().Format("04:05")+" "+p.Observation.Health+" "+p.Observation.Waiting)
		},
	}))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	want := []string{
		"45:49 Healthy Healthy for 2s, cooldown 8s left",
		"45:51 Healthy Healthy for 4s, cooldown 6s left",
		"45:53 Progressing health is Progressing, want Healthy",
		"45:55 Progressing health is Progressing, want Healthy",
		"45:57 Healthy Healthy for 0s, cooldown 10s left",
		"45:59 Healthy Healthy for 2s, cooldown 8s left",
		"46:01 Healthy Healthy for 4s, cooldown 6s left",
		"46:03 Healthy Healthy for 6s, cooldown 4s left",
		"46:05 Healthy Healthy for 8s, cooldown 2s left",
		"46:07 Healthy ",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	if res.Elapsed != 18*time.Second {
		t.Errorf("Elapsed = %s, want 18s", res.Elapsed)
	}
}

func TestIsPermanent(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("connection refused"), false},
		{"failed", fmt.Errorf("x: %w", &wait.FailedError{Reason: "Degraded"}), true},
		{"marked", fmt.Errorf("x: %w", wait.Permanent(errors.New("bad config"))), true},
		{"401", &wait.APIError{StatusCode: 401}, true},
		{"404 wrapped", fmt.Errorf("x: %w", &wait.APIError{StatusCode: 404}), true},
		{"500", &wait.APIError{StatusCode: 500}, false},
		{"408", &wait.APIError{StatusCode: 408}, false},
		{"joined", errors.Join(errors.New("a"), &wait.APIError{StatusCode: 403}), true},
		{"context deadline of a request", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := wait.IsPermanent(tc.err); got != tc.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	if wait.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}

// Wait on an Argo CD app through its REST API, printing progress.
func ExampleWait() {
	app, err := os.ReadFile(filepath.Join("..", "..", "testdata", "wait", "argocd-v2.14-application-synced.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	argocd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(app)
	}))
	defer argocd.Close()

	src := &wait.ArgoCDREST{Server: argocd.URL, Token: "a token", App: "app", Cooldown: -1}
	res, err := wait.Wait(context.Background(), src, "05c5a5c22a1b385e13e79886fe4f3dfcb990f3f2", nil, wait.Options{
		Timeout: time.Minute,
		Progress: func(p wait.Progress) {
			fmt.Printf("%s: %s, %s\n", p.Source, p.Observation.Sync, p.Observation.Health)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s applied %s after %d poll(s)\n", res.Source, res.Revision[:7], res.Polls)
	// Output:
	// argocd app app: Synced, Healthy
	// argocd app app applied 05c5a5c after 1 poll(s)
}
