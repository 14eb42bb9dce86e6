package release_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/notify"
	"github.com/bgrender/bgrender/pkg/notify/notifytest"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/state"
)

// notifyEnv is an app whose config notifies a webhook, GitHub Deployments
// and Slack, each a stand-in.
type notifyEnv struct {
	*engineEnv
	hook  *notifytest.Webhook
	gh    *notifytest.GitHub
	slack *notifytest.Slack
}

func newNotifyEnv(t *testing.T, required bool) *notifyEnv { return newNotifyEnvWith(t, required, nil) }

// newNotifyEnvWith is newNotifyEnv with the config changed by edit.
func newNotifyEnvWith(t *testing.T, required bool, edit func(*config.Config)) *notifyEnv {
	hook := notifytest.NewWebhook(t, "whsec-test")
	gh := notifytest.NewGitHub(t, "acme/env", "ghs_test")
	slack := notifytest.NewSlack(t)
	cfg := engineConfig("shop", "ghcr.io/acme/shop")
	max := 0.05
	cfg.Analysis = &config.Analysis{Prometheus: config.Prometheus{Address: "http://prometheus:9090"},
		Metrics:     []config.Metric{{Name: "error-ratio", Query: `x{color="{{.Color}}"}`, Max: &max}},
		AfterSwitch: &config.AfterSwitch{Count: 3}}
	cfg.Notify = []config.NotifyTarget{
		{Name: "audit", Webhook: &config.WebhookTarget{URLEnv: "HOOK_URL", SecretEnv: "HOOK_SECRET"}, Required: required},
		{Name: "deployments", GitHub: &config.GitHubTarget{Repository: "acme/env", APIURL: gh.URL}},
		{Name: "team", Slack: &config.SlackTarget{URLEnv: "SLACK_URL"}, Events: []string{config.EventRolledBack, config.EventAborted, config.EventFailed}},
	}
	if edit != nil {
		edit(&cfg)
	}
	env := newEngineEnvFor(t, cfg)
	vars := map[string]string{"HOOK_URL": hook.URL, "HOOK_SECRET": "whsec-test", "GITHUB_TOKEN": "ghs_test", "SLACK_URL": slack.URL,
		"DEAD_URL": "http://127.0.0.1:1/nothing-listens"}
	env.e.Notifier = &notify.Dispatcher{Getenv: func(k string) string { return vars[k] }, Sleep: func(context.Context, time.Duration) error { return nil }}
	env.e.Analyst = &phaseAnalyst{failLive: map[string]bool{"v2": true}}
	return &notifyEnv{engineEnv: env, hook: hook, gh: gh, slack: slack}
}

