package config

import (
	"strings"
	"testing"
)

func TestNotifyConfig(t *testing.T) {
	base := "apiVersion: bgrender.io/v1alpha1\nkind: App\napp: shop\nimage: ghcr.io/acme/shop\n"
	good := base + `notify:
- {name: team, slack: {urlEnv: SLACK_WEBHOOK_URL}, events: [promoted, rolled-back, aborted]}
- {name: audit, webhook: {urlEnv: AUDIT_URL, secretEnv: AUDIT_SECRET}, required: true}
- {name: deployments, github: {repository: acme/env}}
`
	c, err := Parse("b.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notify) != 3 || c.Notify[0].Kind() != "slack" || c.Notify[1].Kind() != "webhook" || c.Notify[2].Kind() != "github" {
		t.Fatalf("notify: %+v", c.Notify)
	}
	if !c.Notify[0].Wants(EventRolledBack) || c.Notify[0].Wants(EventDeployed) || !c.Notify[1].Wants(EventDecommissioned) {
		t.Fatal("Wants: a target gets the events it picked, all when it picked none")
	}
	gh := c.Notify[2].WithDefaults(c.App).GitHub
	if gh.TokenEnv != "GITHUB_TOKEN" || gh.APIURL != DefaultGitHubAPI || gh.Environment != "shop" || gh.Ref != RefCommit {
		t.Fatalf("github defaults: %+v", gh)
	}
	out, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Parse("again.yaml", out); err != nil || len(again.Notify) != 3 || !again.Notify[1].Required {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
	for name, tc := range map[string]struct{ notify, want string }{
		"name":        {"- {name: Team, slack: {urlEnv: X}}", `notify[0].name "Team"`},
		"twice":       {"- {name: a, slack: {urlEnv: X}}\n- {name: a, slack: {urlEnv: Y}}", `notify[1].name "a"`},
		"none":        {"- {name: a}", "notify[0] (a): set exactly one of slack, webhook and github"},
		"two":         {"- {name: a, slack: {urlEnv: X}, github: {repository: a/b}}", "set exactly one"},
		"event":       {"- {name: a, slack: {urlEnv: X}, events: [switched]}", `notify[0].events[0] "switched": must be one of deployed, verified`},
		"url in git":  {"- {name: a, slack: {urlEnv: 'https://hooks.slack.com/services/T/B/x'}}", `notify[0].slack.urlEnv "https://hooks.slack.com/services/T/B/x": must name an environment variable`},
		"no secret":   {"- {name: a, webhook: {urlEnv: U}}", `notify[0].webhook.secretEnv "": must name an environment variable`},
		"repo":        {"- {name: a, github: {repository: acme}}", `notify[0].github.repository "acme": must be OWNER/NAME`},
		"http api":    {"- {name: a, github: {repository: a/b, apiURL: 'http://ghe.example.com/api/v3'}}", `notify[0].github.apiURL "http://ghe.example.com/api/v3": must be an https URL`},
		"creds":       {"- {name: a, github: {repository: a/b, apiURL: 'https://u:p@ghe.example.com'}}", "notify[0].github.apiURL"},
		"environment": {"- {name: a, github: {repository: a/b, environment: 'prod,eu'}}", `notify[0].github.environment "prod,eu"`},
		"ref":         {"- {name: a, github: {repository: a/b, ref: branch}}", `notify[0].github.ref "branch": must be commit or version`},
		"unknown":     {"- {name: a, slack: {urlEnv: X, url: 'https://x'}}", "url"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("b.yaml", []byte(base+"notify:\n"+tc.notify+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if !IsLoopback(host) {
			t.Errorf("IsLoopback(%q) = false", host)
		}
	}
	for _, host := range []string{"127.evil.example", "10.0.0.1", "example.com"} {
		if IsLoopback(host) {
			t.Errorf("IsLoopback(%q) = true", host)
		}
	}
}
