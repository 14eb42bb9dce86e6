package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/forge/forgetest"
)

const head = "bgrender/shop/rollback-v2"

func request(title, body string) Request {
	return Request{Head: head, Base: "main", Title: title, Body: body}
}

// forgeCase is one forge API, as a fake, for the tests that run on all.
type forgeCase struct {
	name   string
	kind   Kind
	prefix string
	// urlPrefix is the web URL every PR of this fake starts with.
	urlPrefix string
}

var forgeCases = []forgeCase{
	{"github", GitHub, "", "https://github.example/acme/env/pull/"},
	{"github-enterprise", GitHub, "/api/v3", "https://github.example/acme/env/pull/"},
	{"gitlab", GitLab, "/api/v4", "https://gitlab.example/group/sub/env/-/merge_requests/"},
	{"gitea", Gitea, "/api/v1", "https://gitea.example/acme/env/pulls/"},
}

func TestOpenOrUpdateCreatesThenUpdates(t *testing.T) {
	for _, fc := range forgeCases {
		t.Run(fc.name, func(t *testing.T) {
			f := newFake(t, fc.kind, fc.prefix)
			c := f.client(t)
			ctx := context.Background()

			first, err := c.OpenOrUpdate(ctx, request("Roll back shop to v2", "first body"))
			if err != nil {
				t.Fatalf("first OpenOrUpdate: %v", err)
			}
			if !first.Created || first.Number != 1 || first.URL != fc.urlPrefix+"1" {
				t.Fatalf("first = %+v, want Created #1 at %s1", first, fc.urlPrefix)
			}

			second, err := c.OpenOrUpdate(ctx, request("Roll back shop to v2 (again)", "second body"))
			if err != nil {
				t.Fatalf("second OpenOrUpdate: %v", err)
			}
			if second.Created || second.Number != first.Number || second.URL != first.URL {
				t.Fatalf("second = %+v, want not Created, same number and URL as %+v", second, first)
			}
			prs := f.PRs()
			if len(prs) != 1 {
				t.Fatalf("the forge holds %d pull requests, want 1: %+v", len(prs), prs)
			}
			want := fakePR{Number: 1, Head: head, Base: "main", Title: "Roll back shop to v2 (again)", Body: "second body", Open: true, Updates: 1}
			if prs[0] != want {
				t.Errorf("pull request on the forge = %+v, want %+v", prs[0], want)
			}
		})
	}
}

