package forge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/bgrender/bgrender/pkg/forge"
)

// A minimal GitHub stand-in: one repository, pull requests in memory.
func fakeGitHub() *httptest.Server {
	var mu sync.Mutex
	open := map[string]int{} // head branch -> number
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost:
			var in struct{ Head string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			if _, ok := open[in.Head]; ok {
				w.WriteHeader(422)
				fmt.Fprintf(w, `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:%s."}]}`, in.Head)
				return
			}
			open[in.Head] = len(open) + 1
			w.WriteHeader(201)
			fmt.Fprintf(w, `{"number":%d,"html_url":"https://github.com/acme/env/pull/%d"}`, open[in.Head], open[in.Head])
		case r.Method == http.MethodGet:
			head := r.URL.Query().Get("head")[len("acme:"):]
			n := open[head]
			fmt.Fprintf(w, `[{"number":%d,"state":"open","html_url":"https://github.com/acme/env/pull/%d","head":{"ref":%q},"base":{"ref":"main"}}]`, n, n, head)
		case r.Method == http.MethodPatch:
			fmt.Fprint(w, `{"number":1,"html_url":"https://github.com/acme/env/pull/1"}`)
		}
	}))
}

func ExampleClient_OpenOrUpdate() {
	srv := fakeGitHub() // in real use: leave BaseURL empty for github.com
	defer srv.Close()

	c, err := forge.New(forge.Config{Kind: forge.GitHub, BaseURL: srv.URL, Repo: "acme/env", Token: "ghp_example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := forge.Request{
		Head:  "bgrender/shop/rollback-v41",
		Base:  "main",
		Title: "Roll back shop to v41",
		Body:  "bgrender rollback: blue (v42) -> green (v41)",
	}
	for range 2 {
		pr, err := c.OpenOrUpdate(context.Background(), req)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("created=%v #%d %s\n", pr.Created, pr.Number, pr.URL)
	}
	// Output:
	// created=true #1 https://github.com/acme/env/pull/1
	// created=false #1 https://github.com/acme/env/pull/1
}

func ExampleFromRemote() {
	for _, remote := range []string{
		"git@github.com:acme/env.git",
		"https://oauth2:glpat-secret@gitlab.com/platform/deploy/env.git",
		"https://gitea.example.com/acme/env.git",
	} {
		kind, baseURL, repo, ok := forge.FromRemote(remote)
		fmt.Printf("%q %q %q %v\n", kind, baseURL, repo, ok)
	}
	// Output:
	// "github" "https://api.github.com" "acme/env" true
	// "gitlab" "https://gitlab.com/api/v4" "platform/deploy/env" true
	// "" "" "acme/env" false
}

func ExampleNew() {
	_, err := forge.New(forge.Config{Kind: forge.Gitea, Repo: "acme/env", Token: "t"})
	fmt.Println(err)
	_, err = forge.New(forge.Config{Kind: forge.GitLab, Repo: "group/env"})
	fmt.Println(err)
	// Output:
	// --forge-url: required for gitea: the API base URL, e.g. https://gitea.example.com/api/v1
	// forge token: missing: set BGRENDER_FORGE_TOKEN or GITLAB_TOKEN
}
