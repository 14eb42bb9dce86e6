package smoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bgrender/bgrender/internal/ctxsleep"
	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/pkg/state"
)

// Backoff defaults: the wait before retry n is Backoff*2^(n-1), at most MaxBackoff.
const (
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 8 * time.Second
)

// Runner runs smoke checks. The zero value is ready to use: the default HTTP
// transport, the real clock, real sleeps and no progress. Set the fields to
// make runs deterministic in tests. A Runner is not modified by Run and may
// be shared.
type Runner struct {
	// Client sends the requests. Run uses a copy that follows no redirects
	// (the gateway's response is what is checked) and has no cookie jar
	// (the selector is the only cookie). Nil: a client on a transport of its own.
	Client *http.Client
	// Now reads the clock; nil means time.Now. Spec.Timeout is measured
	// with it.
	Now func() time.Time
	// Sleep waits between attempts; nil means a timer that stops when ctx
	// is done.
	Sleep func(ctx context.Context, d time.Duration) error
	// Progress, if set, is called (on Run's goroutine) after every attempt,
	// before every backoff and when a step ends.
	Progress func(Event)
	// Backoff is the wait before the first retry, doubled for each further
	// retry up to MaxBackoff. Zero: DefaultBackoff and DefaultMaxBackoff.
	Backoff, MaxBackoff time.Duration
}

// EventKind says what an Event reports.
type EventKind string

// The event kinds.
const (
	EventAttempt EventKind = "attempt" // an attempt finished
	EventRetry   EventKind = "retry"   // waiting Backoff before the next attempt
	EventDone    EventKind = "done"    // the identity proof or a check finished; Passed says how
)

// IdentityStep is the Step of events about the identity proof.
const IdentityStep = "identity"

// Event is progress for humans; Run reports it through Runner.Progress.
type Event struct {
	Kind EventKind
	// Step is IdentityStep for the identity proof (Identity is true), else
	// the check's name.
	Step     string
	Identity bool
	// Attempt counts from 1 to MaxAttempts.
	Attempt, MaxAttempts int
	// Status is the last response's status, 0 when there was none.
	Status int
	// Got is the identity the response carried, "" when none.
	Got    string
	Passed bool
	// Reason says why an attempt or step failed.
	Reason string
	// Backoff is the wait before the next attempt (EventRetry).
	Backoff time.Duration
	// Elapsed is the time since Run started.
	Elapsed time.Duration
}

// String writes e as one line, e.g.
// `check "health": attempt 2/4 failed: status 503, want 200`.
func (e Event) String() string {
	step := fmt.Sprintf("check %q", e.Step)
	if e.Identity {
		step = "identity"
	}
	switch e.Kind {
	case EventAttempt:
		if e.Passed {
			s := fmt.Sprintf("%s: attempt %d/%d: %d", step, e.Attempt, e.MaxAttempts, e.Status)
			if e.Got != "" {
				s += " from " + e.Got
			}
			return s
		}
		return fmt.Sprintf("%s: attempt %d/%d failed: %s", step, e.Attempt, e.MaxAttempts, e.Reason)
	case EventRetry:
		return fmt.Sprintf("%s: retrying in %s", step, D(e.Backoff))
	default:
		if e.Passed {
			return fmt.Sprintf("%s: passed after %s", step, plural(e.Attempt, "attempt"))
		}
		return fmt.Sprintf("%s: FAILED after %s: %s", step, plural(e.Attempt, "attempt"), e.Reason)
	}
}

