// Package notifytest runs stand-ins on loopback for the services bgrender
// notifies: a Slack incoming webhook, a generic webhook receiver and
// GitHub's Deployments API. Each checks every request against the
// documented shape of the real API (method, path, headers, a JSON body with
// no field missing, unknown or out of its limits), answers as the service
// does, fails the test on anything the service would refuse, and records
// what it accepted for the test to assert on.
//
// They stand in for the services' HTTP APIs only; nothing renders the
// Slack message or shows the GitHub environment.
package notifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/bgrender/bgrender/pkg/notify"
)

// Faults makes a stand-in fail requests before it answers them.
type Faults struct {
	mu sync.Mutex
	// Fail answers this many requests with Status (default 500).
	Fail   int
	Status int
	// RetryAfter is sent with each failure, in seconds (0: none).
	RetryAfter int
	// Requests counts every request, failed ones included.
	Requests int
}

// SetFail makes the next n requests fail with status.
func (f *Faults) SetFail(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Fail, f.Status = n, status
}

// Count is the number of requests so far.
func (f *Faults) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Requests
}

// fault answers the request with a failure when one is due.
func (f *Faults) fault(w http.ResponseWriter) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Requests++
	if f.Fail == 0 {
		return false
	}
	f.Fail--
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	http.Error(w, http.StatusText(status), status)
	return true
}

// decodeStrict decodes body into v, refusing a field v does not have.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

func readBody(t testing.TB, w http.ResponseWriter, r *http.Request, method string) ([]byte, bool) {
	t.Helper()
	if r.Method != method {
		t.Errorf("%s %s: want %s", r.Method, r.URL.Path, method)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read body: %v", err)
		return nil, false
	}
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		http.Error(w, "unsupported media type", http.StatusUnsupportedMediaType)
		return nil, false
	}
	if ua := r.Header.Get("User-Agent"); ua == "" || strings.HasPrefix(ua, "Go-http-client") {
		t.Errorf("%s %s: User-Agent %q, want bgrender's own", r.Method, r.URL.Path, ua)
	}
	return body, true
}

// Slack is a stand-in for a Slack incoming webhook.
type Slack struct {
	Faults
	// URL is the webhook URL, with its secret path.
	URL string
	// Path is the secret path it accepts.
	Path string

	t        testing.TB
	mu       sync.Mutex
	messages []notify.SlackMessage
}

// NewSlack starts a Slack webhook stand-in, stopped when the test ends.
func NewSlack(t testing.TB) *Slack {
	s := &Slack{t: t, Path: "/services/T0000TEST/B0000TEST/" + strings.Repeat("x", 24)}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + s.Path
	return s
}

// Messages are the messages accepted, in order.
func (s *Slack) Messages() []notify.SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

