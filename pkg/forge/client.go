package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bgrender/bgrender/internal/httptransport"
)

const (
	// maxBody bounds every response body read.
	maxBody = 1 << 20
	// defaultTimeout is the timeout of the HTTP client made when Config.HTTP
	// is nil.
	defaultTimeout = 30 * time.Second
	userAgent      = "bgrender"
)

// Config says which forge to talk to and how.
type Config struct {
	Kind Kind
	// BaseURL is the API base URL. Empty: DefaultBaseURL(Kind) (GitHub
	// "https://api.github.com", GitLab "https://gitlab.com/api/v4"); required
	// for Gitea ("https://HOST/api/v1"). GitHub Enterprise:
	// "https://HOST/api/v3"; self-managed GitLab: "https://HOST/api/v4".
	BaseURL string
	// Repo is "owner/name"; on GitLab the full project path
	// "group/sub/project" (or the numeric project ID).
	Repo string
	// Token authenticates every request; see TokenEnvVars.
	Token string
	// HTTP is the client to use; nil: one with a 30 s timeout. Its redirect
	// policy is replaced: redirects are never followed.
	HTTP *http.Client
}

// Request is the pull request to open or update.
type Request struct {
	// Head is the branch with the changes, in the same repository.
	Head string
	// Base is the branch to merge into.
	Base  string
	Title string
	Body  string
}

// PR is an open pull request (merge request on GitLab).
type PR struct {
	// Number is the pull request's number in its repository (GitLab: the
	// merge request's IID, the N of !N).
	Number int
	// URL is the web page of the pull request, for humans.
	URL string
	// Created is true if OpenOrUpdate created the pull request, false if it
	// updated an open one for the same head and base.
	Created bool
}

// Client opens and updates pull requests in one repository of one forge.
// It is safe for concurrent use.
type Client struct {
	kind     Kind
	base     *url.URL
	basePath string // base's escaped path without trailing slash, e.g. "/api/v3"
	repo     string
	token    string
	http     *http.Client
	redact   redactor
	api      api
}

// api is one forge's three calls.
type api interface {
	// create opens a pull request. If the forge answers that one exists
	// already, it returns a zero PR, the forge's message, and no error.
	create(ctx context.Context, r Request) (pr PR, exists string, err error)
	// find returns the open pull request from r.Head into r.Base.
	find(ctx context.Context, r Request) (pr PR, found bool, err error)
	// update sets the title and body of pull request number.
	update(ctx context.Context, number int, r Request) (PR, error)
}

var (
	repoSegment = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	numericID   = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
)

// New validates c and returns a client. Errors are *ConfigError, naming the
// flag or setting at fault.
func New(c Config) (*Client, error) {
	if !c.Kind.valid() {
		if c.Kind == "" {
			return nil, &ConfigError{"--forge", "no forge given: valid values are github, gitlab, gitea (also for Forgejo)"}
		}
		return nil, &ConfigError{"--forge", fmt.Sprintf("unknown forge %q: valid values are github, gitlab, gitea (also for Forgejo)", string(c.Kind))}
	}
	base, err := parseBaseURL(c.Kind, c.BaseURL)
	if err != nil {
		return nil, err
	}
	owner, name, err := checkRepo(c.Kind, c.Repo)
	if err != nil {
		return nil, err
	}
	if err := checkToken(c.Kind, c.Token); err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: defaultTimeout, Transport: httptransport.New()}
	if c.HTTP != nil {
		copied := *c.HTTP
		hc = &copied
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cl := &Client{
		kind:     c.Kind,
		base:     base,
		basePath: strings.TrimSuffix(base.EscapedPath(), "/"),
		repo:     c.Repo,
		token:    c.Token,
		http:     hc,
		redact:   newRedactor(c.Token),
	}
	switch c.Kind {
	case GitHub:
		cl.api = &github{c: cl, owner: owner, name: name}
	case GitLab:
		cl.api = &gitlab{c: cl, project: c.Repo}
	case Gitea:
		cl.api = &gitea{c: cl, owner: owner, name: name}
	}
	return cl, nil
}

