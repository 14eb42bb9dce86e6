package forge

import (
	"net/url"
	"strings"
)

// knownHosts maps the hosts of the public forges to their kind.
var knownHosts = map[string]Kind{
	"github.com":        GitHub,
	"www.github.com":    GitHub,
	"ssh.github.com":    GitHub, // SSH over port 443
	"gitlab.com":        GitLab,
	"www.gitlab.com":    GitLab,
	"altssh.gitlab.com": GitLab, // SSH over port 443
}

// FromRemote guesses the forge of a git remote URL: its kind, API base URL
// and repository path. It understands https://, http://, ssh://, git:// and
// scp-like (git@host:owner/name.git) remotes, strips a ".git" suffix and
// ignores any user name, password or token in the URL (they are never part
// of what it returns).
//
// ok is true only for github.com and gitlab.com with a repository path of the
// right shape (owner/name on GitHub, group/.../project on GitLab). For other
// hosts (GitHub Enterprise, self-managed GitLab, Gitea, Forgejo) kind and
// baseURL are empty and ok false, but repo is still the path, if it looks
// like one; the caller then needs --forge and --forge-url. Local paths and
// file:// URLs give nothing.
func FromRemote(remote string) (kind Kind, baseURL, repo string, ok bool) {
	host, path, isNetwork := splitRemote(strings.TrimSpace(remote))
	if !isNetwork {
		return "", "", "", false
	}
	repo = strings.Trim(path, "/")
	repo = strings.TrimSuffix(repo, ".git")
	repo = strings.Trim(repo, "/")
	segs := strings.Split(repo, "/")
	if len(segs) < 2 {
		return "", "", "", false
	}
	for _, s := range segs {
		if !repoSegment.MatchString(s) || s == "." || s == ".." {
			return "", "", "", false
		}
	}
	k, known := knownHosts[strings.ToLower(host)]
	if !known {
		return "", "", repo, false
	}
	if _, _, err := checkRepo(k, repo); err != nil {
		return "", "", repo, false
	}
	return k, DefaultBaseURL(k), repo, true
}

// splitRemote returns the host and path of a network remote; isNetwork is
// false for local paths, file:// URLs and anything unparsable.
func splitRemote(remote string) (host, path string, isNetwork bool) {
	if remote == "" {
		return "", "", false
	}
	if i := strings.Index(remote, "://"); i >= 0 {
		switch strings.ToLower(remote[:i]) {
		case "https", "http", "ssh", "git", "git+ssh", "ssh+git":
		default:
			return "", "", false
		}
		u, err := url.Parse(remote)
		if err != nil || u.Hostname() == "" {
			return "", "", false
		}
		// The escaped path: repository names need no escaping, so a %
		// means something else is going on.
		return u.Hostname(), u.EscapedPath(), true
	}
	// scp-like: [user@]host:path, where the part before the first colon has
	// no slash (else it is a local path such as ./a:b).
	colon := strings.Index(remote, ":")
	if colon <= 0 || strings.Contains(remote[:colon], "/") {
		return "", "", false
	}
	host = remote[:colon]
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	if host == "" || strings.ContainsAny(host, " \\[]") {
		return "", "", false
	}
	return host, remote[colon+1:], true
}
