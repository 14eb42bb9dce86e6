package gitops_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestNoRedirectWithCredentials: a git server that redirects, to another
// port of the same host, is an error naming the location, for the clone and
// for the push of a checkout's origin; the redirect target never sees a
// request, so never the token.
func TestNoRedirectWithCredentials(t *testing.T) {
	dir, url0 := gitopstest.NewRemote(t, "main")
	gitopstest.Seed(t, url0, "main", seedFiles, "seed")
	real := gitopstest.ServeHTTP(t, dir, "git", "s3cret-token")
	var mu sync.Mutex
	var stolen []string
	target, _ := url.Parse(real)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		stolen = append(stolen, r.Header.Get("Authorization"))
		mu.Unlock()
		proxy.ServeHTTP(w, r) // a working server, so that following would succeed
	}))
	defer thief.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, thief.URL+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	defer front.Close()
	repo := front.URL + "/repo.git"
	auth := gitops.Auth{Token: "s3cret-token"}

	_, err := gitops.Open(context.Background(), gitops.Options{Repo: repo, Auth: auth, Push: true})
	if err == nil || !strings.Contains(err.Error(), "redirects disabled to "+thief.URL+"/repo.git/info/refs") {
		t.Fatalf("Open through a redirect = %v, want an error naming the location", err)
	}
	if strings.Contains(err.Error(), "s3cret-token") {
		t.Errorf("the error shows the token: %v", err)
	}

	// A checkout whose origin redirects: the push is refused the same way.
	checkout := gitopstest.Clone(t, url0)
	gitopstest.Git(t, checkout, "remote", "set-url", "origin", repo)
	r := open(t, gitops.Options{Repo: checkout, Auth: auth, Push: true})
	_, err = r.Apply(context.Background(), appChange(1))
	if err == nil || !strings.Contains(err.Error(), "redirects disabled to "+thief.URL) {
		t.Fatalf("Apply through a redirect = %v, want an error naming the location", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stolen) != 0 {
		t.Fatalf("the redirect target got %d request(s) (Authorization %q)", len(stolen), stolen)
	}
}