func parseBaseURL(k Kind, raw string) (*url.URL, error) {
	const field = "--forge-url"
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = DefaultBaseURL(k)
		if raw == "" {
			return nil, &ConfigError{field, fmt.Sprintf("required for %s: the API base URL, e.g. https://gitea.example.com/api/v1", k)}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole input, which may hold credentials.
		return nil, &ConfigError{field, "not a valid URL: want e.g. " + exampleBaseURL(k)}
	}
	if u.User != nil {
		return nil, &ConfigError{field, "must not contain credentials: the token is given separately (" + strings.Join(TokenEnvVars(k), " or ") + ")"}
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, &ConfigError{field, fmt.Sprintf("scheme %q: want https:// (or http://), e.g. %s", u.Scheme, exampleBaseURL(k))}
	}
	if u.Host == "" {
		return nil, &ConfigError{field, "no host: want e.g. " + exampleBaseURL(k)}
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, &ConfigError{field, "must be a plain base URL without query or fragment, e.g. " + exampleBaseURL(k)}
	}
	return u, nil
}

func exampleBaseURL(k Kind) string {
	switch k {
	case GitHub:
		return "https://api.github.com or https://HOST/api/v3 (GitHub Enterprise)"
	case GitLab:
		return "https://gitlab.com/api/v4 or https://HOST/api/v4"
	}
	return "https://HOST/api/v1"
}

// checkRepo validates Config.Repo and splits an owner/name.
func checkRepo(k Kind, repo string) (owner, name string, err error) {
	const field = "--forge-repo"
	if repo == "" {
		if k == GitLab {
			return "", "", &ConfigError{field, "required: the full project path, e.g. group/sub/project"}
		}
		return "", "", &ConfigError{field, "required: the repository as owner/name"}
	}
	segs := strings.Split(repo, "/")
	for _, s := range segs {
		if !repoSegment.MatchString(s) || s == "." || s == ".." {
			return "", "", &ConfigError{field, fmt.Sprintf("%q is not a repository path: want owner/name, each part made of letters, digits, '-', '_' and '.'", repo)}
		}
	}
	if k == GitLab {
		if len(segs) >= 2 || numericID.MatchString(repo) {
			return "", "", nil
		}
		return "", "", &ConfigError{field, fmt.Sprintf("%q: want the full project path group/project or group/sub/project (or the numeric project ID)", repo)}
	}
	if len(segs) != 2 {
		return "", "", &ConfigError{field, fmt.Sprintf("%q: want owner/name (exactly one '/')", repo)}
	}
	return segs[0], segs[1], nil
}

func checkToken(k Kind, token string) error {
	const field = "forge token"
	if token == "" {
		return &ConfigError{field, "missing: set " + strings.Join(TokenEnvVars(k), " or ")}
	}
	for _, r := range token {
		if r <= ' ' || r == 0x7f {
			return &ConfigError{field, "contains whitespace or control characters (a trailing newline?): set " + strings.Join(TokenEnvVars(k), " or ") + " to the token alone"}
		}
	}
	return nil
}

// Kind is the forge the client speaks to.
func (c *Client) Kind() Kind { return c.kind }

// OpenOrUpdate opens a pull request from r.Head into r.Base, or, if the
// forge answers that an open one exists already, finds it and updates its
// title and body (Created is then false). It creates first and only then
// looks for the existing one, so concurrent calls for the same branch end
// with one pull request.
func (c *Client) OpenOrUpdate(ctx context.Context, r Request) (PR, error) {
	pr, err := c.openOrUpdate(ctx, r)
	if err != nil {
		return PR{}, c.redact.err(fmt.Errorf("open or update the pull request from %s into %s in %s: %w", r.Head, r.Base, c.repo, err))
	}
	return pr, nil
}

func (c *Client) openOrUpdate(ctx context.Context, r Request) (PR, error) {
	switch {
	case strings.TrimSpace(r.Head) == "":
		return PR{}, errors.New("no head branch given")
	case strings.TrimSpace(r.Base) == "":
		return PR{}, errors.New("no base branch given")
	case r.Head == r.Base:
		return PR{}, errors.New("head and base are the same branch")
	case strings.TrimSpace(r.Title) == "":
		return PR{}, errors.New("no title given")
	}
	// Two rounds: the open pull request the forge reported may be closed or
	// merged before it is found; creating again then succeeds.
	var exists string
	for range 2 {
		pr, msg, err := c.api.create(ctx, r)
		if err != nil {
			return PR{}, err
		}
		if msg == "" {
			pr.Created = true
			return pr, nil
		}
		exists = msg
		found, ok, err := c.api.find(ctx, r)
		if err != nil {
			return PR{}, fmt.Errorf("find the open pull request (the forge said %q): %w", msg, err)
		}
		if !ok {
			continue
		}
		pr, err = c.api.update(ctx, found.Number, r)
		if err != nil {
			return PR{}, fmt.Errorf("update pull request #%d: %w", found.Number, err)
		}
		if pr.Number == 0 {
			pr.Number = found.Number
		}
		if pr.URL == "" {
			pr.URL = found.URL
		}
		pr.Created = false
		return pr, nil
	}
	return PR{}, fmt.Errorf("%w: the forge said %q; look for it in the forge's web pages", ErrNoOpenPR, exists)
}