// Report is the outcome of Run, complete even when Run fails.
type Report struct {
	Release string      `json:"release"`
	Version string      `json:"version"`
	Color   state.Color `json:"color,omitempty"`
	// Route is the Target's selector, e.g. "cookie test=true" or "default route".
	Route    string         `json:"route"`
	Identity IdentityResult `json:"identity"`
	// Checks has one result per check, in spec order.
	Checks   []CheckResult `json:"checks"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Passed   bool          `json:"passed"`
}

// IdentityResult is the outcome of the identity proof.
type IdentityResult struct {
	Path string `json:"path"`
	// Source is where the identity was read: "header x-app-version" or
	// "JSON field version".
	Source string `json:"source"`
	// Want is the release's version or id; Got what the last response carried.
	Want     string   `json:"want"`
	Got      string   `json:"got,omitempty"`
	Passed   bool     `json:"passed"`
	Attempts int      `json:"attempts"`
	Status   int      `json:"status,omitempty"`
	Duration Duration `json:"duration"`
	Error    string   `json:"error,omitempty"`
}

// CheckResult is the outcome of one check.
type CheckResult struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Passed bool   `json:"passed"`
	// Skipped is true when the check did not run: the identity proof
	// failed, another release answered, or time ran out. Error says which.
	Skipped  bool `json:"skipped,omitempty"`
	Attempts int  `json:"attempts"`
	// Status is the last response's status, 0 when there was none.
	Status int `json:"status,omitempty"`
	// Got is the identity the last response carried, "" when none.
	Got      string   `json:"got,omitempty"`
	Duration Duration `json:"duration"`
	// Error is why the last attempt failed, or why the check was skipped.
	Error string `json:"error,omitempty"`
}

// Run proves that t.Release answers through the route t.Selector takes, then
// runs spec's checks in order, and returns a Report, always; the error is
// non-nil when anything failed.
//
// The identity proof GETs Identity.Path (with the selector and host, none of
// the checks' headers) until the response carries the release's identity in
// Identity.Header or Identity.JSONField. It retries, with backoff, both while
// the identity is missing (no route yet: Envoy answers 404 or 503) and while
// another release answers, because right after an apply the gateways may
// still run the previous routes for a moment. When the retries run out it
// fails with *WrongReleaseError if any attempt was answered by another release,
// else with *CheckFailedError (Identity true). The checks are then skipped.
//
// Each check is then tried up to 1+Retries times, with exponential backoff
// (Runner.Backoff, through Runner.Sleep) and a per-attempt timeout; a failed
// check gives *CheckFailedError, and the later checks still run. Once identity
// is proven, routing is expected to be settled: a check response carrying
// another release's identity fails at once with *WrongReleaseError (no retry,
// the remaining checks are skipped), because some gateways still route to the
// other color and no result can be trusted. A check response that carries no
// identity (no header, not JSON, no field) is judged on its expectations alone.
//
// Spec.Timeout bounds everything, measured with Runner.Now; when it runs out
// the error wraps ErrTimeout. With several failures the error joins them
// (errors.As finds each type). Run validates spec and t first, and returns
// ErrNotConfigured for a spec that asks for nothing.
func (r *Runner) Run(ctx context.Context, spec Spec, t Target) (Report, error) {
	x := &run{r: r, target: t, started: r.now()}
	x.rep = Report{Release: t.Release.ID, Version: t.Release.Version, Color: t.Release.Color, Route: t.Selector.String(), Started: x.started}
	err := x.run(ctx, spec)
	x.rep.Finished = r.now()
	x.rep.Passed = err == nil
	return x.rep, err
}

// run is the state of one Run.
type run struct {
	r       *Runner
	target  Target
	started time.Time
	rep     Report

	spec     Spec
	ep       endpoint
	client   *http.Client
	parent   context.Context
	ctx      context.Context // parent with a real-time backstop of Spec.Timeout
	deadline time.Time       // started + Spec.Timeout, by Runner.Now
	source   identitySource
	want     string
}

func (x *run) run(ctx context.Context, spec Spec) error {
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("smoke: %w", err)
	}
	if !spec.Configured() {
		return ErrNotConfigured
	}
	x.spec = spec.WithDefaults()
	id := x.spec.Identity
	x.source = identitySource{header: id.Header, field: id.JSONField}
	x.want = x.target.Release.Version
	if id.Value == IdentityRelease {
		x.want = x.target.Release.ID
	}
	x.rep.Identity = IdentityResult{Path: id.Path, Source: x.source.String(), Want: x.want}
	x.rep.Checks = make([]CheckResult, len(x.spec.Checks))
	for i, c := range x.spec.Checks {
		x.rep.Checks[i] = CheckResult{Name: c.Name, Method: c.Method, Path: c.Path, Skipped: true, Error: "not run"}
	}
	if x.want == "" {
		return fmt.Errorf("smoke: the target release has no %s to prove identity with", id.Value)
	}
	ep, err := x.target.endpoint()
	if err != nil {
		return fmt.Errorf("smoke: target: %w", err)
	}
	x.ep = ep
	if x.target.Selector.Kind == SelectorHeader {
		for i, c := range x.spec.Checks {
			for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
				if strings.EqualFold(name, x.target.Selector.Name) {
					return fmt.Errorf("smoke: %w", fieldErr(fmt.Sprintf("%s.checks[%d].headers[%q]", FieldPrefix, i, name), "not allowed: it is the test route's header, which bgrender sets"))
				}
			}
		}
	}
	exps := make([]expectation, len(x.spec.Checks))
	for i, c := range x.spec.Checks {
		if exps[i], err = compileExpect(c.Expect); err != nil {
			return fmt.Errorf("smoke: %s.checks[%d].expect.bodyRegex: %w", FieldPrefix, i, err)
		}
	}

	x.client = x.r.client()
	x.parent = ctx
	var cancel context.CancelFunc
	x.ctx, cancel = context.WithTimeout(ctx, x.spec.Timeout.Duration)
	defer cancel()
	x.deadline = x.started.Add(x.spec.Timeout.Duration)

	if err := x.proveIdentity(); err != nil {
		x.skipFrom(0, "not run: "+err.Error())
		return err
	}
	var failed []error
	for i, c := range x.spec.Checks {
		err := x.check(i, c, exps[i])
		var cf *CheckFailedError
		if errors.As(err, &cf) {
			failed = append(failed, err)
			continue
		}
		if err != nil {
			x.skipFrom(i+1, "not run: "+err.Error())
			return errors.Join(append(failed, err)...)
		}
	}
	return errors.Join(failed...)
}

func (x *run) skipFrom(i int, why string) {
	for ; i < len(x.rep.Checks); i++ {
		x.rep.Checks[i].Error = why
	}
}

// outcome is the result of one attempt.
type outcome struct {
	status int
	got    string
	reason string             // why the attempt failed; "" when it passed
	wrong  *WrongReleaseError // another release answered
}

// step is one identity proof or check, attempted until it passes.
type step struct {
	name       string
	identity   bool
	attempts   int
	timeout    time.Duration
	retryWrong bool
	// once makes one attempt, within timeout (ctx's deadline).
	once func(ctx context.Context, timeout time.Duration) outcome
	// record is called after every attempt with the totals so far.
	record func(attempts int, o outcome, elapsed time.Duration)
}

func (x *run) do(s step) error {
	start := x.r.now()
	var sawWrong *WrongReleaseError
	emit := func(e Event) {
		e.Step, e.Identity, e.MaxAttempts = s.name, s.identity, s.attempts
		e.Elapsed = x.r.now().Sub(x.started)
		x.r.progress(e)
	}
	// stop ends the step without a pass after attempts (time ran out or
	// ctx was cancelled).
	stop := func(attempts int, o outcome) error {
		if attempts == 0 {
			o.reason = "time ran out before the first attempt"
			s.record(0, o, 0)
		}
		emit(Event{Kind: EventDone, Attempt: attempts, Status: o.status, Got: o.got, Reason: o.reason})
		if err := x.parent.Err(); err != nil {
			return fmt.Errorf("smoke checks interrupted: %w", err)
		}
		return errors.Join(x.timeout(s, attempts, o.reason), errorOrNil(sawWrong))
	}
	var last outcome
	for attempt := 1; ; attempt++ {
		remaining := x.deadline.Sub(x.r.now())
		if remaining <= 0 || x.ctx.Err() != nil {
			return stop(attempt-1, last)
		}
		timeout := min(s.timeout, remaining)
		ctx, cancel := context.WithTimeout(x.ctx, timeout)
		o := s.once(ctx, timeout)
		cancel()
		last = o
		s.record(attempt, o, x.r.now().Sub(start))
		if o.reason != "" && (x.ctx.Err() != nil || !x.r.now().Before(x.deadline)) {
			return stop(attempt, o)
		}
		emit(Event{Kind: EventAttempt, Attempt: attempt, Status: o.status, Got: o.got, Passed: o.reason == "", Reason: o.reason})
		if o.wrong != nil {
			sawWrong = o.wrong
			if !s.retryWrong {
				emit(Event{Kind: EventDone, Attempt: attempt, Status: o.status, Got: o.got, Reason: o.reason})
				return o.wrong
			}
		}
		if o.reason == "" {
			emit(Event{Kind: EventDone, Attempt: attempt, Status: o.status, Got: o.got, Passed: true})
			return nil
		}
		if attempt >= s.attempts {
			emit(Event{Kind: EventDone, Attempt: attempt, Status: o.status, Got: o.got, Reason: o.reason})
			if sawWrong != nil {
				return sawWrong
			}
			return &CheckFailedError{Check: s.name, Identity: s.identity, Attempts: attempt, Reason: o.reason}
		}
		wait := x.r.backoff(attempt)
		if !x.r.now().Add(wait).Before(x.deadline) {
			return stop(attempt, o)
		}
		emit(Event{Kind: EventRetry, Attempt: attempt, Backoff: wait})
		if err := x.r.sleep(x.ctx, wait); err != nil {
			if x.parent.Err() != nil || x.ctx.Err() != nil {
				return stop(attempt, o)
			}
			return fmt.Errorf("smoke: sleep before retry: %w", err)
		}
	}
}

// errorOrNil keeps a nil *WrongReleaseError from becoming a non-nil error.
func errorOrNil(e *WrongReleaseError) error {
	if e == nil {
		return nil
	}
	return e
}

func (x *run) timeout(s step, attempts int, last string) error {
	what := fmt.Sprintf("check %q", s.name)
	if s.identity {
		what = "the identity proof"
	}
	msg := fmt.Sprintf("%s: verify.timeout %s ran out during %s", ErrTimeout, x.spec.Timeout, what)
	if attempts > 0 {
		msg += " after " + plural(attempts, "attempt")
	}
	if last != "" {
		msg += "; last: " + last
	}
	return &timeoutError{msg: msg}
}

// timeoutError is returned when Spec.Timeout runs out; it is ErrTimeout.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string        { return e.msg }
func (e *timeoutError) Is(target error) bool { return target == ErrTimeout }

func (x *run) proveIdentity() error {
	id := x.spec.Identity
	res := &x.rep.Identity
	return x.do(step{
		name:       IdentityStep,
		identity:   true,
		attempts:   1 + *id.Retries,
		timeout:    id.Timeout.Duration,
		retryWrong: true,
		once: func(ctx context.Context, timeout time.Duration) outcome {
			resp, err := x.send(ctx, http.MethodGet, id.Path, nil, "", timeout < id.Timeout.Duration, timeout)
			if err != nil {
				return outcome{reason: err.Error()}
			}
			got, ok, why := x.source.find(resp)
			if !ok {
				return outcome{status: resp.status, reason: fmt.Sprintf("GET %s answered %d without the release's identity: %s%s", id.Path, resp.status, why, x.missingHint(resp.status))}
			}
			if got != x.want {
				w := x.wrong(got, "")
				return outcome{status: resp.status, got: got, reason: w.Error(), wrong: w}
			}
			return outcome{status: resp.status, got: got}
		},
		record: func(n int, o outcome, d time.Duration) {
			res.Attempts, res.Status, res.Got, res.Duration = n, o.status, o.got, D(d)
			res.Passed, res.Error = o.reason == "", o.reason
		},
	})
}

func (x *run) check(i int, c Check, exp expectation) error {
	res := &x.rep.Checks[i]
	res.Skipped, res.Error = false, ""
	return x.do(step{
		name:     c.Name,
		attempts: 1 + *c.Retries,
		timeout:  c.Timeout.Duration,
		once: func(ctx context.Context, timeout time.Duration) outcome {
			resp, err := x.send(ctx, c.Method, c.Path, c.Headers, c.Body, timeout < c.Timeout.Duration, timeout)
			if err != nil {
				return outcome{reason: err.Error()}
			}
			got, ok, _ := x.source.find(resp)
			if ok && got != x.want {
				w := x.wrong(got, c.Name)
				return outcome{status: resp.status, got: got, reason: w.Error(), wrong: w}
			}
			return outcome{status: resp.status, got: got, reason: exp.check(resp)}
		},
		record: func(n int, o outcome, d time.Duration) {
			res.Attempts, res.Status, res.Got, res.Duration = n, o.status, o.got, D(d)
			res.Passed, res.Error = o.reason == "", o.reason
		},
	})
}

func (x *run) wrong(got, check string) *WrongReleaseError {
	route := ""
	if !x.target.Selector.IsZero() {
		route = x.target.Selector.String()
	}
	return &WrongReleaseError{Want: x.want, Got: got, Kind: x.spec.Identity.Value, Color: x.target.Release.Color, Route: route, Check: check}
}

// missingHint explains a response without identity by what Envoy answers
// when it cannot route.
func (x *run) missingHint(status int) string {
	switch status {
	case http.StatusNotFound:
		return fmt.Sprintf(" (Envoy answers 404 when no route matches: is the VirtualService applied, and does it match host %q?)", x.ep.host)
	case http.StatusServiceUnavailable:
		color := "release's"
		if x.target.Release.Color != "" {
			color = string(x.target.Release.Color)
		}
		return fmt.Sprintf(" (Envoy answers 503 when no upstream is healthy: are the %s pods ready?)", color)
	}
	return ""
}

// send makes one request and reads up to maxBody of the response. timeout is
// ctx's, for messages; short says it was cut short by Spec.Timeout.
func (x *run) send(ctx context.Context, method, path string, headers map[string]string, body string, short bool, timeout time.Duration) (response, error) {
	u, err := x.ep.url(path)
	if err != nil {
		return response{}, err
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: build request: %w", method, path, err)
	}
	req.Host = x.ep.host
	req.Header.Set("User-Agent", "bgrender-smoke")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	x.target.Selector.apply(req.Header)
	resp, err := x.client.Do(req)
	if err != nil {
		return response{}, describe(ctx, method, path, short, timeout, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return response{}, describe(ctx, method, path, short, timeout, fmt.Errorf("read body: %w", err))
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func describe(ctx context.Context, method, path string, short bool, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why := "the per-attempt timeout"
		if short {
			why = "all that was left of verify.timeout"
		}
		return fmt.Errorf("%s %s: no response within %s (%s)", method, path, D(timeout), why)
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}

func (r *Runner) client() *http.Client {
	c := http.Client{Transport: httptransport.New()}
	if r.Client != nil {
		c = *r.Client
	}
	c.Jar = nil
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	return ctxsleep.Sleep(ctx, d)
}

func (r *Runner) progress(e Event) {
	if r.Progress != nil {
		r.Progress(e)
	}
}

// backoff is the wait before retry n (n >= 1).
func (r *Runner) backoff(n int) time.Duration {
	b, m := r.Backoff, r.MaxBackoff
	if b <= 0 {
		b = DefaultBackoff
	}
	if m <= 0 {
		m = DefaultMaxBackoff
	}
	for i := 1; i < n && b < m; i++ {
		b *= 2
	}
	return min(b, m)
}
