package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// NotifyTarget is one place bgrender tells about a release: exactly one of
// Slack, Webhook and GitHub. Where it is and its credentials come from the
// environment, never from git.
type NotifyTarget struct {
	// Name names the target in warnings and errors.
	Name    string         `yaml:"name"`
	Slack   *SlackTarget   `yaml:"slack,omitempty"`
	Webhook *WebhookTarget `yaml:"webhook,omitempty"`
	GitHub  *GitHubTarget  `yaml:"github,omitempty"`
	// Events are the events it wants (empty: all of them).
	Events []string `yaml:"events,omitempty"`
	// Required makes a failed notification fail the command (after the
	// commit it is about has landed); otherwise it is a warning.
	Required bool `yaml:"required,omitempty"`
}

// SlackTarget is a Slack incoming webhook.
type SlackTarget struct {
	// URLEnv names the environment variable holding the webhook URL (the
	// URL is the credential).
	URLEnv string `yaml:"urlEnv"`
}

// WebhookTarget is a generic webhook: the JSON event, signed.
type WebhookTarget struct {
	// URLEnv names the environment variable holding the URL.
	URLEnv string `yaml:"urlEnv"`
	// SecretEnv names the environment variable holding the HMAC-SHA256
	// key the body is signed with (X-Bgrender-Signature-256).
	SecretEnv string `yaml:"secretEnv"`
}

// GitHubTarget records releases as GitHub Deployments.
type GitHubTarget struct {
	// Repository is owner/name of the repository the deployments belong
	// to, usually the env repo.
	Repository string `yaml:"repository"`
	// TokenEnv names the environment variable holding the token (default
	// GITHUB_TOKEN).
	TokenEnv string `yaml:"tokenEnv,omitempty"`
	// APIURL is the REST API's base URL (default https://api.github.com;
	// GitHub Enterprise: https://HOST/api/v3).
	APIURL string `yaml:"apiURL,omitempty"`
	// Environment is the deployments' environment (default: the app).
	Environment string `yaml:"environment,omitempty"`
	// Ref is what a deployment is of: commit (the default: the env repo's
	// commit that deployed it, which must be in Repository) or version
	// (the release's version, a tag of an app repository).
	Ref string `yaml:"ref,omitempty"`
}

// The events a target may want.
const (
	EventDeployed       = "deployed"
	EventVerified       = "verified"
	EventPromoted       = "promoted"
	EventRolledBack     = "rolled-back"
	EventAborted        = "aborted"
	EventDecommissioned = "decommissioned"
	// EventFailed is a release that failed with nothing to roll back to,
	// or whose rollback failed.
	EventFailed = "failed"
)

// Events are all the events, in the order of a release.
var Events = []string{EventDeployed, EventVerified, EventPromoted, EventRolledBack, EventAborted, EventDecommissioned, EventFailed}

// The refs of a GitHub deployment.
const (
	RefCommit  = "commit"
	RefVersion = "version"
)

// DefaultGitHubAPI is GitHub's REST API.
const DefaultGitHubAPI = "https://api.github.com"

var (
	targetName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	ghRepo     = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	// ghEnvironment is what GitHub allows in an environment's name.
	ghEnvironment = regexp.MustCompile(`^[^\x00-\x1f'"` + "`" + `,;\\/]{1,255}$`)
)

// Kind is the target's kind: slack, webhook or github.
func (t NotifyTarget) Kind() string {
	switch {
	case t.Slack != nil:
		return "slack"
	case t.Webhook != nil:
		return "webhook"
	default:
		return "github"
	}
}

// Wants reports whether the target wants event.
func (t NotifyTarget) Wants(event string) bool {
	return len(t.Events) == 0 || slices.Contains(t.Events, event)
}

// WithDefaults fills in what the user left out.
func (t NotifyTarget) WithDefaults(app string) NotifyTarget {
	if g := t.GitHub; g != nil {
		c := *g
		if c.TokenEnv == "" {
			c.TokenEnv = "GITHUB_TOKEN"
		}
		if c.APIURL == "" {
			c.APIURL = DefaultGitHubAPI
		}
		c.APIURL = strings.TrimSuffix(c.APIURL, "/")
		if c.Environment == "" {
			c.Environment = app
		}
		if c.Ref == "" {
			c.Ref = RefCommit
		}
		t.GitHub = &c
	}
	return t
}

