package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bgrender/bgrender/internal/ctxsleep"
	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/pkg/config"
)

// Delivery is how an event went to one target.
type Delivery struct {
	Target   string `json:"target"`
	Kind     string `json:"kind"`
	Event    string `json:"event"`
	Required bool   `json:"required,omitempty"`
	OK       bool   `json:"ok"`
	// Attempts counts the HTTP requests made, retries included.
	Attempts int `json:"attempts"`
	// Error says why it failed, with no URL or credential in it.
	Error string `json:"error,omitempty"`
}

// RequiredError is a required target that could not be told.
type RequiredError struct{ Failed []Delivery }

func (e *RequiredError) Error() string {
	var parts []string
	for _, d := range e.Failed {
		parts = append(parts, fmt.Sprintf("%s (%s): %s", d.Target, d.Event, d.Error))
	}
	return "required notification failed: " + strings.Join(parts, "; ")
}

// Defaults of a Dispatcher.
const (
	DefaultAttempts = 3
	// DefaultTimeout bounds one request.
	DefaultTimeout = 10 * time.Second
	// maxRetryAfter bounds the wait a server's Retry-After asks for.
	maxRetryAfter = 10 * time.Second
)

// Dispatcher sends events to an app's targets.
type Dispatcher struct {
	// Getenv reads the environment (the targets' URLs and credentials).
	Getenv func(string) string
	// Client sends the requests (nil: one of bgrender's own, with
	// DefaultTimeout per request).
	Client *http.Client
	// Attempts bounds the requests per call to a target's API, retries
	// included (0: DefaultAttempts); only a network error, a 5xx and a 429
	// are retried.
	Attempts int
	// Backoff is the wait before the first retry, doubled for each next
	// (0: one second).
	Backoff time.Duration
	// Sleep waits between attempts (nil: a timer that stops with ctx).
	Sleep func(context.Context, time.Duration) error
	// UserAgent is sent with every request (default "bgrender").
	UserAgent string

	once sync.Once
	own  *http.Client // made once when Client is nil: one transport, its connections reused
}

// Notify sends ev to each target of cfg that wants it, one after another,
// and says how each went. The error is a *RequiredError when a required
// target failed; other failures are only in the deliveries.
func (d *Dispatcher) Notify(ctx context.Context, cfg config.Config, ev Event) ([]Delivery, error) {
	var out, failed []Delivery
	for _, t := range cfg.Notify {
		if !t.Wants(ev.Type) {
			continue
		}
		t = t.WithDefaults(cfg.App)
		s := &session{d: d, hc: d.client(), secrets: d.secretsOf(t)}
		err := s.deliver(ctx, t, ev)
		del := Delivery{Target: t.Name, Kind: t.Kind(), Event: ev.Type, Required: t.Required, OK: err == nil, Attempts: s.attempts}
		if err != nil {
			del.Error = s.redact(err.Error())
			if t.Required {
				failed = append(failed, del)
			}
		}
		out = append(out, del)
	}
	if len(failed) > 0 {
		return out, &RequiredError{Failed: failed}
	}
	return out, nil
}

// secretsOf is every credential target t may send: they are redacted from
// anything it reports.
func (d *Dispatcher) secretsOf(t config.NotifyTarget) []string {
	var names []string
	switch {
	case t.Slack != nil:
		names = []string{t.Slack.URLEnv}
	case t.Webhook != nil:
		names = []string{t.Webhook.URLEnv, t.Webhook.SecretEnv}
	case t.GitHub != nil:
		names = []string{t.GitHub.TokenEnv}
	}
	var out []string
	for _, n := range names {
		if v := d.getenv(n); v != "" {
			out = append(out, v)
			if u, err := url.Parse(v); err == nil && u.Path != "" && u.Path != "/" {
				out = append(out, u.Path, strings.TrimPrefix(u.Path, "/"))
			}
		}
	}
	return out
}

func (d *Dispatcher) getenv(name string) string {
	if d.Getenv == nil || name == "" {
		return ""
	}
	return d.Getenv(name)
}

// session is the delivery of one event to one target.
type session struct {
	d        *Dispatcher
	hc       *http.Client
	secrets  []string
	attempts int
}

