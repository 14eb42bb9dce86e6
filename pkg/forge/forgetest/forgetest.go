// Package forgetest runs a stand-in for a forge's pull request API (GitHub,
// GitLab, Gitea/Forgejo) on loopback, for tests of code that opens pull
// requests. It answers the documented endpoints the way the forge does,
// including the forge's own answer when an open pull request for the same
// branch exists, and fails the test on any request the forge would treat
// differently: wrong method or path (as escaped on the wire), missing or
// wrong token and headers, query parameters, or a JSON body with a field
// missing or unknown.
//
// It stands in for the forge's API only: the git side (the branch the pull
// request is for) is a real remote the test provides.
package forgetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	gitHub = "github"
	gitLab = "gitlab"
	gitea  = "gitea"
)

// PR is a pull (merge) request held by the stand-in.
type PR struct {
	Number      int
	Head, Base  string
	Title, Body string
	Open        bool
	// Fork: the head branch is in a fork, not in the repository itself.
	Fork bool
	// Updates counts the edits of its title and body after creation.
	Updates int
}

// Server is a running stand-in for one repository on one forge. Set its
// knobs before the code under test talks to it.
type Server struct {
	// URL is the API base URL to configure the client with.
	URL string
	// Root is the server's URL without the API path prefix.
	Root string
	// Repo is "owner/name" (GitLab: the project path); Token the only
	// token accepted.
	Repo, Token string

	// Branches, if set, are the branches that exist: GitHub refuses a pull
	// request from any other. nil: every branch exists.
	Branches map[string]bool
	// GhostConflicts: create answers "already exists" this many times even
	// though no open pull request exists (one closed in between).
	GhostConflicts int
	// NoBaseHead: Gitea without GET /pulls/{base}/{head} (before 1.22).
	NoBaseHead bool
	// PageCap: Gitea's maximum page size (its MAX_RESPONSE_ITEMS).
	PageCap int
	// Override, if it returns true, has answered the request itself.
	Override func(w http.ResponseWriter, r *http.Request) bool

	t      testing.TB
	kind   string
	prefix string // the API path prefix: "/api/v3", "/api/v4", "/api/v1" or ""

	mu    sync.Mutex
	prs   []*PR
	calls []string // "METHOD escaped-path[?query]"
}

// New starts a stand-in for kind ("github", "gitlab" or "gitea") serving
// repo and accepting only token, under the self-hosted API prefix of the
// kind: /api/v3 (GitHub Enterprise Server), /api/v4, /api/v1.
func New(t testing.TB, kind, repo, token string) *Server {
	t.Helper()
	prefix := map[string]string{gitHub: "/api/v3", gitLab: "/api/v4", gitea: "/api/v1"}[kind]
	return NewAt(t, kind, prefix, repo, token)
}

// NewAt is New with the API under prefix ("" as on api.github.com).
func NewAt(t testing.TB, kind, prefix, repo, token string) *Server {
	t.Helper()
	if kind != gitHub && kind != gitLab && kind != gitea {
		t.Fatalf("forgetest: unknown forge %q", kind)
	}
	s := &Server{t: t, kind: kind, prefix: prefix, Repo: repo, Token: token, PageCap: 50}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.Root, s.URL = srv.URL, srv.URL+prefix
	return s
}

// WebURL is the web address the stand-in gives pull request n.
func (f *Server) WebURL(n int) string {
	path := map[string]string{gitHub: "pull", gitLab: "-/merge_requests", gitea: "pulls"}[f.kind]
	return fmt.Sprintf("https://%s.example/%s/%s/%d", f.kind, f.Repo, path, n)
}

// Seed stores a pull request as if made before the test.
func (f *Server) Seed(p PR) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p.Number = len(f.prs) + 1
	f.prs = append(f.prs, &p)
}

// PRs returns the pull requests held, open and closed, by number.
func (f *Server) PRs() []PR {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []PR
	for _, p := range f.prs {
		out = append(out, *p)
	}
	return out
}

// Calls returns the requests received, "METHOD escaped-path[?query]".
func (f *Server) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	call := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	if f.Override != nil && f.Override(w, r) {
		return
	}
	if ua := r.Header.Get("User-Agent"); ua != "bgrender" {
		f.t.Errorf("%s: User-Agent %q, want bgrender", call, ua)
	}
	if !f.authorized(w, r) {
		return
	}
	switch f.kind {
	case gitHub:
		f.github(w, r)
	case gitLab:
		f.gitlab(w, r)
	case gitea:
		f.gitea(w, r)
	}
}

