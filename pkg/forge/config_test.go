package forge

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestParseKind(t *testing.T) {
	tests := []struct {
		in      string
		want    Kind
		wantErr string
	}{
		{"github", GitHub, ""},
		{"GitLab", GitLab, ""},
		{" gitea ", Gitea, ""},
		{"forgejo", Gitea, ""},
		{"", "", "--forge is empty: valid values are github, gitlab, gitea"},
		{"bitbucket", "", `--forge "bitbucket": unknown forge: valid values are github, gitlab, gitea (also for Forgejo)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseKind(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKind(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseKind(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	ok := func(k Kind, base, repo string) Config {
		return Config{Kind: k, BaseURL: base, Repo: repo, Token: testToken}
	}
	tests := []struct {
		name  string
		cfg   Config
		field string // "" for a valid Config
		want  string
	}{
		{"github defaults", ok(GitHub, "", "acme/env"), "", ""},
		{"github enterprise", ok(GitHub, "https://ghe.example/api/v3/", "acme/env"), "", ""},
		{"gitlab subgroups", ok(GitLab, "", "group/sub/env"), "", ""},
		{"gitlab numeric id", ok(GitLab, "https://gitlab.example/api/v4", "42"), "", ""},
		{"gitea", ok(Gitea, "http://gitea.internal:3000/api/v1", "acme/env"), "", ""},
		{"no kind", ok("", "", "acme/env"), "--forge", "no forge given"},
		{"unknown kind", ok("svn", "", "acme/env"), "--forge", `unknown forge "svn"`},
		{"gitea without url", ok(Gitea, "", "acme/env"), "--forge-url", "required for gitea"},
		{"ftp url", ok(GitHub, "ftp://ghe.example/api/v3", "acme/env"), "--forge-url", `scheme "ftp"`},
		{"url without scheme", ok(Gitea, "gitea.example/api/v1", "acme/env"), "--forge-url", `scheme ""`},
		{"url with credentials", ok(Gitea, "https://bob:hunter2@gitea.example/api/v1", "acme/env"), "--forge-url", "must not contain credentials"},
		{"url with query", ok(GitLab, "https://gitlab.example/api/v4?private_token=x", "g/p"), "--forge-url", "without query"},
		{"url without host", ok(GitLab, "https:///api/v4", "g/p"), "--forge-url", "no host"},
		{"unparsable url", ok(GitLab, "https://bob:hunter2@[::1/api", "g/p"), "--forge-url", "not a valid URL"},
		{"no repo", ok(GitHub, "", ""), "--forge-repo", "required: the repository as owner/name"},
		{"repo without owner", ok(GitHub, "", "env"), "--forge-repo", `"env": want owner/name`},
		{"github repo with group", ok(GitHub, "", "acme/sub/env"), "--forge-repo", "want owner/name"},
		{"gitea repo with group", ok(Gitea, "https://g.example/api/v1", "acme/sub/env"), "--forge-repo", "want owner/name"},
		{"repo empty segment", ok(GitHub, "", "acme//env"), "--forge-repo", "is not a repository path"},
		{"repo with URL", ok(GitHub, "", "https://github.com/acme/env"), "--forge-repo", "is not a repository path"},
		{"repo dotdot", ok(GitLab, "", "group/../env"), "--forge-repo", "is not a repository path"},
		{"gitlab single segment", ok(GitLab, "", "env"), "--forge-repo", "full project path"},
		{"no token", Config{Kind: GitLab, Repo: "g/p"}, "forge token", "missing: set BGRENDER_FORGE_TOKEN or GITLAB_TOKEN"},
		{"no token github", Config{Kind: GitHub, Repo: "a/b"}, "forge token", "BGRENDER_FORGE_TOKEN or GITHUB_TOKEN"},
		{"no token gitea", Config{Kind: Gitea, BaseURL: "https://g.example/api/v1", Repo: "a/b"}, "forge token", "BGRENDER_FORGE_TOKEN or GITEA_TOKEN"},
		{"token with newline", Config{Kind: GitHub, Repo: "a/b", Token: testToken + "\n"}, "forge token", "whitespace or control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.field == "" {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Fatalf("New error = %v, want a *ConfigError for %s", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error %q, want it to start with %q and contain %q", err, tt.field, tt.want)
			}
			for _, secret := range []string{"hunter2", testToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error holds a secret: %s", err)
				}
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{Kind: GitLab, Repo: "g/p", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if c.base.String() != "https://gitlab.com/api/v4" || c.http.Timeout != defaultTimeout || c.http.CheckRedirect == nil {
		t.Errorf("base %s, timeout %v, redirect policy set %v", c.base, c.http.Timeout, c.http.CheckRedirect != nil)
	}
	own := &http.Client{Timeout: 3 * defaultTimeout}
	c, err = New(Config{Kind: GitHub, Repo: "a/b", Token: testToken, HTTP: own})
	if err != nil {
		t.Fatal(err)
	}
	if c.base.String() != "https://api.github.com" || c.http.Timeout != 3*defaultTimeout || c.http == own {
		t.Errorf("base %s, timeout %v, same client %v", c.base, c.http.Timeout, c.http == own)
	}
}

func TestTokenFromEnv(t *testing.T) {
	env := map[string]string{"GITHUB_TOKEN": "gh", "GITLAB_TOKEN": "gl"}
	getenv := func(k string) string { return env[k] }
	if tok, name := TokenFromEnv(GitHub, getenv); tok != "gh" || name != "GITHUB_TOKEN" {
		t.Errorf("github: %q from %q", tok, name)
	}
	if tok, name := TokenFromEnv(Gitea, getenv); tok != "" || name != "" {
		t.Errorf("gitea: %q from %q, want nothing", tok, name)
	}
	env[TokenEnv] = "own"
	if tok, name := TokenFromEnv(GitLab, getenv); tok != "own" || name != "BGRENDER_FORGE_TOKEN" {
		t.Errorf("gitlab: %q from %q, want BGRENDER_FORGE_TOKEN first", tok, name)
	}
}

func TestFromRemote(t *testing.T) {
	tests := []struct {
		remote   string
		kind     Kind
		baseURL  string
		repo     string
		ok       bool
		noSecret string // must not appear in any result
	}{
		{"https://github.com/acme/env.git", GitHub, "https://api.github.com", "acme/env", true, ""},
		{"https://github.com/acme/env", GitHub, "https://api.github.com", "acme/env", true, ""},
		{"https://GitHub.com/acme/env.git/", GitHub, "https://api.github.com", "acme/env", true, ""},
		{"git@github.com:acme/env.git", GitHub, "https://api.github.com", "acme/env", true, ""},
		{"github.com:acme/env", GitHub, "https://api.github.com", "acme/env", true, ""},
		{"ssh://git@github.com/acme/env.git", GitHub, "https://api.github.com", "acme/env", true, ""},
		{"ssh://git@ssh.github.com:443/acme/env.git", GitHub, "https://api.github.com", "acme/env", true, ""},
		{"https://x-access-token:ghs_S3cretValue@github.com/acme/env.git", GitHub, "https://api.github.com", "acme/env", true, "ghs_S3cretValue"},
		{"https://ghp_OnlyTokenUser@github.com/acme/env", GitHub, "https://api.github.com", "acme/env", true, "ghp_OnlyTokenUser"},
		{"https://github.com/acme/sub/env.git", "", "", "acme/sub/env", false, ""},
		{"https://gitlab.com/group/sub/env.git", GitLab, "https://gitlab.com/api/v4", "group/sub/env", true, ""},
		{"git@gitlab.com:group/sub/deeper/env.git", GitLab, "https://gitlab.com/api/v4", "group/sub/deeper/env", true, ""},
		{"ssh://git@gitlab.com/group/sub/env.git", GitLab, "https://gitlab.com/api/v4", "group/sub/env", true, ""},
		{"https://oauth2:glpat-Hidden123@gitlab.com/group/env.git", GitLab, "https://gitlab.com/api/v4", "group/env", true, "glpat-Hidden123"},
		{"https://gitea.example.com/acme/env.git", "", "", "acme/env", false, ""},
		{"https://bob:pa55word@gitea.example.com/acme/env.git", "", "", "acme/env", false, "pa55word"},
		{"git@gitlab.internal:platform/env.git", "", "", "platform/env", false, ""},
		{"ssh://git@ghe.corp:2222/acme/env.git", "", "", "acme/env", false, ""},
		{"https://github.com/acme", "", "", "", false, ""},
		{"https://github.com/acme/env%2Fx", "", "", "", false, ""},
		{"/srv/git/env.git", "", "", "", false, ""},
		{"./relative:path/env", "", "", "", false, ""},
		{"file:///srv/git/env.git", "", "", "", false, ""},
		{"", "", "", "", false, ""},
		{"https://user:p@ss/word@github.com/acme/env", "", "", "", false, "word"},
		{"user:secretpw@github.com:acme/env", "", "", "", false, "secretpw"},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			kind, base, repo, ok := FromRemote(tt.remote)
			if kind != tt.kind || base != tt.baseURL || repo != tt.repo || ok != tt.ok {
				t.Errorf("FromRemote(%q) = %q, %q, %q, %v; want %q, %q, %q, %v",
					tt.remote, kind, base, repo, ok, tt.kind, tt.baseURL, tt.repo, tt.ok)
			}
			if tt.noSecret != "" && strings.Contains(string(kind)+base+repo, tt.noSecret) {
				t.Errorf("FromRemote(%q) leaks %q", tt.remote, tt.noSecret)
			}
			if ok {
				if _, err := New(Config{Kind: kind, BaseURL: base, Repo: repo, Token: "t"}); err != nil {
					t.Errorf("New with FromRemote's answer: %v", err)
				}
			}
		})
	}
}

func TestForgeMessage(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"github exists", `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:x."}],"documentation_url":"https://docs.github.com/rest"}`,
			"Validation Failed; A pull request already exists for acme:x."},
		{"github field error", `{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"base","code":"invalid"}]}`, "Validation Failed; base invalid"},
		{"gitlab string", `{"message":"401 Unauthorized"}`, "401 Unauthorized"},
		{"gitlab list", `{"message":["Another open merge request already exists for this source branch: !7"]}`, "Another open merge request already exists for this source branch: !7"},
		{"gitlab object", `{"message":{"title":["is too long"],"description":["bad","worse"]}}`, "description: bad; worse; title: is too long"},
		{"gitlab error", `{"error":"target_branch is missing"}`, "target_branch is missing"},
		{"gitea", `{"message":"pull request already exists for these targets [id: 5]","url":"https://g/api/swagger"}`, "pull request already exists for these targets [id: 5]"},
		{"gitea errors", `{"errors":["branch does not exist"],"message":"The target couldn't be found.","url":"u"}`, "The target couldn't be found.; branch does not exist"},
		{"html", "<!DOCTYPE html><html>Sign in</html>", "(an HTML page, not the API's JSON)"},
		{"text", "upstream connect error\r\nor disconnect\x00", "upstream connect error or disconnect"},
		{"empty", "  ", ""},
		{"json array", `["a"]`, `["a"]`},
		{"long", `{"message":"` + strings.Repeat("é", 600) + `"}`, strings.Repeat("é", maxMessage) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := forgeMessage([]byte(tt.body)); got != tt.want {
				t.Errorf("forgeMessage(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}