func (s *Slack) serve(w http.ResponseWriter, r *http.Request) {
	if s.fault(w) {
		return
	}
	if r.URL.Path != s.Path {
		// Slack's answer to a webhook that does not exist.
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	body, ok := readBody(s.t, w, r, http.MethodPost)
	if !ok {
		return
	}
	var m notify.SlackMessage
	if err := decodeStrict(body, &m); err != nil {
		s.t.Errorf("slack: body is not a message: %v\n%s", err, body)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if err := checkBlocks(m); err != nil {
		s.t.Errorf("slack: %v\n%s", err, body)
		http.Error(w, "invalid_blocks", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	io.WriteString(w, "ok")
}

// checkBlocks checks a message against Block Kit's rules for the blocks
// bgrender sends (header, section, context).
func checkBlocks(m notify.SlackMessage) error {
	if m.Text == "" {
		return fmt.Errorf("no fallback text: notifications would show nothing")
	}
	if len(m.Blocks) == 0 || len(m.Blocks) > 50 {
		return fmt.Errorf("%d blocks, want 1 to 50", len(m.Blocks))
	}
	text := func(where string, x *notify.SlackText, types []string, maxChars int) error {
		if x == nil {
			return fmt.Errorf("%s: no text", where)
		}
		if !slices.Contains(types, x.Type) {
			return fmt.Errorf("%s: text type %q, want one of %v", where, x.Type, types)
		}
		if n := utf8.RuneCountInString(x.Text); n == 0 || n > maxChars {
			return fmt.Errorf("%s: text of %d characters, want 1 to %d", where, n, maxChars)
		}
		if x.Emoji && x.Type != "plain_text" {
			return fmt.Errorf("%s: emoji is a plain_text field", where)
		}
		return nil
	}
	for i, b := range m.Blocks {
		where := fmt.Sprintf("blocks[%d] (%s)", i, b.Type)
		switch b.Type {
		case "header":
			if len(b.Fields) > 0 || len(b.Elements) > 0 {
				return fmt.Errorf("%s: a header has text only", where)
			}
			if err := text(where, b.Text, []string{"plain_text"}, 150); err != nil {
				return err
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				return fmt.Errorf("%s: a section needs text or fields", where)
			}
			if b.Text != nil {
				if err := text(where, b.Text, []string{"plain_text", "mrkdwn"}, 3000); err != nil {
					return err
				}
			}
			if len(b.Fields) > 10 || len(b.Elements) > 0 {
				return fmt.Errorf("%s: %d fields (at most 10), %d elements (none)", where, len(b.Fields), len(b.Elements))
			}
			for j := range b.Fields {
				if err := text(fmt.Sprintf("%s.fields[%d]", where, j), &b.Fields[j], []string{"plain_text", "mrkdwn"}, 2000); err != nil {
					return err
				}
			}
		case "context":
			if b.Text != nil || len(b.Fields) > 0 || len(b.Elements) == 0 || len(b.Elements) > 10 {
				return fmt.Errorf("%s: a context has 1 to 10 elements and nothing else", where)
			}
			for j := range b.Elements {
				if err := text(fmt.Sprintf("%s.elements[%d]", where, j), &b.Elements[j], []string{"plain_text", "mrkdwn"}, 3000); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%s: not a block type bgrender sends", where)
		}
	}
	return nil
}

// Webhook is a stand-in for a generic webhook receiver that checks the
// signature as a receiver must.
type Webhook struct {
	Faults
	URL    string
	Secret string

	t      testing.TB
	mu     sync.Mutex
	events []notify.Event
	ids    []string
}

// NewWebhook starts a receiver that checks signatures with secret.
func NewWebhook(t testing.TB, secret string) *Webhook {
	h := &Webhook{t: t, Secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/hooks/bgrender"
	return h
}

// Events are the events accepted, in order.
func (h *Webhook) Events() []notify.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// Types are the accepted events' types, in order.
func (h *Webhook) Types() []string {
	var out []string
	for _, ev := range h.Events() {
		out = append(out, ev.Type)
	}
	return out
}

func (h *Webhook) serve(w http.ResponseWriter, r *http.Request) {
	if h.fault(w) {
		return
	}
	body, ok := readBody(h.t, w, r, http.MethodPost)
	if !ok {
		return
	}
	if !notify.Verify([]byte(h.Secret), body, r.Header.Get(notify.HeaderSignature)) {
		h.t.Errorf("webhook: signature %q does not sign the body", r.Header.Get(notify.HeaderSignature))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev notify.Event
	if err := decodeStrict(body, &ev); err != nil {
		h.t.Errorf("webhook: body is not an event: %v\n%s", err, body)
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	if ev.Schema != notify.Schema || ev.ID == "" || ev.Time == "" || ev.App == "" || ev.Summary == "" {
		h.t.Errorf("webhook: event without schema, id, time, app or summary: %s", body)
	}
	if got := r.Header.Get(notify.HeaderEvent); got != ev.Type {
		h.t.Errorf("webhook: %s %q, body's type %q", notify.HeaderEvent, got, ev.Type)
	}
	if got := r.Header.Get(notify.HeaderDelivery); got != ev.ID {
		h.t.Errorf("webhook: %s %q, body's id %q", notify.HeaderDelivery, got, ev.ID)
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
