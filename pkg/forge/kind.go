package forge

import (
	"fmt"
	"strings"
)

// Kind is the flavor of forge API: GitHub, GitLab or Gitea.
type Kind string

// The forges this package speaks to.
const (
	GitHub Kind = "github"
	GitLab Kind = "gitlab"
	// Gitea is Gitea's API, which Forgejo speaks too.
	Gitea Kind = "gitea"
)

// TokenEnv is the environment variable read for the token of any forge,
// before the forge's own (see TokenEnvVars).
const TokenEnv = "BGRENDER_FORGE_TOKEN"

// ParseKind parses the value of the --forge flag: "github", "gitlab",
// "gitea" or "forgejo" (which is Gitea), in any case.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "github":
		return GitHub, nil
	case "gitlab":
		return GitLab, nil
	case "gitea", "forgejo":
		return Gitea, nil
	case "":
		return "", fmt.Errorf("--forge is empty: valid values are github, gitlab, gitea (also for Forgejo)")
	}
	return "", fmt.Errorf("--forge %q: unknown forge: valid values are github, gitlab, gitea (also for Forgejo)", s)
}

func (k Kind) valid() bool {
	return k == GitHub || k == GitLab || k == Gitea
}

// DefaultBaseURL is the API base URL used when Config.BaseURL is empty:
// "https://api.github.com" for GitHub, "https://gitlab.com/api/v4" for
// GitLab, and "" for Gitea, which has no public default.
func DefaultBaseURL(k Kind) string {
	switch k {
	case GitHub:
		return "https://api.github.com"
	case GitLab:
		return "https://gitlab.com/api/v4"
	}
	return ""
}

// TokenEnvVars lists the environment variables that hold the token of a
// forge, in the order they are read: BGRENDER_FORGE_TOKEN, then GITHUB_TOKEN,
// GITLAB_TOKEN or GITEA_TOKEN.
func TokenEnvVars(k Kind) []string {
	switch k {
	case GitHub:
		return []string{TokenEnv, "GITHUB_TOKEN"}
	case GitLab:
		return []string{TokenEnv, "GITLAB_TOKEN"}
	case Gitea:
		return []string{TokenEnv, "GITEA_TOKEN"}
	}
	return []string{TokenEnv}
}

// TokenFromEnv returns the first non-empty variable of TokenEnvVars(k), as
// looked up by getenv (os.Getenv in the CLI), and its name. It returns two
// empty strings if none is set.
func TokenFromEnv(k Kind, getenv func(string) string) (token, name string) {
	for _, v := range TokenEnvVars(k) {
		if t := getenv(v); t != "" {
			return t, v
		}
	}
	return "", ""
}