// response is a forge's answer to one request.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (r *response) ok() bool { return r.status >= 200 && r.status < 300 }

// segments escapes each path segment (a "/" inside one becomes %2F) and
// joins them as a path starting with "/".
func segments(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// send makes one request to the API: rawPath is the escaped path below the
// base URL, in (if not nil) is sent as JSON.
func (c *Client) send(ctx context.Context, method, rawPath string, query url.Values, in any) (*response, error) {
	u := *c.base
	u.RawPath = c.basePath + rawPath
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("%s: build the path %s: %w", c.kind, u.RawPath, err)
	}
	u.Path = p
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: encode the request: %w", c.kind, method, u.RawPath, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s: %w", c.kind, method, u.RawPath, err)
	}
	req.Header.Set("User-Agent", userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch c.kind {
	case GitHub:
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		req.Header.Set("Authorization", "Bearer "+c.token)
	case GitLab:
		req.Header.Set("Accept", "application/json")
		req.Header.Set("PRIVATE-TOKEN", c.token)
	case Gitea:
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "token "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s: %w", c.kind, method, u.RawPath, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s: read the answer (%d): %w", c.kind, method, u.RawPath, resp.StatusCode, err)
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("%s: %s %s answered %d with more than %d bytes: is --forge-url the forge's API URL?", c.kind, method, u.RawPath, resp.StatusCode, maxBody)
	}
	return &response{method: method, path: u.RawPath, status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// decode parses a successful answer into v.
func (c *Client) decode(r *response, v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("%s: %s %s answered %d, but not with the expected JSON (is --forge-url the forge's API URL?): %w", c.kind, r.method, r.path, r.status, err)
	}
	return nil
}

// apiError describes an unsuccessful answer; notFound, if not empty, is the
// hint for a 404 instead of the one about the repository and base URL.
func (c *Client) apiError(r *response, notFound string) *APIError {
	e := &APIError{
		Forge:   c.kind,
		Method:  r.method,
		Path:    r.path,
		Status:  r.status,
		Message: c.redact.string(forgeMessage(r.body)),
	}
	switch s := r.status; {
	case s >= 300 && s < 400:
		loc := r.header.Get("Location")
		if u, err := url.Parse(loc); err == nil {
			u.User = nil
			loc = u.String()
		}
		e.Hint = fmt.Sprintf("the forge redirects to %q: set --forge-url to the API URL it points to (redirects are not followed, so the token goes nowhere else)", c.redact.string(loc))
	case s == http.StatusUnauthorized:
		e.Hint = "the forge refused the token: check that it is valid and not expired (it is read from " + strings.Join(TokenEnvVars(c.kind), " or ") + ")"
	case s == http.StatusForbidden:
		e.Hint = c.permissionHint()
	case s == http.StatusNotFound && notFound != "":
		e.Hint = notFound
	case s == http.StatusNotFound:
		e.Hint = fmt.Sprintf("no repository %s at %s: check --forge-repo and --forge-url (%s), and that the token can see the repository (forges answer 404 to a token that may not read a private one)",
			c.repo, c.base.Redacted(), exampleBaseURL(c.kind))
	case s == http.StatusTooManyRequests || s >= 500:
		e.Hint = "the forge is overloaded, rate-limiting or down: try again later"
	}
	return e
}

func (c *Client) permissionHint() string {
	switch c.kind {
	case GitHub:
		return "the token lacks a permission: it needs the repo scope (classic token) or \"Pull requests: read and write\" on " + c.repo + " (fine-grained token); GitHub also answers 403 when a rate limit is exceeded"
	case GitLab:
		return "the token lacks a permission: it needs the api scope and at least the Developer role on " + c.repo
	}
	return "the token lacks a permission: it needs the write:repository scope and write access to " + c.repo
}
