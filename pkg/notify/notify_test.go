package notify_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/notify"
	"github.com/bgrender/bgrender/pkg/notify/notifytest"
)

var (
	v1 = &notify.Release{ID: "r-1111111111", Version: "v1", Color: "blue"}
	v2 = &notify.Release{ID: "r-2222222222", Version: "v2", Color: "green"}
)

func event(typ string, r, live, replaced *notify.Release, reason string) notify.Event {
	return notify.Event{
		Type: typ, Time: "2026-12-02T10:00:00Z", App: "shop", Namespace: "prod", Dir: "apps/shop",
		Release: r, Live: live, Replaced: replaced, Commit: strings.Repeat("ab", 20), Reason: reason,
	}.Finish()
}

// cycle is two releases: v1 goes live, v2 replaces it, fails after the
// switch and is rolled back, and is decommissioned.
func cycle() []notify.Event {
	return []notify.Event{
		event(config.EventDeployed, v1, nil, nil, ""),
		event(config.EventVerified, v1, nil, nil, ""),
		event(config.EventPromoted, v1, v1, nil, ""),
		event(config.EventDeployed, v2, v1, nil, ""),
		event(config.EventVerified, v2, v1, nil, ""),
		event(config.EventPromoted, v2, v2, v1, ""),
		event(config.EventRolledBack, v2, v1, nil, "analysis after the switch: error-rate = 0.31, above max 0.05 <at> 10:02"),
		event(config.EventDecommissioned, v2, v1, nil, ""),
	}
}

// noSleep records the waits instead of waiting.
type noSleep struct{ waits []time.Duration }

func (n *noSleep) sleep(_ context.Context, d time.Duration) error {
	n.waits = append(n.waits, d)
	return nil
}

func dispatcher(env map[string]string) (*notify.Dispatcher, *noSleep) {
	ns := &noSleep{}
	return &notify.Dispatcher{Getenv: func(k string) string { return env[k] }, Sleep: ns.sleep, UserAgent: "bgrender/test"}, ns
}

func appWith(targets ...config.NotifyTarget) config.Config {
	return config.Config{App: "shop", Namespace: "prod", Notify: targets}
}

func send(t *testing.T, d *notify.Dispatcher, cfg config.Config, evs ...notify.Event) []notify.Delivery {
	t.Helper()
	var out []notify.Delivery
	for _, ev := range evs {
		del, err := d.Notify(context.Background(), cfg, ev)
		if err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
		out = append(out, del...)
	}
	return out
}

func TestSlackBlockKit(t *testing.T) {
	slack := notifytest.NewSlack(t)
	d, _ := dispatcher(map[string]string{"SLACK_URL": slack.URL})
	cfg := appWith(config.NotifyTarget{Name: "team", Slack: &config.SlackTarget{URLEnv: "SLACK_URL"}, Events: []string{config.EventPromoted, config.EventRolledBack}})
	dels := send(t, d, cfg, cycle()...)
	if len(dels) != 3 {
		t.Fatalf("deliveries %+v: want the 3 events the target picked", dels)
	}
	for _, del := range dels {
		if !del.OK || del.Attempts != 1 || del.Target != "team" || del.Kind != "slack" {
			t.Fatalf("delivery %+v", del)
		}
	}
	msgs := slack.Messages()
	if len(msgs) != 3 {
		t.Fatalf("slack got %d messages", len(msgs))
	}
	rb := msgs[2]
	if head := rb.Blocks[0].Text.Text; !strings.Contains(head, "shop: rolled-back v2") {
		t.Fatalf("header %q", head)
	}
	sec := rb.Blocks[1].Text.Text
	if !strings.Contains(sec, "rolled back from v2 (green) to v1 (blue)") || !strings.Contains(sec, "above max 0.05 &lt;at&gt; 10:02") {
		t.Fatalf("section %q: want the summary and the reason, escaped for mrkdwn", sec)
	}
	if !strings.Contains(rb.Text, "rolled back") {
		t.Fatalf("fallback text %q", rb.Text)
	}

	// Block Kit's limits hold for a reason longer than a section allows.
	long := event(config.EventRolledBack, v2, v1, nil, strings.Repeat("é", 5000))
	send(t, d, cfg, long)
	if n := len(slack.Messages()); n != 4 {
		t.Fatalf("the long message was not accepted: %d", n)
	}
}

