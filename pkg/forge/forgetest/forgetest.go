// Package forgetest runs a stand-in for a forge's pull request API (GitHub,
// GitLab, Gitea/Forgejo) on loopback, for tests of code that opens pull
// requests. It answers the documented endpoints the way the forge does,
// including the forge's own answer when an open pull request for the same
// branch exists, and fails the test on any request a real forge would
// reject: wrong method or path, missing or wrong token, a body that is not
// JSON or has fields the endpoint does not take.
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
	"strconv"
	"strings"
	"sync"
	"testing"
)

// PR is a pull (merge) request as the stand-in stores it.
type PR struct {
	Number      int
	Head, Base  string
	Title, Body string
	Updates     int // times its title and body were changed after creation
}

// Server is a running stand-in for one repository on one forge.
type Server struct {
	// URL is the API base URL to configure the client with: .../api/v3
	// (GitHub Enterprise Server), .../api/v4 (GitLab), .../api/v1 (Gitea).
	URL string
	// Web is the base of the pull requests' web URLs.
	Web string

	t     testing.TB
	kind  string
	repo  string // owner/name, or GitLab's group/project
	token string

	mu  sync.Mutex
	prs []PR
}

// New starts a stand-in for kind ("github", "gitlab" or "gitea") serving
// repo (owner/name) and accepting only token.
func New(t testing.TB, kind, repo, token string) *Server {
	t.Helper()
	s := &Server{t: t, kind: kind, repo: repo, token: token}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	s.Web = ts.URL
	switch kind {
	case "github":
		s.URL = ts.URL + "/api/v3"
	case "gitlab":
		s.URL = ts.URL + "/api/v4"
	case "gitea":
		s.URL = ts.URL + "/api/v1"
	default:
		t.Fatalf("forgetest: unknown forge %q", kind)
	}
	return s
}

