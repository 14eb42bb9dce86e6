package notifytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bgrender/bgrender/pkg/notify"
)

// Deployment is a GitHub deployment held by the stand-in, with its
// statuses' states in order.
type Deployment struct {
	ID          int64
	Ref         string
	Environment string
	Payload     notify.GitHubPayload
	States      []string
}

// GitHub is a stand-in for GitHub's Deployments API of one repository.
type GitHub struct {
	Faults
	// URL is the API base URL (as github.apiURL); Repo is owner/name and
	// Token the one token accepted.
	URL, Repo, Token string

	t      testing.TB
	mu     sync.Mutex
	nextID int64
	deps   []*Deployment
}

// NewGitHub starts a stand-in for repo, accepting token.
func NewGitHub(t testing.TB, repo, token string) *GitHub {
	g := &GitHub{t: t, Repo: repo, Token: token, nextID: 1000}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/api/v3"
	return g
}

// Deployments are the deployments made, oldest first.
func (g *GitHub) Deployments() []Deployment {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Deployment
	for _, d := range g.deps {
		c := *d
		c.States = slices.Clone(d.States)
		out = append(out, c)
	}
	return out
}

// Of is the deployment of release id (ok false: none).
func (g *GitHub) Of(release string) (Deployment, bool) {
	for _, d := range g.Deployments() {
		if d.Payload.Release == release {
			return d, true
		}
	}
	return Deployment{}, false
}

func (g *GitHub) message(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest/deployments"})
}

func (g *GitHub) serve(w http.ResponseWriter, r *http.Request) {
	if g.fault(w) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+g.Token {
		g.message(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" {
		g.t.Errorf("github: Accept %q, X-GitHub-Api-Version %q: want application/vnd.github+json and 2022-11-28", r.Header.Get("Accept"), r.Header.Get("X-GitHub-Api-Version"))
	}
	base := "/api/v3/repos/" + g.Repo + "/deployments"
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), base)
	if !ok {
		g.message(w, http.StatusNotFound, "Not Found")
		return
	}
	switch {
	case rest == "" && r.Method == http.MethodGet:
		g.list(w, r)
	case rest == "":
		g.create(w, r)
	default:
		id, ok := strings.CutSuffix(strings.TrimPrefix(rest, "/"), "/statuses")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil {
			g.message(w, http.StatusNotFound, "Not Found")
			return
		}
		g.status(w, r, n)
	}
}

func (g *GitHub) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains([]string{"sha", "ref", "task", "environment", "per_page", "page"}, k) {
			g.t.Errorf("github: list deployments with unknown parameter %q", k)
		}
	}
	per := 30
	if p := q.Get("per_page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100 {
			g.t.Errorf("github: per_page %q, want 1 to 100", p)
		}
		per = n
	}
	g.mu.Lock()
	var out []map[string]any
	for i := len(g.deps) - 1; i >= 0 && len(out) < per; i-- { // newest first, as GitHub lists them
		d := g.deps[i]
		if (q.Has("environment") && q.Get("environment") != d.Environment) || (q.Has("task") && q.Get("task") != "deploy") {
			continue
		}
		out = append(out, g.deploymentJSON(d))
	}
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if out == nil {
		out = []map[string]any{}
	}
	json.NewEncoder(w).Encode(out)
}

func (g *GitHub) deploymentJSON(d *Deployment) map[string]any {
	return map[string]any{
		"id": d.ID, "node_id": fmt.Sprintf("DE_%d", d.ID), "url": fmt.Sprintf("%s/repos/%s/deployments/%d", g.URL, g.Repo, d.ID),
		"sha": strings.Repeat("0", 40), "ref": d.Ref, "task": "deploy", "payload": d.Payload,
		"environment": d.Environment, "original_environment": d.Environment,
		"created_at": time.Now().UTC().Format(time.RFC3339), "production_environment": true,
	}
}

func (g *GitHub) create(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(g.t, w, r, http.MethodPost)
	if !ok {
		return
	}
	var req notify.GitHubDeploymentRequest
	if err := decodeStrict(body, &req); err != nil {
		g.t.Errorf("github: create deployment: %v\n%s", err, body)
		g.message(w, http.StatusUnprocessableEntity, "Invalid request.")
		return
	}
	var raw map[string]any
	json.Unmarshal(body, &raw)
	if req.Ref == "" || req.Environment == "" || raw["required_contexts"] == nil {
		g.t.Errorf("github: create deployment without ref, environment or required_contexts: %s", body)
		g.message(w, http.StatusUnprocessableEntity, "Invalid request.")
		return
	}
	if req.AutoMerge {
		// GitHub would merge the default branch into ref first.
		g.t.Errorf("github: auto_merge is on: GitHub would try to merge into %s", req.Ref)
	}
	if utf8.RuneCountInString(req.Description) > 140 {
		g.t.Errorf("github: description of %d characters", utf8.RuneCountInString(req.Description))
	}
	g.mu.Lock()
	g.nextID++
	d := &Deployment{ID: g.nextID, Ref: req.Ref, Environment: req.Environment, Payload: req.Payload}
	g.deps = append(g.deps, d)
	out := g.deploymentJSON(d)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(out)
}

var statusStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

func (g *GitHub) status(w http.ResponseWriter, r *http.Request, id int64) {
	body, ok := readBody(g.t, w, r, http.MethodPost)
	if !ok {
		return
	}
	var req notify.GitHubStatusRequest
	if err := decodeStrict(body, &req); err != nil {
		g.t.Errorf("github: create status: %v\n%s", err, body)
		g.message(w, http.StatusUnprocessableEntity, "Invalid request.")
		return
	}
	if !slices.Contains(statusStates, req.State) {
		g.t.Errorf("github: status state %q, want one of %v", req.State, statusStates)
		g.message(w, http.StatusUnprocessableEntity, "Invalid request.")
		return
	}
	if n := utf8.RuneCountInString(req.Description); n > 140 {
		g.t.Errorf("github: status description of %d characters, GitHub allows 140", n)
		g.message(w, http.StatusUnprocessableEntity, "Invalid request.")
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range g.deps {
		if d.ID == id {
			d.States = append(d.States, req.State)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"id": len(d.States), "state": req.State, "description": req.Description, "environment": req.Environment})
			return
		}
	}
	g.message(w, http.StatusNotFound, "Not Found")
}