func (f *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	switch f.kind {
	case gitHub:
		if got := r.Header.Get("Accept"); got != "application/vnd.github+json" {
			f.t.Errorf("Accept %q, want application/vnd.github+json", got)
		}
		if got := r.Header.Get("X-GitHub-Api-Version"); got != "2022-11-28" {
			f.t.Errorf("X-GitHub-Api-Version %q", got)
		}
		if r.Header.Get("Authorization") != "Bearer "+f.Token {
			Reply(w, 401, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
			return false
		}
	case gitLab:
		if r.Header.Get("PRIVATE-TOKEN") != f.Token {
			Reply(w, 401, map[string]any{"message": "401 Unauthorized"})
			return false
		}
	case gitea:
		if r.Header.Get("Authorization") != "token "+f.Token {
			Reply(w, 401, map[string]any{"message": "invalid username, password or token", "url": "https://gitea.example/api/swagger"})
			return false
		}
	}
	return true
}

// Reply answers as the forges do: v as JSON with status. Override
// functions use it.
func Reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// body decodes a JSON request body that must have exactly the given string
// fields; on any deviation it fails the test, answers 400 and returns nil.
func (f *Server) body(w http.ResponseWriter, r *http.Request, fields ...string) map[string]string {
	f.t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
	}
	var raw map[string]any
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		f.t.Errorf("%s %s: body is not a JSON object: %v", r.Method, r.URL.Path, err)
		Reply(w, 400, map[string]any{"message": "Problems parsing JSON"})
		return nil
	}
	out := map[string]string{}
	for k, v := range raw {
		if !slices.Contains(fields, k) {
			f.t.Errorf("%s %s: unknown field %q in body %v", r.Method, r.URL.Path, k, raw)
			continue
		}
		s, ok := v.(string)
		if !ok {
			f.t.Errorf("%s %s: field %q is %T, want a string", r.Method, r.URL.Path, k, v)
			continue
		}
		out[k] = s
	}
	for _, k := range fields {
		if _, ok := raw[k]; !ok {
			f.t.Errorf("%s %s: missing field %q in body %v", r.Method, r.URL.Path, k, raw)
		}
	}
	if len(out) != len(fields) {
		Reply(w, 400, map[string]any{"message": "bad body"})
		return nil
	}
	return out
}

// query checks that the query has exactly the given keys (each once) and
// returns it; on any deviation it fails the test and answers 400.
func (f *Server) query(w http.ResponseWriter, r *http.Request, keys ...string) url.Values {
	f.t.Helper()
	q := r.URL.Query()
	ok := len(q) == len(keys)
	for _, k := range keys {
		if len(q[k]) != 1 {
			ok = false
		}
	}
	if !ok {
		f.t.Errorf("%s %s: query %q, want exactly the keys %v", r.Method, r.URL.Path, r.URL.RawQuery, keys)
		Reply(w, 400, map[string]any{"message": "bad query"})
		return nil
	}
	return q
}

// route splits the escaped request path below prefix+base; it answers 404
// (as the forge does for an unknown repository) and returns false if the
// path is elsewhere.
func (f *Server) route(w http.ResponseWriter, r *http.Request, base string, notFound any) (rest string, ok bool) {
	p := r.URL.EscapedPath()
	if p == f.prefix+base {
		return "", true
	}
	if strings.HasPrefix(p, f.prefix+base+"/") {
		return strings.TrimPrefix(p, f.prefix+base+"/"), true
	}
	Reply(w, 404, notFound)
	return "", false
}

func (f *Server) findOpen(head, base string) *PR {
	for _, p := range f.prs {
		if p.Open && !p.Fork && p.Head == head && p.Base == base {
			return p
		}
	}
	return nil
}

// create stores a new open pull request and returns it; when one is open
// for head and base already, or a ghost conflict is pending (one closed in
// between), it stores nothing and returns the open one (an empty PR for a
// ghost) with conflict set.
func (f *Server) create(head, base, title, body string) (p *PR, conflict bool) {
	if p := f.findOpen(head, base); p != nil {
		return p, true
	}
	if f.GhostConflicts > 0 {
		f.GhostConflicts--
		return &PR{}, true
	}
	p = &PR{Number: len(f.prs) + 1, Head: head, Base: base, Title: title, Body: body, Open: true}
	f.prs = append(f.prs, p)
	return p, false
}

// edit answers the edit of pull request number n: its body has "title" and
// bodyField; status and render make the forge's answer.
func (f *Server) edit(w http.ResponseWriter, r *http.Request, n string, notFound any, bodyField string, status int, render func(*PR) map[string]any) {
	p := f.byNumber(n)
	if p == nil {
		Reply(w, http.StatusNotFound, notFound)
		return
	}
	in := f.body(w, r, "title", bodyField)
	if in == nil {
		return
	}
	p.Title, p.Body, p.Updates = in["title"], in[bodyField], p.Updates+1
	Reply(w, status, render(p))
}

