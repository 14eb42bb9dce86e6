package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/notify/notifytest"
)

// TestNotifyCLI: the transitions a person runs are told to the app's
// notify: targets, the outcome is printed (-o json: in each commit's
// notifications), a target that cannot be told is a warning, a required
// one an error after the commit is reported pushed, and no webhook URL,
// key or token is ever printed.
func TestNotifyCLI(t *testing.T) {
	t.Parallel()
	r := newReleaseEnv(t)
	r.opts = []func(*globals){noBackoff}
	const secret = "whsec-cli-test-key"
	hook := notifytest.NewWebhook(t, secret)
	slack := notifytest.NewSlack(t)
	setenv(t, "AUDIT_URL", hook.URL)
	setenv(t, "AUDIT_SECRET", secret)
	setenv(t, "SLACK_URL", slack.URL)
	cfg := strings.Replace(releaseConfig, "SERVER", r.argo.srv.URL, 1) + `notify:
- name: audit
  webhook: {urlEnv: AUDIT_URL, secretEnv: AUDIT_SECRET}
- name: team
  slack: {urlEnv: SLACK_URL}
  events: [promoted, rolled-back, aborted]
`
	gitopstest.Seed(t, r.url, "main", map[string]string{"apps/myapp/bgrender.yaml": cfg}, "notify the audit log and the team")

	_, sum := r.release(0, "--version", "v1")
	if sum.Outcome != outcomeReleased {
		t.Fatalf("v1: %s %s", sum.Outcome, sum.Error)
	}
	if n := sum.Commits[0].Notifications; len(n) != 1 || n[0].Target != "audit" || !n[0].OK {
		t.Fatalf("the deploy's notifications in -o json: %+v", n)
	}
	if n := sum.Commits[len(sum.Commits)-1].Notifications; len(n) != 2 || !n[1].OK || n[1].Target != "team" {
		t.Fatalf("the promote's notifications in -o json: %+v", n)
	}
	r.release(0, "--version", "v2")

	slack.SetFail(100, http.StatusInternalServerError)
	res := r.run(0, "rollback", "--reason", "p99 latency doubled")
	if !strings.Contains(res.stdout, "  notified: audit\n") || !strings.Contains(res.stdout, "  warning: could not notify team (slack) of rolled-back: slack: HTTP 500") {
		t.Fatalf("rollback output:\n%s", res.stdout)
	}
	evs := hook.Events()
	if rb := evs[len(evs)-1]; rb.Type != "rolled-back" || rb.Reason != "p99 latency doubled" || rb.Release.Version != "v2" || rb.Live.Version != "v1" {
		t.Fatalf("rolled-back event %+v", rb)
	}
	if !strings.Contains(r.log()[0].Message, "Cause: p99 latency doubled") {
		t.Errorf("the rollback commit does not carry its reason:\n%s", r.log()[0].Message)
	}
	var st statusOut
	decodeJSON(t, r.run(0, "-o", "json", "status").stdout, &st)
	if st.Active.Version != "v1" {
		t.Fatalf("after the rollback: %+v", st)
	}
	r.run(2, "abort", "--reason", "two\nlines")

	// A required target that cannot be told fails the command, after the
	// commit it is about is reported pushed.
	hook.SetFail(100, http.StatusBadGateway)
	gitopstest.Seed(t, r.url, "main", map[string]string{"apps/myapp/bgrender.yaml": strings.Replace(cfg, "secretEnv: AUDIT_SECRET}", "secretEnv: AUDIT_SECRET}\n  required: true", 1)}, "the audit log is required")
	before := len(hook.Events())
	res = r.run(1, "decommission")
	if !strings.Contains(res.stdout, "commit ") || !strings.Contains(res.stdout, " pushed") || !strings.Contains(res.stdout, "  error: could not notify audit (webhook) of decommissioned") {
		t.Fatalf("decommission with a failing required target, stdout:\n%s", res.stdout)
	}
	if !strings.Contains(res.stderr, "is pushed and stands, but required notification failed: audit (decommissioned): webhook: HTTP 502") {
		t.Fatalf("stderr:\n%s", res.stderr)
	}
	if trailerMap(r.log()[0])[trailerTransition] != "decommission" || len(hook.Events()) != before {
		t.Fatal("the decommission did not land, or the failing receiver got an event")
	}
	for _, out := range []string{res.stdout, res.stderr} {
		for _, s := range []string{secret, slack.Path, strings.TrimPrefix(hook.URL, "http://")} {
			if strings.Contains(out, s) {
				t.Fatalf("output shows a credential or URL %q:\n%s", s, out)
			}
		}
	}
	if got := hook.Types(); !slices.Contains(got, "verified") || !slices.Contains(got, "deployed") {
		t.Fatalf("audit events %v", got)
	}
}