func TestWebhookSignedEvent(t *testing.T) {
	hook := notifytest.NewWebhook(t, "s3cret-key")
	d, _ := dispatcher(map[string]string{"HOOK_URL": hook.URL, "HOOK_SECRET": "s3cret-key"})
	cfg := appWith(config.NotifyTarget{Name: "audit", Webhook: &config.WebhookTarget{URLEnv: "HOOK_URL", SecretEnv: "HOOK_SECRET"}})
	send(t, d, cfg, cycle()...)
	want := []string{"deployed", "verified", "promoted", "deployed", "verified", "promoted", "rolled-back", "decommissioned"}
	if got := hook.Types(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	evs := hook.Events()
	rb := evs[6]
	if rb.Release.ID != v2.ID || rb.Live.ID != v1.ID || !strings.Contains(rb.Reason, "error-rate") || rb.Namespace != "prod" || rb.Dir != "apps/shop" {
		t.Fatalf("rolled-back event %+v", rb)
	}
	if evs[5].Replaced == nil || evs[5].Replaced.ID != v1.ID {
		t.Fatalf("promoted event does not name the release it replaced: %+v", evs[5])
	}
	ids := map[string]bool{}
	for _, ev := range evs {
		ids[ev.ID] = true
	}
	if len(ids) != len(evs) {
		t.Fatalf("event ids are not unique: %v", ids)
	}
	// What a receiver checks: the signature over the exact body, under the key.
	body := []byte(`{"type":"promoted"}`)
	sig := notify.Sign([]byte("k"), body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 || !notify.Verify([]byte("k"), body, sig) {
		t.Fatalf("signature %q", sig)
	}
	if notify.Verify([]byte("other"), body, sig) || notify.Verify([]byte("k"), []byte(`{"type":"aborted"}`), sig) {
		t.Fatal("a signature verified under another key or over another body")
	}
}

func TestGitHubDeployments(t *testing.T) {
	gh := notifytest.NewGitHub(t, "acme/env", "ghs_T0KEN")
	d, _ := dispatcher(map[string]string{"GH": "ghs_T0KEN"})
	cfg := appWith(config.NotifyTarget{Name: "deployments", GitHub: &config.GitHubTarget{Repository: "acme/env", TokenEnv: "GH", APIURL: gh.URL, Environment: "shop-prod"}})
	send(t, d, cfg, cycle()...)
	deps := gh.Deployments()
	if len(deps) != 2 {
		t.Fatalf("deployments %+v: want one per release", deps)
	}
	one, _ := gh.Of(v1.ID)
	two, _ := gh.Of(v2.ID)
	// v1: deployed, verified, promoted; inactive when v2 replaced it;
	// success again when v2 was rolled back to it.
	if want := []string{"in_progress", "in_progress", "success", "inactive", "success"}; !slices.Equal(one.States, want) {
		t.Fatalf("v1 states %v, want %v", one.States, want)
	}
	// v2: deployed, verified, promoted, failed (rolled back), inactive (decommissioned).
	if want := []string{"in_progress", "in_progress", "success", "failure", "inactive"}; !slices.Equal(two.States, want) {
		t.Fatalf("v2 states %v, want %v", two.States, want)
	}
	if one.Environment != "shop-prod" || one.Ref != strings.Repeat("ab", 20) || one.Payload.Version != "v1" || one.Payload.Color != "blue" {
		t.Fatalf("deployment %+v", one)
	}

	// A target added after a release was deployed makes its deployment
	// when it first hears of it; a decommission of one it never heard of
	// records nothing.
	gh2 := notifytest.NewGitHub(t, "acme/env", "ghs_T0KEN")
	cfg.Notify[0].GitHub.APIURL, cfg.Notify[0].GitHub.Environment, cfg.Notify[0].GitHub.Ref = gh2.URL, "", config.RefVersion
	send(t, d, cfg, event(config.EventDecommissioned, v1, v2, nil, ""), event(config.EventPromoted, v2, v2, v1, ""))
	deps = gh2.Deployments()
	if len(deps) != 1 || deps[0].Ref != "v2" || deps[0].Environment != "shop" || !slices.Equal(deps[0].States, []string{"success"}) {
		t.Fatalf("deployments %+v: want v2's alone, of ref v2 in environment shop", deps)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	slack := notifytest.NewSlack(t)
	d, ns := dispatcher(map[string]string{"SLACK_URL": slack.URL})
	cfg := appWith(config.NotifyTarget{Name: "team", Slack: &config.SlackTarget{URLEnv: "SLACK_URL"}})
	ev := event(config.EventPromoted, v1, v1, nil, "")

	slack.SetFail(100, http.StatusInternalServerError)
	dels, err := d.Notify(context.Background(), cfg, ev)
	if err != nil {
		t.Fatalf("a target that is not required failed the call: %v", err)
	}
	if len(dels) != 1 || dels[0].OK || dels[0].Attempts != notify.DefaultAttempts || !strings.Contains(dels[0].Error, "HTTP 500") || !strings.Contains(dels[0].Error, "after 3 attempts") {
		t.Fatalf("deliveries %+v", dels)
	}
	if slack.Count() != 3 || !slices.Equal(ns.waits, []time.Duration{time.Second, 2 * time.Second}) {
		t.Fatalf("%d requests, waits %v: want 3 requests, backing off 1s then 2s", slack.Count(), ns.waits)
	}

	// A 429 is retried after the Retry-After it asks for, bounded.
	slack.SetFail(1, http.StatusTooManyRequests)
	slack.RetryAfter = 3600
	ns.waits = nil
	dels, _ = d.Notify(context.Background(), cfg, ev)
	if !dels[0].OK || dels[0].Attempts != 2 || !slices.Equal(ns.waits, []time.Duration{10 * time.Second}) {
		t.Fatalf("after a 429: %+v, waits %v", dels, ns.waits)
	}

	// A 4xx but 429 is the service refusing the message: not retried.
	slack.SetFail(1, http.StatusBadRequest)
	before := slack.Count()
	dels, _ = d.Notify(context.Background(), cfg, ev)
	if dels[0].OK || dels[0].Attempts != 1 || slack.Count()-before != 1 {
		t.Fatalf("after a 400: %+v", dels)
	}
}

func TestRequiredTargetFails(t *testing.T) {
	hook := notifytest.NewWebhook(t, "k3y-k3y")
	slack := notifytest.NewSlack(t)
	d, _ := dispatcher(map[string]string{"HOOK_URL": hook.URL, "HOOK_SECRET": "k3y-k3y", "SLACK_URL": slack.URL})
	cfg := appWith(
		config.NotifyTarget{Name: "team", Slack: &config.SlackTarget{URLEnv: "SLACK_URL"}},
		config.NotifyTarget{Name: "audit", Required: true, Webhook: &config.WebhookTarget{URLEnv: "HOOK_URL", SecretEnv: "HOOK_SECRET"}},
	)
	slack.SetFail(100, http.StatusServiceUnavailable)
	hook.SetFail(100, http.StatusBadGateway)
	dels, err := d.Notify(context.Background(), cfg, event(config.EventAborted, v2, v1, nil, "smoke check /healthz: 503"))
	var req *notify.RequiredError
	if !errors.As(err, &req) || len(req.Failed) != 1 || req.Failed[0].Target != "audit" {
		t.Fatalf("err = %v: want the required target's failure alone", err)
	}
	if len(dels) != 2 || dels[0].OK || dels[1].OK || !dels[1].Required {
		t.Fatalf("deliveries %+v", dels)
	}
	if !strings.Contains(err.Error(), "audit (aborted): webhook: HTTP 502") {
		t.Fatalf("error %q", err)
	}
	// Once it answers, the required target is told and nothing fails.
	hook.SetFail(0, 0)
	if _, err := d.Notify(context.Background(), cfg, event(config.EventAborted, v2, v1, nil, "x")); err != nil {
		t.Fatal(err)
	}
	if got := hook.Types(); !slices.Equal(got, []string{"aborted"}) {
		t.Fatalf("events %v", got)
	}
}

// TestCredentialsNeverInOutput: the URL of a webhook (its credential), a
// signing key and a token appear in no delivery or error, whatever fails.
func TestCredentialsNeverInOutput(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close() // nothing listens there now: connection refused
	const path = "/services/T0SECRET/B0SECRET/xoxb-very-secret-path"
	gh := notifytest.NewGitHub(t, "acme/env", "ghs_RIGHT")
	env := map[string]string{
		"SLACK_URL": dead + path, "HOOK_URL": dead + "/hook?token=tok-in-the-query", "HOOK_SECRET": "signing-key-1",
		"GH": "ghs_WRONG_TOKEN_VALUE", "PLAIN": "http://hooks.example.com" + path,
	}
	d, _ := dispatcher(env)
	cfg := appWith(
		config.NotifyTarget{Name: "dead-slack", Slack: &config.SlackTarget{URLEnv: "SLACK_URL"}},
		config.NotifyTarget{Name: "dead-hook", Webhook: &config.WebhookTarget{URLEnv: "HOOK_URL", SecretEnv: "HOOK_SECRET"}},
		config.NotifyTarget{Name: "bad-token", GitHub: &config.GitHubTarget{Repository: "acme/env", TokenEnv: "GH", APIURL: gh.URL}},
		config.NotifyTarget{Name: "plain-http", Slack: &config.SlackTarget{URLEnv: "PLAIN"}},
		config.NotifyTarget{Name: "unset", Webhook: &config.WebhookTarget{URLEnv: "NOT_SET", SecretEnv: "HOOK_SECRET"}},
	)
	dels, err := d.Notify(context.Background(), cfg, event(config.EventDeployed, v1, nil, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"dead-slack": "connection refused", "dead-hook": "connection refused", "bad-token": "HTTP 401",
		"plain-http": "$PLAIN: must be an https URL", "unset": "$NOT_SET is empty",
	}
	for _, del := range dels {
		if del.OK || !strings.Contains(del.Error, want[del.Target]) {
			t.Errorf("%s: %q, want it to say %q", del.Target, del.Error, want[del.Target])
		}
		for _, secret := range []string{"T0SECRET", "xoxb-very-secret-path", "tok-in-the-query", "signing-key-1", "WRONG_TOKEN"} {
			if strings.Contains(del.Error, secret) {
				t.Errorf("%s: error %q shows a credential", del.Target, del.Error)
			}
		}
	}
	if len(dels) != len(want) {
		t.Fatalf("deliveries %+v", dels)
	}
}

func TestEventSummaries(t *testing.T) {
	for _, tc := range []struct {
		ev   notify.Event
		want string
	}{
		{event(config.EventDeployed, v2, v1, nil, ""), "shop v2 deployed into green, under test"},
		{event(config.EventPromoted, v2, v2, v1, ""), "shop v2 promoted: it takes all traffic; v1 (blue) stays warm"},
		{event(config.EventAborted, v2, v1, nil, "smoke check /: 503\nmore"), "shop v2 aborted before the switch: smoke check /: 503"},
		{event(config.EventFailed, v2, nil, nil, "no previous release"), "shop v2 failed: no previous release"},
	} {
		if tc.ev.Summary != tc.want {
			t.Errorf("%s: summary %q, want %q", tc.ev.Type, tc.ev.Summary, tc.want)
		}
	}
	a, b := event(config.EventDeployed, v2, nil, nil, ""), event(config.EventDeployed, v2, nil, nil, "")
	if a.ID != b.ID || a.ID == event(config.EventVerified, v2, nil, nil, "").ID {
		t.Fatal("an event's id is not stable, or not distinct across events")
	}
}

// TestRedirectsAreNotFollowed: a target that answers with a redirect is a
// failure naming it; nothing goes on to where it points (the URL, the
// signature and a token would).
func TestRedirectsAreNotFollowed(t *testing.T) {
	var followed atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Add(1) }))
	t.Cleanup(elsewhere.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	d, _ := dispatcher(map[string]string{"URL": redirect.URL + "/hook", "KEY": "k-k-k-k", "GH": "ghs_x"})
	cfg := appWith(
		config.NotifyTarget{Name: "hook", Webhook: &config.WebhookTarget{URLEnv: "URL", SecretEnv: "KEY"}},
		config.NotifyTarget{Name: "gh", GitHub: &config.GitHubTarget{Repository: "acme/env", TokenEnv: "GH", APIURL: redirect.URL}},
	)
	dels, _ := d.Notify(context.Background(), cfg, event(config.EventDeployed, v1, nil, nil, ""))
	for _, del := range dels {
		if del.OK || del.Attempts != 1 || !strings.Contains(del.Error, "HTTP 307, a redirect, which bgrender does not follow") {
			t.Errorf("%s: %+v", del.Target, del)
		}
	}
	if n := followed.Load(); n != 0 {
		t.Fatalf("%d requests followed the redirect", n)
	}
}
