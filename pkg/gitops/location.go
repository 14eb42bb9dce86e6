package gitops

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// redactedMark stands in for a secret in Location and in error messages.
const redactedMark = "xxxxx"

// Auth holds credentials for a remote. The zero value means none: go-git then
// uses credentials embedded in an HTTPS URL, or the SSH agent for SSH URLs.
type Auth struct {
	// Username and Token are HTTPS basic/token credentials. Username defaults
	// to "git" when only Token is set.
	Username, Token string
	// SSHKeyFile (a PEM private key) and its passphrase authenticate SSH URLs.
	SSHKeyFile, SSHKeyPassphrase string
	// KnownHosts are the known_hosts files that verify an SSH server with
	// SSHKeyFile (empty: go-git's, $SSH_KNOWN_HOSTS of the process, else
	// ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts).
	KnownHosts []string
}

type locKind int

const (
	kindLocal   locKind = iota // a path on this machine: a checkout or a bare repo
	kindFileURL                // file://path: a repo on this machine reached as a remote
	kindNetURL                 // anything go-git reaches over the network (https, ssh, git)
)

// location is a parsed Options.Repo (or a remote's URL).
type location struct {
	raw     string // as given; may hold credentials, never shown
	display string // safe to print
	kind    locKind
	path    string // filesystem path for kindLocal and kindFileURL
	scheme  string // "http", "https", "ssh", "git", "file"; "ssh" for scp-like
	user    string // the URL's user, if any
	secrets []string
}

var (
	schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)
	scpRE    = regexp.MustCompile(`^(?:([^@/]+)@)?([^:/\s]+):(.*)$`)
)

// parseLocation classifies s as a local path, a file:// URL or a network URL
// (scheme://... or scp-like user@host:path), and computes its redacted form.
func parseLocation(s string) (location, error) {
	if strings.TrimSpace(s) == "" {
		return location{}, fmt.Errorf("repository location is empty")
	}
	if schemeRE.MatchString(s) {
		return parseURL(s)
	}
	if m := scpRE.FindStringSubmatch(s); m != nil && !isWindowsDrive(s) {
		return location{raw: s, display: s, kind: kindNetURL, scheme: "ssh", user: m[1]}, nil
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return location{}, fmt.Errorf("resolve repository path %q: %w", s, err)
	}
	return location{raw: s, display: s, kind: kindLocal, path: abs}, nil
}

func isWindowsDrive(s string) bool {
	return len(s) >= 2 && s[1] == ':' && (s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z') && filepath.Separator == '\\'
}

func parseURL(s string) (location, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse quotes the input in its error: do not let it through.
		return location{}, fmt.Errorf("parse repository URL %q: malformed URL", redactRaw(s))
	}
	l := location{raw: s, scheme: strings.ToLower(u.Scheme)}
	if u.User != nil {
		l.user = u.User.Username()
		ru := *u
		if pw, ok := u.User.Password(); ok {
			l.secrets = append(l.secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
			ru.User = url.UserPassword(l.user, redactedMark)
		} else if l.scheme == "http" || l.scheme == "https" {
			// A lone HTTPS user name is often a token.
			l.secrets = append(l.secrets, l.user, url.QueryEscape(l.user), url.PathEscape(l.user))
			ru.User = url.User(redactedMark)
		}
		l.display = ru.String()
	} else {
		l.display = s
	}
	if l.scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return location{}, fmt.Errorf("repository URL %s: file URLs must not name a host", l.display)
		}
		l.kind = kindFileURL
		l.path = filepath.FromSlash(u.Path)
		if l.path == "" {
			return location{}, fmt.Errorf("repository URL %s: no path", l.display)
		}
		return l, nil
	}
	l.kind = kindNetURL
	return l, nil
}

// IsRemote reports whether repo, as Options.Repo takes it, is reached as a
// remote: a URL of any scheme (file:// included: it is cloned into memory)
// or scp-like [user@]host:path. Anything else is a path on this machine.
// It is the rule Open follows; callers ask it rather than guess.
func IsRemote(repo string) bool {
	l, err := parseLocation(repo)
	return err == nil && l.kind != kindLocal
}

// Redacted returns repo as it is safe to show: a URL's userinfo blanked.
func Redacted(repo string) string {
	if l, err := parseLocation(repo); err == nil {
		return l.display
	}
	return redactRaw(repo)
}

// WithoutCredentials returns repo with a URL's userinfo removed, for a
// command line that someone else runs with their own credentials (from the
// environment). scp-like locations keep their user, which is no secret.
func WithoutCredentials(repo string) string {
	i, j, ok := userinfoSpan(repo)
	if !ok {
		return repo
	}
	return repo[:i] + repo[j+1:]
}

// userinfoSpan finds the userinfo of something shaped like a URL:
// s[i:j] is it, and s[j] is the '@' after it.
func userinfoSpan(s string) (i, j int, ok bool) {
	k := strings.Index(s, "://")
	if k < 0 {
		return 0, 0, false
	}
	rest := s[k+3:]
	at := strings.LastIndex(rest, "@")
	slash := strings.Index(rest, "/")
	if at < 0 || (slash >= 0 && slash < at) {
		return 0, 0, false
	}
	return k + 3, k + 3 + at, true
}

// redactRaw blanks the userinfo of something that looks like a URL but did
// not parse.
func redactRaw(s string) string {
	i, j, ok := userinfoSpan(s)
	if !ok {
		return s
	}
	return s[:i] + redactedMark + s[j:]
}

// authMethod turns Auth into go-git's transport auth for this location.
func (l location) authMethod(a Auth) (transport.AuthMethod, error) {
	switch l.scheme {
	case "http", "https":
		if a.Token == "" {
			// A user name alone authenticates nothing; credentials in the
			// URL, if any, are used instead.
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = "git"
		}
		return &githttp.BasicAuth{Username: user, Password: a.Token}, nil
	case "ssh":
		if a.SSHKeyFile == "" {
			return nil, nil
		}
		user := l.user
		if user == "" {
			user = a.Username
		}
		if user == "" {
			user = "git"
		}
		pk, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, a.SSHKeyPassphrase)
		if err != nil {
			return nil, fmt.Errorf("load SSH key %s: %w", a.SSHKeyFile, redact(err, []string{a.SSHKeyPassphrase}))
		}
		if len(a.KnownHosts) > 0 {
			cb, err := gitssh.NewKnownHostsCallback(a.KnownHosts...)
			if err != nil {
				return nil, fmt.Errorf("known_hosts %s: %w", strings.Join(a.KnownHosts, ", "), err)
			}
			pk.HostKeyCallback = cb
		}
		return pk, nil
	default:
		return nil, nil
	}
}

// secretsWith returns the location's secrets plus those in a.
func (l location) secretsWith(a Auth) []string {
	s := append([]string(nil), l.secrets...)
	if a.Token != "" {
		s = append(s, a.Token)
	}
	if a.SSHKeyPassphrase != "" {
		s = append(s, a.SSHKeyPassphrase)
	}
	return s
}