// The exact requests made, path encoding included.
func TestOpenOrUpdateRequests(t *testing.T) {
	tests := []struct {
		name       string
		kind       Kind
		prefix     string
		noBaseHead bool
		want       []string
	}{
		{"github", GitHub, "", false, []string{
			"POST /repos/acme/env/pulls",
			"POST /repos/acme/env/pulls",
			"GET /repos/acme/env/pulls?base=main&head=acme%3Abgrender%2Fshop%2Frollback-v2&per_page=100&state=open",
			"PATCH /repos/acme/env/pulls/1",
		}},
		{"github-enterprise", GitHub, "/api/v3", false, []string{
			"POST /api/v3/repos/acme/env/pulls",
			"POST /api/v3/repos/acme/env/pulls",
			"GET /api/v3/repos/acme/env/pulls?base=main&head=acme%3Abgrender%2Fshop%2Frollback-v2&per_page=100&state=open",
			"PATCH /api/v3/repos/acme/env/pulls/1",
		}},
		{"gitlab", GitLab, "/api/v4", false, []string{
			"POST /api/v4/projects/group%2Fsub%2Fenv/merge_requests",
			"POST /api/v4/projects/group%2Fsub%2Fenv/merge_requests",
			"GET /api/v4/projects/group%2Fsub%2Fenv/merge_requests?per_page=100&source_branch=bgrender%2Fshop%2Frollback-v2&state=opened&target_branch=main",
			"PUT /api/v4/projects/group%2Fsub%2Fenv/merge_requests/1",
		}},
		{"gitea", Gitea, "/api/v1", false, []string{
			"POST /api/v1/repos/acme/env/pulls",
			"POST /api/v1/repos/acme/env/pulls",
			"GET /api/v1/repos/acme/env/pulls/main/bgrender/shop/rollback-v2",
			"PATCH /api/v1/repos/acme/env/pulls/1",
		}},
		{"gitea-before-1.22", Gitea, "/api/v1", true, []string{
			"POST /api/v1/repos/acme/env/pulls",
			"POST /api/v1/repos/acme/env/pulls",
			"GET /api/v1/repos/acme/env/pulls/main/bgrender/shop/rollback-v2",
			"GET /api/v1/repos/acme/env/pulls?base_branch=main&limit=20&page=1&state=open",
			"PATCH /api/v1/repos/acme/env/pulls/1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.kind, tt.prefix)
			f.NoBaseHead = tt.noBaseHead
			c := f.client(t)
			for i := range 2 {
				if _, err := c.OpenOrUpdate(context.Background(), request("t", "b")); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if got := f.Calls(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Gitea's base/head endpoint returns the first pull request of the pair
// whatever its state; a closed one must not be updated: the open one is
// found by listing, across pages the server caps at 2 entries.
func TestGiteaClosedPRFromBaseHeadFallsBackToList(t *testing.T) {
	f := newFake(t, Gitea, "/api/v1")
	f.PageCap = 2
	f.Seed(fakePR{Head: head, Base: "main", Title: "old", Body: "old", Open: false}) // #1, closed
	for i := range 4 {
		f.Seed(fakePR{Head: fmt.Sprintf("feature-%d", i), Base: "main", Title: "x", Open: true}) // #2-#5
	}
	f.Seed(fakePR{Head: head, Base: "main", Title: "fork", Open: true, Fork: true})     // #6, from a fork
	f.Seed(fakePR{Head: head, Base: "main", Title: "current", Body: "cur", Open: true}) // #7
	c := f.client(t)

	pr, err := c.OpenOrUpdate(context.Background(), request("new title", "new body"))
	if err != nil {
		t.Fatal(err)
	}
	if pr.Created || pr.Number != 7 {
		t.Fatalf("pr = %+v, want #7 updated", pr)
	}
	prs := f.PRs()
	if prs[0].Title != "old" || prs[5].Title != "fork" {
		t.Errorf("closed or fork pull request changed: %+v, %+v", prs[0], prs[5])
	}
	if prs[6].Title != "new title" || prs[6].Body != "new body" {
		t.Errorf("#7 = %+v, want the new title and body", prs[6])
	}
	var pages int
	for _, call := range f.Calls() {
		if strings.HasPrefix(call, "GET /api/v1/repos/acme/env/pulls?") {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("listed %d pages, want 3 (6 open pull requests, 2 a page): %v", pages, f.Calls())
	}
}

// A fork's merge request from a branch of the same name is listed by
// GitLab's filter but must not be the one updated.
func TestGitLabSkipsForkMergeRequest(t *testing.T) {
	f := newFake(t, GitLab, "/api/v4")
	f.Seed(fakePR{Head: head, Base: "main", Title: "fork", Open: true, Fork: true}) // !1
	f.Seed(fakePR{Head: head, Base: "main", Title: "ours", Open: true})             // !2
	pr, err := f.client(t).OpenOrUpdate(context.Background(), request("updated", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if pr.Created || pr.Number != 2 {
		t.Fatalf("pr = %+v, want !2 updated", pr)
	}
	if prs := f.PRs(); prs[0].Title != "fork" || prs[1].Title != "updated" {
		t.Errorf("forge holds %+v", prs)
	}
}

// A pull request the forge reported as existing but that is closed before
// it is found: creating again succeeds. If it keeps happening: ErrNoOpenPR.
func TestConflictButNoOpenPR(t *testing.T) {
	for _, fc := range forgeCases {
		t.Run(fc.name, func(t *testing.T) {
			f := newFake(t, fc.kind, fc.prefix)
			f.GhostConflicts = 1
			pr, err := f.client(t).OpenOrUpdate(context.Background(), request("t", "b"))
			if err != nil {
				t.Fatal(err)
			}
			if !pr.Created || pr.Number != 1 {
				t.Errorf("pr = %+v, want created #1 on the second try", pr)
			}

			f2 := newFake(t, fc.kind, fc.prefix)
			f2.GhostConflicts = 2
			_, err = f2.client(t).OpenOrUpdate(context.Background(), request("t", "b"))
			if !errors.Is(err, ErrNoOpenPR) {
				t.Fatalf("err = %v, want ErrNoOpenPR", err)
			}
			if !strings.Contains(err.Error(), "already exists") {
				t.Errorf("err = %v, want the forge's message quoted", err)
			}
			if n := len(f2.PRs()); n != 0 {
				t.Errorf("%d pull requests created", n)
			}
		})
	}
}

// Concurrent runs for the same branch end with one pull request, created
// by exactly one of them.
func TestOpenOrUpdateConcurrent(t *testing.T) {
	for _, fc := range forgeCases {
		t.Run(fc.name, func(t *testing.T) {
			f := newFake(t, fc.kind, fc.prefix)
			c := f.client(t)
			const n = 8
			var created atomic.Int32
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					pr, err := c.OpenOrUpdate(context.Background(), request(fmt.Sprintf("title %d", i), "b"))
					if err != nil {
						errs <- err
						return
					}
					if pr.Number != 1 {
						errs <- fmt.Errorf("run %d got #%d", i, pr.Number)
					}
					if pr.Created {
						created.Add(1)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if got := created.Load(); got != 1 {
				t.Errorf("%d runs created the pull request, want 1", got)
			}
			if prs := f.PRs(); len(prs) != 1 {
				t.Errorf("forge holds %d pull requests, want 1", len(prs))
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	forbidden := func(kind Kind) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			switch kind {
			case GitHub:
				forgetest.Reply(w, 403, map[string]any{"message": "Resource not accessible by personal access token", "status": "403"})
			case GitLab:
				forgetest.Reply(w, 403, map[string]any{"message": "403 Forbidden"})
			default:
				forgetest.Reply(w, 403, map[string]any{"message": "token does not have at least one of required scope(s): [write:repository]", "url": "https://gitea.example/api/swagger"})
			}
			return true
		}
	}
	tests := []struct {
		name   string
		kind   Kind
		prefix string
		setup  func(f *fakeForge, cfg *Config, r *Request)
		status int
		want   []string // substrings of the error
		is     error
	}{
		{"github 401", GitHub, "", func(f *fakeForge, _ *Config, _ *Request) { f.Token = "other" },
			401, []string{"github: POST /repos/acme/env/pulls answered 401 Unauthorized", `"Bad credentials"`, "GITHUB_TOKEN", "BGRENDER_FORGE_TOKEN"}, ErrUnauthorized},
		{"github 403", GitHub, "", func(f *fakeForge, _ *Config, _ *Request) { f.Override = forbidden(GitHub) },
			403, []string{"403 Forbidden", "Resource not accessible by personal access token", "repo scope", "Pull requests: read and write"}, ErrUnauthorized},
		{"github 404", GitHub, "/api/v3", func(_ *fakeForge, cfg *Config, _ *Request) { cfg.Repo = "acme/nope" },
			404, []string{"POST /api/v3/repos/acme/nope/pulls answered 404 Not Found", `"Not Found"`, "no repository acme/nope at", "--forge-repo", "--forge-url"}, ErrNotFound},
		{"github 422 other validation", GitHub, "", func(_ *fakeForge, _ *Config, r *Request) { r.Head = "no-such-branch" },
			422, []string{"422 Unprocessable Entity", `"Validation Failed; head invalid"`}, nil},
		{"gitlab 401", GitLab, "/api/v4", func(f *fakeForge, _ *Config, _ *Request) { f.Token = "other" },
			401, []string{"gitlab: POST /api/v4/projects/group%2Fsub%2Fenv/merge_requests answered 401", `"401 Unauthorized"`, "GITLAB_TOKEN"}, ErrUnauthorized},
		{"gitlab 403", GitLab, "/api/v4", func(f *fakeForge, _ *Config, _ *Request) { f.Override = forbidden(GitLab) },
			403, []string{"403 Forbidden", "api scope", "Developer role on group/sub/env"}, ErrUnauthorized},
		{"gitlab 404", GitLab, "/api/v4", func(_ *fakeForge, cfg *Config, _ *Request) { cfg.Repo = "group/nope" },
			404, []string{"/projects/group%2Fnope/merge_requests answered 404", `"404 Project Not Found"`, "no repository group/nope"}, ErrNotFound},
		{"gitlab 400 validation", GitLab, "/api/v4", func(_ *fakeForge, _ *Config, r *Request) { r.Title = strings.Repeat("x", 300) },
			400, []string{"400 Bad Request", `"title: is too long (maximum is 255 characters)"`}, nil},
		{"gitea 401", Gitea, "/api/v1", func(f *fakeForge, _ *Config, _ *Request) { f.Token = "other" },
			401, []string{"gitea: POST /api/v1/repos/acme/env/pulls answered 401", "invalid username, password or token", "GITEA_TOKEN"}, ErrUnauthorized},
		{"gitea 403", Gitea, "/api/v1", func(f *fakeForge, _ *Config, _ *Request) { f.Override = forbidden(Gitea) },
			403, []string{"403 Forbidden", "write:repository"}, ErrUnauthorized},
		{"gitea 404 base URL without /api/v1", Gitea, "/api/v1", func(f *fakeForge, cfg *Config, _ *Request) { cfg.BaseURL = f.Root },
			404, []string{"POST /repos/acme/env/pulls answered 404", "The target couldn't be found.", "https://HOST/api/v1"}, ErrNotFound},
		{"gitea 422", Gitea, "/api/v1", func(f *fakeForge, _ *Config, _ *Request) {
			f.Override = func(w http.ResponseWriter, r *http.Request) bool {
				forgetest.Reply(w, 422, map[string]any{"message": "Invalid PullRequest: base and head must be branches", "url": "https://gitea.example/api/swagger"})
				return true
			}
		}, 422, []string{"422 Unprocessable Entity", "base and head must be branches"}, nil},
		{"server error", GitLab, "/api/v4", func(f *fakeForge, _ *Config, _ *Request) {
			f.Override = func(w http.ResponseWriter, r *http.Request) bool {
				w.WriteHeader(502)
				fmt.Fprint(w, "<html><body>Bad Gateway</body></html>")
				return true
			}
		}, 502, []string{"502 Bad Gateway", "HTML page", "try again later"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.kind, tt.prefix)
			cfg := f.config()
			r := request("t", "b")
			tt.setup(f, &cfg, &r)
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.OpenOrUpdate(context.Background(), r)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, testToken) {
				t.Errorf("the error holds the token: %s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\nlacks %q", msg, w)
				}
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tt.status {
				t.Errorf("error %v: want an *APIError with status %d", err, tt.status)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if len(f.PRs()) != 0 {
				t.Errorf("a pull request was created")
			}
		})
	}
}

// A server that echoes the token (raw and URL-encoded) in its message and
// in a redirect: the error shows neither.
func TestTokenEchoedBackIsRedacted(t *testing.T) {
	const token = "glpat-Echo/Me+Secret=42"
	for _, fc := range forgeCases {
		t.Run(fc.name, func(t *testing.T) {
			f := newFake(t, fc.kind, fc.prefix)
			f.Override = func(w http.ResponseWriter, r *http.Request) bool {
				got := r.Header.Get("PRIVATE-TOKEN") + strings.TrimPrefix(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), "token ")
				if got != token {
					t.Errorf("server got token %q", got)
				}
				forgetest.Reply(w, 401, map[string]any{"message": "bad token " + got + " (" + url.QueryEscape(got) + ")"})
				return true
			}
			cfg := f.config()
			cfg.Token = token
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.OpenOrUpdate(context.Background(), request("t", "b"))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, token) || strings.Contains(msg, url.QueryEscape(token)) || strings.Contains(msg, "Secret") {
				t.Errorf("the token leaked: %s", msg)
			}
			if !strings.Contains(msg, "bad token [REDACTED] ([REDACTED])") {
				t.Errorf("error %q: want the message with the token redacted", msg)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || strings.Contains(apiErr.Message, "Secret") {
				t.Errorf("APIError.Message holds the token: %+v", apiErr)
			}
		})
	}
}

// Redirects are not followed: the token is never sent to another address,
// and the error says where the forge points.
func TestRedirectNotFollowed(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		forgetest.Reply(w, 201, map[string]any{"number": 1, "html_url": "x"})
	}))
	defer elsewhere.Close()
	for _, fc := range forgeCases {
		t.Run(fc.name, func(t *testing.T) {
			f := newFake(t, fc.kind, fc.prefix)
			f.Override = func(w http.ResponseWriter, r *http.Request) bool {
				http.Redirect(w, r, elsewhere.URL+"/new/api?token="+testToken, http.StatusTemporaryRedirect)
				return true
			}
			cfg := f.config()
			cfg.HTTP = &http.Client{Timeout: 5 * time.Second}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.HTTP.CheckRedirect != nil {
				t.Error("New changed the caller's http.Client")
			}
			_, err = c.OpenOrUpdate(context.Background(), request("t", "b"))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range []string{"307 Temporary Redirect", elsewhere.URL + "/new/api", "--forge-url"} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, testToken) {
				t.Errorf("the token leaked: %s", msg)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

func TestResponseTooLarge(t *testing.T) {
	f := newFake(t, GitHub, "")
	f.Override = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"number": 1, "html_url": "%s"}`, strings.Repeat("x", maxBody))
		return true
	}
	_, err := f.client(t).OpenOrUpdate(context.Background(), request("t", "b"))
	if err == nil || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Fatalf("err = %v, want the size limit named", err)
	}
}

func TestNotJSONAnswer(t *testing.T) {
	f := newFake(t, Gitea, "/api/v1")
	f.Override = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(201)
		fmt.Fprint(w, "<html>login page</html>")
		return true
	}
	_, err := f.client(t).OpenOrUpdate(context.Background(), request("t", "b"))
	if err == nil || !strings.Contains(err.Error(), "not with the expected JSON") {
		t.Fatalf("err = %v", err)
	}
}

func TestContextCanceled(t *testing.T) {
	f := newFake(t, GitLab, "/api/v4")
	arrived := make(chan struct{})
	f.Override = func(w http.ResponseWriter, r *http.Request) bool {
		// Read the body: only then does the server notice a closed
		// connection and cancel the request's context.
		_, _ = io.Copy(io.Discard, r.Body)
		close(arrived)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := f.client(t).OpenOrUpdate(ctx, request("t", "b"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestOpenOrUpdateRequestValidation(t *testing.T) {
	tests := []struct {
		name string
		r    Request
		want string
	}{
		{"no head", Request{Base: "main", Title: "t"}, "no head branch"},
		{"no base", Request{Head: "x", Title: "t"}, "no base branch"},
		{"same", Request{Head: "main", Base: "main", Title: "t"}, "same branch"},
		{"no title", Request{Head: "x", Base: "main", Title: "  "}, "no title"},
	}
	f := newFake(t, GitHub, "")
	c := f.client(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.OpenOrUpdate(context.Background(), tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("invalid requests reached the forge: %v", calls)
	}
}