// TestReleaseNotifies: every transition of a release that lands is told to
// the targets that want it: a good release's deployed, verified and
// promoted, a bad one's rollback with the failing measurement; GitHub holds
// a deployment per release whose statuses follow it.
func TestReleaseNotifies(t *testing.T) {
	ctx := context.Background()
	env := newNotifyEnv(t, false)
	if sum, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v1"}}); err != nil || sum.Outcome != release.Released {
		t.Fatalf("v1: %s %v", sum.Outcome, err)
	}
	sum, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v2"}})
	if sum.Outcome != release.RolledBack {
		t.Fatalf("v2: %s %v", sum.Outcome, err)
	}
	want := []string{"deployed", "verified", "promoted", "deployed", "verified", "promoted", "rolled-back"}
	if got := env.hook.Types(); !slices.Equal(got, want) {
		t.Fatalf("webhook events %v, want %v", got, want)
	}
	evs := env.hook.Events()
	rb := evs[6]
	if rb.Release.Version != "v2" || rb.Live.Version != "v1" || !strings.Contains(rb.Reason, "error-ratio: 0.3 is above max 0.05") || rb.Commit != env.head() {
		t.Fatalf("rolled-back event %+v: want v2 rolled back to v1, the failing measurement, the rollback commit %s", rb, env.head())
	}
	if evs[5].Replaced == nil || evs[5].Replaced.Version != "v1" {
		t.Fatalf("events %+v", evs)
	}
	// The route commit between deploy and verify is no event; each event's
	// commit is on the remote.
	if evs[3].Commit != sum.Commits[0].Commit || evs[4].Commit != sum.Commits[2].Commit {
		t.Fatalf("events' commits %s %s, want the deploy's and the verify's", evs[3].Commit, evs[4].Commit)
	}
	one, ok1 := env.gh.Of(evs[0].Release.ID)
	two, ok2 := env.gh.Of(rb.Release.ID)
	if !ok1 || !ok2 || len(env.gh.Deployments()) != 2 {
		t.Fatalf("deployments %+v", env.gh.Deployments())
	}
	if want := []string{"in_progress", "in_progress", "success", "inactive", "success"}; !slices.Equal(one.States, want) {
		t.Errorf("v1's statuses %v, want %v", one.States, want)
	}
	if want := []string{"in_progress", "in_progress", "success", "failure"}; !slices.Equal(two.States, want) {
		t.Errorf("v2's statuses %v, want %v", two.States, want)
	}
	if one.Ref != evs[0].Commit || one.Environment != "shop" {
		t.Errorf("v1's deployment %+v: want the deploy commit, environment shop", one)
	}
	if msgs := env.slack.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Blocks[1].Text.Text, "rolled back from v2") {
		t.Errorf("slack, which wants rollbacks only: %+v", msgs)
	}
	last := sum.Commits[len(sum.Commits)-1]
	if len(last.Notifications) != 3 || !last.Notifications[0].OK || last.Notifications[2].Target != "team" {
		t.Errorf("the rollback's deliveries %+v", last.Notifications)
	}

	// An abort by hand carries its reason.
	if _, err := env.e.Deploy(ctx, state.DeployRequest{Version: "v3"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := env.e.Abort(ctx, release.Expect{}, true, "checkout fails for EU cards"); err != nil {
		t.Fatal(err)
	}
	evs = env.hook.Events()
	if ab := evs[len(evs)-1]; ab.Type != "aborted" || ab.Release.Version != "v3" || ab.Reason != "checkout fails for EU cards" {
		t.Fatalf("abort event %+v", ab)
	}
	if !strings.Contains(gitopstest.Log(t, env.url, "main")[0].Message, "Cause: checkout fails for EU cards") {
		t.Error("the abort commit does not carry its reason")
	}
}

// TestNotificationFailures: a target that cannot be told is a warning and
// the release goes on; a required one that cannot be told fails the
// release (aborted before the switch), after the commit it is about has
// landed.
func TestNotificationFailures(t *testing.T) {
	ctx := context.Background()
	env := newNotifyEnv(t, false)
	env.hook.SetFail(1000, http.StatusServiceUnavailable)
	sum, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v1"}})
	if err != nil || sum.Outcome != release.Released {
		t.Fatalf("a failing webhook that is not required failed the release: %s %v", sum.Outcome, err)
	}
	d := sum.Commits[0].Notifications
	if len(d) != 2 || d[0].OK || d[0].Attempts != notify.DefaultAttempts || !strings.Contains(d[0].Error, "HTTP 503") || !d[1].OK {
		t.Fatalf("deploy's deliveries %+v", d)
	}

	env = newNotifyEnv(t, true)
	env.hook.SetFail(1000, http.StatusServiceUnavailable)
	sum, err = env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v1"}})
	if err == nil || sum.Outcome != release.Aborted || !strings.Contains(err.Error(), "is pushed and stands, but required notification failed: audit (deployed)") {
		t.Fatalf("a required webhook that fails: %s %v", sum.Outcome, err)
	}
	if names(sum.Commits) != "deploy,unroute,abort" && names(sum.Commits) != "deploy,abort" {
		t.Fatalf("commits %s: want the deploy, then its abort", names(sum.Commits))
	}
	if st := env.state(); st.Test != nil || st.Active != nil {
		t.Fatalf("state after the abort %+v", st)
	}
	// GitHub, told all along, holds the aborted deployment as failed.
	deps := env.gh.Deployments()
	if len(deps) != 1 || !slices.Equal(deps[0].States, []string{"in_progress", "failure"}) {
		t.Fatalf("deployments %+v", deps)
	}

	// A required target that cannot be told of the promote fails the
	// release after the switch: it rolls back.
	env = newNotifyEnvWith(t, false, func(c *config.Config) {
		c.Notify = append(c.Notify, config.NotifyTarget{Name: "change-log", Required: true, Events: []string{config.EventPromoted},
			Webhook: &config.WebhookTarget{URLEnv: "DEAD_URL", SecretEnv: "HOOK_SECRET"}})
		c.Analysis = nil
	})
	env.e.Notifier.(*notify.Dispatcher).Attempts = 1
	if _, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v1"}}); err == nil {
		t.Fatal("a first release whose required promote notification failed passed")
	}
	sum, err = env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v2"}})
	if sum.Outcome != release.RolledBack || !strings.Contains(err.Error(), "change-log (promoted)") || names(sum.Commits) != "deploy,route,verify,promote,rollback" {
		t.Fatalf("v2: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	if st := env.state(); st.Active.Version != "v1" {
		t.Fatalf("active %s after the rollback", st.Active.Version)
	}
}

// TestFailedReleaseNotifies: a first release that goes bad after the
// switch has nothing to roll back to; the targets hear it failed.
func TestFailedReleaseNotifies(t *testing.T) {
	env := newNotifyEnv(t, false)
	env.e.Analyst = &phaseAnalyst{failLive: map[string]bool{"v1": true}}
	sum, err := env.e.Release(context.Background(), release.ReleaseOptions{Request: state.DeployRequest{Version: "v1"}})
	if sum.Outcome != release.Failed || err == nil {
		t.Fatalf("%s %v", sum.Outcome, err)
	}
	evs := env.hook.Events()
	f := evs[len(evs)-1]
	if f.Type != "failed" || f.Release.Version != "v1" || !strings.Contains(f.Reason, "no previous release to roll back to") {
		t.Fatalf("last event %+v", f)
	}
	if len(sum.Notifications) != 3 || !sum.Notifications[2].OK {
		t.Fatalf("the failed release's deliveries %+v", sum.Notifications)
	}
	if msgs := env.slack.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "shop v1 failed") {
		t.Fatalf("slack: %+v", msgs)
	}
}