// PRs returns the pull requests stored so far.
func (s *Server) PRs() []PR {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PR(nil), s.prs...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		s.answer(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
		return
	}
	if r.Header.Get("User-Agent") == "" {
		s.reject(w, "no User-Agent header (GitHub refuses such requests)")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.kind {
	case "github":
		s.github(w, r)
	case "gitlab":
		s.gitlab(w, r)
	case "gitea":
		s.gitea(w, r)
	}
}

// authorized checks the forge's documented token header.
func (s *Server) authorized(r *http.Request) bool {
	switch s.kind {
	case "gitlab":
		return r.Header.Get("PRIVATE-TOKEN") == s.token || r.Header.Get("Authorization") == "Bearer "+s.token
	case "gitea":
		return r.Header.Get("Authorization") == "token "+s.token || r.Header.Get("Authorization") == "Bearer "+s.token
	default:
		return r.Header.Get("Authorization") == "Bearer "+s.token || r.Header.Get("Authorization") == "token "+s.token
	}
}

// reject fails the test: the client sent what the forge would not take.
func (s *Server) reject(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.t.Errorf("forgetest %s: %s", s.kind, msg)
	s.answer(w, http.StatusBadRequest, map[string]any{"message": msg})
}

func (s *Server) answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// body decodes a JSON request body into v, refusing unknown fields.
func (s *Server) body(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.reject(w, "%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.reject(w, "%s %s: body: %v", r.Method, r.URL.Path, err)
		return false
	}
	return true
}

func (s *Server) find(head, base string) *PR {
	for i := range s.prs {
		if s.prs[i].Head == head && (base == "" || s.prs[i].Base == base) {
			return &s.prs[i]
		}
	}
	return nil
}

func (s *Server) byNumber(n string) *PR {
	for i := range s.prs {
		if strconv.Itoa(s.prs[i].Number) == n {
			return &s.prs[i]
		}
	}
	return nil
}

func (s *Server) add(head, base, title, body string) PR {
	p := PR{Number: len(s.prs) + 1, Head: head, Base: base, Title: title, Body: body}
	s.prs = append(s.prs, p)
	return p
}

func (s *Server) web(p PR, sep string) string {
	return fmt.Sprintf("%s/%s/%s/%d", s.Web, s.repo, sep, p.Number)
}

// github: POST/GET /repos/{owner}/{repo}/pulls, PATCH .../pulls/{number}.
func (s *Server) github(w http.ResponseWriter, r *http.Request) {
	prefix := "/api/v3/repos/" + s.repo + "/pulls"
	owner := strings.SplitN(s.repo, "/", 2)[0]
	json := func(p PR) map[string]any {
		return map[string]any{"number": p.Number, "html_url": s.web(p, "pull"), "state": "open", "title": p.Title, "body": p.Body,
			"head": map[string]any{"ref": p.Head, "label": owner + ":" + p.Head, "repo": map[string]any{"full_name": s.repo}},
			"base": map[string]any{"ref": p.Base}}
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == prefix:
		var in struct{ Title, Head, Base, Body string }
		if !s.body(w, r, &in) {
			return
		}
		if in.Title == "" || in.Head == "" || in.Base == "" {
			s.answer(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": []any{map[string]any{"resource": "PullRequest", "code": "missing_field"}}})
			return
		}
		if s.find(in.Head, in.Base) != nil {
			s.answer(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
				"errors": []any{map[string]any{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for " + owner + ":" + in.Head + "."}}})
			return
		}
		s.answer(w, http.StatusCreated, json(s.add(in.Head, in.Base, in.Title, in.Body)))
	case r.Method == http.MethodGet && r.URL.Path == prefix:
		q := r.URL.Query()
		head, ok := strings.CutPrefix(q.Get("head"), owner+":")
		if !ok {
			s.reject(w, "GET pulls: head=%q, want %s:BRANCH", q.Get("head"), owner)
			return
		}
		out := []any{}
		if p := s.find(head, q.Get("base")); p != nil && (q.Get("state") == "" || q.Get("state") == "open") {
			out = append(out, json(*p))
		}
		s.answer(w, http.StatusOK, out)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, prefix+"/"):
		p := s.byNumber(strings.TrimPrefix(r.URL.Path, prefix+"/"))
		if p == nil {
			s.answer(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		var in struct{ Title, Body string }
		if !s.body(w, r, &in) {
			return
		}
		p.Title, p.Body, p.Updates = in.Title, in.Body, p.Updates+1
		s.answer(w, http.StatusOK, json(*p))
	default:
		s.answer(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	}
}

// gitlab: /projects/{url-encoded path}/merge_requests[/{iid}].
func (s *Server) gitlab(w http.ResponseWriter, r *http.Request) {
	prefix := "/api/v4/projects/" + url.PathEscape(s.repo) + "/merge_requests"
	path := r.URL.EscapedPath()
	json := func(p PR) map[string]any {
		return map[string]any{"iid": p.Number, "id": 1000 + p.Number, "web_url": s.web(p, "-/merge_requests"), "state": "opened",
			"title": p.Title, "description": p.Body, "source_branch": p.Head, "target_branch": p.Base}
	}
	switch {
	case r.Method == http.MethodPost && path == prefix:
		var in struct {
			SourceBranch string `json:"source_branch"`
			TargetBranch string `json:"target_branch"`
			Title        string `json:"title"`
			Description  string `json:"description"`
			// Optional fields of the documented endpoint that a client may send.
			RemoveSourceBranch *bool `json:"remove_source_branch"`
		}
		if !s.body(w, r, &in) {
			return
		}
		if in.SourceBranch == "" || in.TargetBranch == "" || in.Title == "" {
			s.answer(w, http.StatusBadRequest, map[string]any{"error": "source_branch, target_branch, title are missing"})
			return
		}
		if p := s.find(in.SourceBranch, in.TargetBranch); p != nil {
			s.answer(w, http.StatusConflict, map[string]any{"message": []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", p.Number)}})
			return
		}
		s.answer(w, http.StatusCreated, json(s.add(in.SourceBranch, in.TargetBranch, in.Title, in.Description)))
	case r.Method == http.MethodGet && path == prefix:
		q := r.URL.Query()
		out := []any{}
		if p := s.find(q.Get("source_branch"), q.Get("target_branch")); p != nil && (q.Get("state") == "" || q.Get("state") == "opened") {
			out = append(out, json(*p))
		}
		s.answer(w, http.StatusOK, out)
	case r.Method == http.MethodPut && strings.HasPrefix(path, prefix+"/"):
		p := s.byNumber(strings.TrimPrefix(path, prefix+"/"))
		if p == nil {
			s.answer(w, http.StatusNotFound, map[string]any{"message": "404 Not found"})
			return
		}
		var in struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		}
		if !s.body(w, r, &in) {
			return
		}
		p.Title, p.Body, p.Updates = in.Title, in.Description, p.Updates+1
		s.answer(w, http.StatusOK, json(*p))
	default:
		s.answer(w, http.StatusNotFound, map[string]any{"message": "404 Project Not Found"})
	}
}

// gitea: /repos/{owner}/{repo}/pulls, .../pulls/{base}/{head}, .../pulls/{index}.
func (s *Server) gitea(w http.ResponseWriter, r *http.Request) {
	prefix := "/api/v1/repos/" + s.repo + "/pulls"
	json := func(p PR) map[string]any {
		return map[string]any{"number": p.Number, "id": 1000 + p.Number, "html_url": s.web(p, "pulls"), "state": "open", "title": p.Title, "body": p.Body,
			"head": map[string]any{"ref": p.Head, "label": p.Head}, "base": map[string]any{"ref": p.Base, "label": p.Base}}
	}
	rest, sub := strings.CutPrefix(r.URL.Path, prefix+"/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == prefix:
		var in struct {
			Head, Base, Title, Body string
		}
		if !s.body(w, r, &in) {
			return
		}
		if p := s.find(in.Head, in.Base); p != nil {
			s.answer(w, http.StatusConflict, map[string]any{"message": fmt.Sprintf("pull request already exists for these targets [id: %d, issue_id: %d, head_repo_id: 1, base_repo_id: 1, head_branch: %s, base_branch: %s]",
				1000+p.Number, 2000+p.Number, in.Head, in.Base), "url": s.Web + "/api/swagger"})
			return
		}
		s.answer(w, http.StatusCreated, json(s.add(in.Head, in.Base, in.Title, in.Body)))
	case r.Method == http.MethodGet && r.URL.Path == prefix:
		out := []any{}
		if r.URL.Query().Get("state") == "open" || r.URL.Query().Get("state") == "" {
			for _, p := range s.prs {
				out = append(out, json(p))
			}
		}
		s.answer(w, http.StatusOK, out)
	case r.Method == http.MethodGet && sub:
		// GET /pulls/{base}/{head}: the head may contain slashes.
		base, head, ok := strings.Cut(rest, "/")
		if p := s.find(head, base); ok && p != nil {
			s.answer(w, http.StatusOK, json(*p))
			return
		}
		s.answer(w, http.StatusNotFound, map[string]any{"message": "pull request does not exist", "errors": []any{}})
	case r.Method == http.MethodPatch && sub:
		p := s.byNumber(rest)
		if p == nil {
			s.answer(w, http.StatusNotFound, map[string]any{"message": "pull request does not exist"})
			return
		}
		var in struct{ Title, Body string }
		if !s.body(w, r, &in) {
			return
		}
		p.Title, p.Body, p.Updates = in.Title, in.Body, p.Updates+1
		s.answer(w, http.StatusOK, json(*p))
	default:
		s.answer(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}