// validateNotify checks the notify section, naming fields as in
// bgrender.yaml.
func validateNotify(targets []NotifyTarget) error {
	seen := map[string]bool{}
	for i, t := range targets {
		field := fmt.Sprintf("notify[%d]", i)
		if !targetName.MatchString(t.Name) || len(t.Name) > 63 || seen[t.Name] {
			return fmt.Errorf("%s.name %q: must be a unique lowercase name, e.g. team-slack", field, t.Name)
		}
		seen[t.Name] = true
		n := 0
		for _, set := range []bool{t.Slack != nil, t.Webhook != nil, t.GitHub != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s (%s): set exactly one of slack, webhook and github", field, t.Name)
		}
		for j, ev := range t.Events {
			if !slices.Contains(Events, ev) {
				return fmt.Errorf("%s.events[%d] %q: must be one of %s", field, j, ev, strings.Join(Events, ", "))
			}
		}
		if err := t.validateKind(field); err != nil {
			return err
		}
	}
	return nil
}

func (t NotifyTarget) validateKind(field string) error {
	env := func(name, v string) error {
		if !envName.MatchString(v) {
			return fmt.Errorf("%s.%s %q: must name an environment variable (the value is a credential and stays out of git)", field, name, v)
		}
		return nil
	}
	switch {
	case t.Slack != nil:
		return env("slack.urlEnv", t.Slack.URLEnv)
	case t.Webhook != nil:
		if err := env("webhook.urlEnv", t.Webhook.URLEnv); err != nil {
			return err
		}
		return env("webhook.secretEnv", t.Webhook.SecretEnv)
	}
	g := t.GitHub
	if !ghRepo.MatchString(g.Repository) {
		return fmt.Errorf("%s.github.repository %q: must be OWNER/NAME", field, g.Repository)
	}
	if g.TokenEnv != "" {
		if err := env("github.tokenEnv", g.TokenEnv); err != nil {
			return err
		}
	}
	if g.APIURL != "" {
		u, err := url.Parse(g.APIURL)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || !(u.Scheme == "https" || (u.Scheme == "http" && IsLoopback(u.Hostname()))) {
			return fmt.Errorf("%s.github.apiURL %q: must be an https URL without credentials, e.g. %s", field, g.APIURL, DefaultGitHubAPI)
		}
	}
	if g.Environment != "" && !ghEnvironment.MatchString(g.Environment) {
		return fmt.Errorf("%s.github.environment %q: must be a GitHub environment name (up to 255 characters, no quotes, commas, semicolons or slashes)", field, g.Environment)
	}
	switch g.Ref {
	case "", RefCommit, RefVersion:
	default:
		return fmt.Errorf("%s.github.ref %q: must be commit or version", field, g.Ref)
	}
	return nil
}

// IsLoopback reports whether host names this machine: a token may go
// there over plain http.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CredentialRoute is a credential from the environment that bgrender sends
// to a server named in bgrender.yaml: whoever can change the file can
// change where it goes.
type CredentialRoute struct {
	// Field is where in bgrender.yaml, e.g. notify[2].github.
	Field string
	// Env is the environment variable holding the credential.
	Env string
	// To is the server it is sent to.
	To string
}

// Key identifies the route by what goes where, whatever the field.
func (r CredentialRoute) Key() string { return r.Env + "\x00" + r.To }

// CredentialRoutes are the app's credential routes but the Argo CD token's
// (Wait.TokenTarget): Prometheus's headers and GitHub's token. The URLs of
// Slack and webhook targets come from the environment themselves.
func (c Config) CredentialRoutes() []CredentialRoute {
	var out []CredentialRoute
	if a := c.Analysis; a != nil {
		for i, h := range a.Prometheus.Headers {
			out = append(out, CredentialRoute{Field: fmt.Sprintf("analysis.prometheus.headers[%d]", i), Env: h.Env, To: a.Prometheus.Address})
		}
	}
	for i, t := range c.Notify {
		if t.GitHub != nil {
			g := t.WithDefaults(c.App).GitHub
			out = append(out, CredentialRoute{Field: fmt.Sprintf("notify[%d].github", i), Env: g.TokenEnv, To: g.APIURL})
		}
	}
	return out
}