func (s *session) deliver(ctx context.Context, t config.NotifyTarget, ev Event) error {
	switch {
	case t.Slack != nil:
		u, err := s.endpoint(t.Slack.URLEnv, true)
		if err != nil {
			return err
		}
		return s.sendSlack(ctx, u, ev)
	case t.Webhook != nil:
		u, err := s.endpoint(t.Webhook.URLEnv, false)
		if err != nil {
			return err
		}
		key := s.d.getenv(t.Webhook.SecretEnv)
		if key == "" {
			return fmt.Errorf("$%s (webhook.secretEnv) is empty: set it to the key the receiver checks the signature with", t.Webhook.SecretEnv)
		}
		return s.sendWebhook(ctx, u, key, ev)
	default:
		token := s.d.getenv(t.GitHub.TokenEnv)
		if token == "" {
			return fmt.Errorf("$%s (github.tokenEnv) is empty: set it to a token that may write deployments of %s", t.GitHub.TokenEnv, t.GitHub.Repository)
		}
		return (&github{s: s, t: *t.GitHub, token: token}).send(ctx, ev)
	}
}

// endpoint reads a target's URL from the environment variable env. With
// secure it must be https (or http to this machine): the URL is the
// credential.
func (s *session) endpoint(env string, secure bool) (string, error) {
	v := s.d.getenv(env)
	if v == "" {
		return "", fmt.Errorf("$%s is empty: set it to the target's URL", env)
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("$%s: not an http(s) URL", env)
	}
	if secure && u.Scheme == "http" && !config.IsLoopback(u.Hostname()) {
		return "", fmt.Errorf("$%s: must be an https URL (the URL is the credential)", env)
	}
	return v, nil
}

func (s *session) redact(msg string) string {
	for _, v := range s.secrets {
		if len(v) >= 4 {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
		}
	}
	return msg
}

// request is one call to a target's API.
type request struct {
	method, url string
	header      http.Header
	body        []byte
}

// statusError is a response that was not a success.
type statusError struct {
	code       int
	body       string
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	if e.code >= 300 && e.code < 400 {
		return fmt.Sprintf("HTTP %d, a redirect, which bgrender does not follow: give the target's own URL", e.code)
	}
	if e.body == "" {
		return fmt.Sprintf("HTTP %d", e.code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.code, e.body)
}

func (e *statusError) retryable() bool { return e.code >= 500 || e.code == http.StatusTooManyRequests }

// do sends req, retrying a network error, a 5xx or a 429 up to the
// dispatcher's attempts, and returns the body of a 2xx answer.
func (s *session) do(ctx context.Context, req request) ([]byte, error) {
	attempts := s.d.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	backoff := s.d.Backoff
	if backoff <= 0 {
		backoff = time.Second
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			wait := backoff << (i - 1)
			var se *statusError
			if errors.As(last, &se) && se.retryAfter > 0 {
				wait = min(se.retryAfter, maxRetryAfter)
			}
			if err := s.sleep(ctx, wait); err != nil {
				return nil, errors.Join(last, err)
			}
		}
		s.attempts++
		body, err := s.once(ctx, req)
		if err == nil {
			return body, nil
		}
		last = err
		var se *statusError
		if ctx.Err() != nil || (errors.As(err, &se) && !se.retryable()) {
			break
		}
	}
	if s.attempts > 1 {
		return nil, fmt.Errorf("%w (after %d attempts)", last, s.attempts)
	}
	return nil, last
}

func (s *session) sleep(ctx context.Context, d time.Duration) error {
	if s.d.Sleep != nil {
		return s.d.Sleep(ctx, d)
	}
	return ctxsleep.Sleep(ctx, d)
}

func (s *session) once(ctx context.Context, req request) ([]byte, error) {
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return nil, errors.New("bad request URL")
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	ua := s.d.UserAgent
	if ua == "" {
		ua = "bgrender"
	}
	hr.Header.Set("User-Agent", ua)
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(hr)
	if err != nil {
		// A *url.Error names the URL, which may be the credential.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %w", req.method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: read the answer: %w", req.method, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &statusError{code: resp.StatusCode, body: shorten(string(data))}
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
			se.retryAfter = time.Duration(n) * time.Second
		}
		return nil, se
	}
	return data, nil
}

func (d *Dispatcher) client() *http.Client {
	if d.Client != nil {
		return d.Client
	}
	d.once.Do(func() { d.own = httptransport.Client(DefaultTimeout) })
	return d.own
}

// shorten is a server's answer as an error quotes it.
func shorten(s string) string { return clip(strings.TrimSpace(s), 200) }