func (f *Server) byNumber(n string) *PR {
	i, err := strconv.Atoi(n)
	if err != nil || i < 1 || i > len(f.prs) {
		return nil
	}
	return f.prs[i-1]
}

// --- GitHub ---

func (f *Server) githubJSON(p *PR) map[string]any {
	owner := strings.Split(f.Repo, "/")[0]
	headRepo := f.Repo
	if p.Fork {
		owner, headRepo = "someone", "someone/env"
	}
	state := "closed"
	if p.Open {
		state = "open"
	}
	return map[string]any{
		"number": p.Number, "state": state, "title": p.Title, "body": p.Body,
		"html_url": f.WebURL(p.Number),
		"head":     map[string]any{"ref": p.Head, "label": owner + ":" + p.Head, "repo": map[string]any{"full_name": headRepo}},
		"base":     map[string]any{"ref": p.Base, "label": "acme:" + p.Base, "repo": map[string]any{"full_name": f.Repo}},
	}
}

func (f *Server) github(w http.ResponseWriter, r *http.Request) {
	rest, ok := f.route(w, r, "/repos/"+f.Repo+"/pulls", map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && rest == "":
		in := f.body(w, r, "title", "head", "base", "body")
		if in == nil {
			return
		}
		if f.Branches != nil && !f.Branches[in["head"]] {
			Reply(w, 422, map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "422",
				"errors": []any{map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"}}})
			return
		}
		p, conflict := f.create(in["head"], in["base"], in["title"], in["body"])
		if conflict {
			Reply(w, 422, map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "422",
				"errors": []any{map[string]any{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:" + in["head"] + "."}}})
			return
		}
		Reply(w, 201, f.githubJSON(p))
	case r.Method == http.MethodGet && rest == "":
		q := f.query(w, r, "state", "head", "base", "per_page")
		if q == nil {
			return
		}
		if q.Get("state") != "open" {
			f.t.Errorf("list state %q, want open", q.Get("state"))
		}
		list := []any{}
		for _, p := range f.prs {
			owner := strings.Split(f.Repo, "/")[0]
			if p.Fork {
				owner = "someone"
			}
			if p.Open && owner+":"+p.Head == q.Get("head") && p.Base == q.Get("base") {
				list = append(list, f.githubJSON(p))
			}
		}
		Reply(w, 200, list)
	case r.Method == http.MethodPatch && rest != "":
		f.edit(w, r, rest, map[string]any{"message": "Not Found"}, "body", http.StatusOK, f.githubJSON)
	default:
		f.t.Errorf("github: unexpected %s %s", r.Method, r.URL.EscapedPath())
		Reply(w, 404, map[string]any{"message": "Not Found"})
	}
}

// --- GitLab ---

func (f *Server) gitlabJSON(p *PR) map[string]any {
	state := "closed"
	if p.Open {
		state = "opened"
	}
	source := 7
	if p.Fork {
		source = 99
	}
	return map[string]any{
		"id": 1000 + p.Number, "iid": p.Number, "project_id": 7, "state": state,
		"title": p.Title, "description": p.Body,
		"source_branch": p.Head, "target_branch": p.Base,
		"source_project_id": source, "target_project_id": 7,
		"web_url": f.WebURL(p.Number),
	}
}

func (f *Server) gitlab(w http.ResponseWriter, r *http.Request) {
	// GitLab addresses a project by its URL-encoded path: a path whose
	// slashes arrive unencoded is another resource.
	project := strings.ReplaceAll(f.Repo, "/", "%2F")
	rest, ok := f.route(w, r, "/projects/"+project+"/merge_requests", map[string]any{"message": "404 Project Not Found"})
	if !ok {
		return
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		f.t.Errorf("Accept %q, want application/json", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && rest == "":
		in := f.body(w, r, "source_branch", "target_branch", "title", "description")
		if in == nil {
			return
		}
		if len(in["title"]) > 255 {
			Reply(w, 400, map[string]any{"message": map[string]any{"title": []string{"is too long (maximum is 255 characters)"}}})
			return
		}
		p, conflict := f.create(in["source_branch"], in["target_branch"], in["title"], in["description"])
		if conflict {
			Reply(w, 409, map[string]any{"message": []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", p.Number)}})
			return
		}
		Reply(w, 201, f.gitlabJSON(p))
	case r.Method == http.MethodGet && rest == "":
		q := f.query(w, r, "state", "source_branch", "target_branch", "per_page")
		if q == nil {
			return
		}
		list := []any{}
		for _, p := range f.prs {
			// GitLab filters by branch names only: a fork's merge request
			// from a branch of the same name is listed too.
			if p.Open && q.Get("state") == "opened" && p.Head == q.Get("source_branch") && p.Base == q.Get("target_branch") {
				list = append(list, f.gitlabJSON(p))
			}
		}
		Reply(w, 200, list)
	case r.Method == http.MethodPut && rest != "":
		f.edit(w, r, rest, map[string]any{"message": "404 Not found"}, "description", http.StatusOK, f.gitlabJSON)
	default:
		f.t.Errorf("gitlab: unexpected %s %s", r.Method, r.URL.EscapedPath())
		Reply(w, 404, map[string]any{"error": "404 Not Found"})
	}
}

// --- Gitea / Forgejo ---

func (f *Server) giteaJSON(p *PR) map[string]any {
	state := "closed"
	if p.Open {
		state = "open"
	}
	headRepo := 1
	if p.Fork {
		headRepo = 2
	}
	return map[string]any{
		"id": 500 + p.Number, "number": p.Number, "state": state, "merged": false,
		"title": p.Title, "body": p.Body,
		"html_url": f.WebURL(p.Number),
		"head":     map[string]any{"ref": p.Head, "label": p.Head, "repo_id": headRepo},
		"base":     map[string]any{"ref": p.Base, "label": p.Base, "repo_id": 1},
	}
}

var giteaNotFound = map[string]any{"errors": []string{}, "message": "The target couldn't be found.", "url": "https://gitea.example/api/swagger"}

func (f *Server) gitea(w http.ResponseWriter, r *http.Request) {
	rest, ok := f.route(w, r, "/repos/"+f.Repo+"/pulls", giteaNotFound)
	if !ok {
		return
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		f.t.Errorf("Accept %q, want application/json", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, numErr := strconv.Atoi(rest)
	switch {
	case r.Method == http.MethodPost && rest == "":
		in := f.body(w, r, "head", "base", "title", "body")
		if in == nil {
			return
		}
		p, conflict := f.create(in["head"], in["base"], in["title"], in["body"])
		if conflict {
			Reply(w, 409, map[string]any{"message": fmt.Sprintf("pull request already exists for these targets [id: %d, issue_id: %d, head_repo_id: 1, base_repo_id: 1, head_branch: %s, base_branch: %s]",
				500+p.Number, p.Number, in["head"], in["base"]), "url": "https://gitea.example/api/swagger"})
			return
		}
		Reply(w, 201, f.giteaJSON(p))
	case r.Method == http.MethodGet && rest == "":
		q := r.URL.Query()
		for k := range q {
			if !slices.Contains([]string{"state", "base_branch", "page", "limit"}, k) {
				f.t.Errorf("gitea list: unknown query parameter %q", k)
			}
		}
		if q.Get("state") != "open" {
			f.t.Errorf("gitea list: state %q, want open", q.Get("state"))
		}
		page, _ := strconv.Atoi(q.Get("page"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		if page < 1 || limit < 1 {
			f.t.Errorf("gitea list: page %q limit %q", q.Get("page"), q.Get("limit"))
			Reply(w, 400, map[string]any{"message": "bad page"})
			return
		}
		limit = min(limit, f.PageCap)
		var all []*PR
		for _, p := range f.prs {
			if p.Open && (q.Get("base_branch") == "" || p.Base == q.Get("base_branch")) {
				all = append(all, p)
			}
		}
		list := []any{}
		for i := (page - 1) * limit; i < len(all) && i < page*limit; i++ {
			list = append(list, f.giteaJSON(all[i]))
		}
		w.Header().Set("X-Total-Count", strconv.Itoa(len(all)))
		Reply(w, 200, list)
	case r.Method == http.MethodGet && numErr != nil:
		// GET /pulls/{base}/{head}: head may hold slashes.
		if f.NoBaseHead {
			Reply(w, 404, giteaNotFound)
			return
		}
		base, head, _ := strings.Cut(rest, "/")
		base, err1 := url.PathUnescape(base)
		head, err2 := url.PathUnescape(head)
		if err1 != nil || err2 != nil {
			f.t.Errorf("gitea: bad base/head path %q", rest)
		}
		// Like Gitea, the first pull request for the pair, whatever its state.
		for _, p := range f.prs {
			if p.Base == base && p.Head == head && !p.Fork {
				Reply(w, 200, f.giteaJSON(p))
				return
			}
		}
		Reply(w, 404, giteaNotFound)
	case r.Method == http.MethodPatch && numErr == nil:
		f.edit(w, r, rest, giteaNotFound, "body", http.StatusCreated, f.giteaJSON) // Gitea answers an edit with 201
	default:
		f.t.Errorf("gitea: unexpected %s %s", r.Method, r.URL.EscapedPath())
		Reply(w, 404, giteaNotFound)
	}
}
