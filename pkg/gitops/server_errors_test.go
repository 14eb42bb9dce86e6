package gitops_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestServerErrors: with the real git server, a push the server refuses for
// its own reasons (a hook, a storage failure, 403, 500) is not a lost race:
// it is not ErrPushRejected (so no retry), and the error quotes the server.
// A lost race still is ErrPushRejected.
func TestServerErrors(t *testing.T) {
	ctx := context.Background()
	auth := gitops.Auth{Username: "bot", Token: "s3cret"}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, s *gitopstest.GitServer, dir string)
		race  bool
		want  []string
	}{
		{name: "lost race", race: true, want: []string{"main is at "}},
		{name: "hook declines", setup: func(t *testing.T, s *gitopstest.GitServer, dir string) {
			hook := filepath.Join(dir, "hooks", "pre-receive")
			if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'GL-HOOK-ERR: main is protected' >&2\nexit 1\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"the server refused to update main: pre-receive hook declined (the server said: GL-HOOK-ERR: main is protected)"}},
		{name: "storage failure", setup: func(t *testing.T, s *gitopstest.GitServer, dir string) {
			gitopstest.Git(t, dir, "config", "receive.maxInputSize", "10")
		}, want: []string{"the server could not store the pushed objects", "unpack"}},
		{name: "403", setup: func(t *testing.T, s *gitopstest.GitServer, dir string) {
			s.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.RawQuery, "git-receive-pack") || strings.HasSuffix(r.URL.Path, "git-receive-pack") {
					http.Error(w, "this token may read but not push", http.StatusForbidden)
					return true
				}
				return false
			}
		}, want: []string{"the server refused to let these credentials push (HTTP 403: this token may read but not push)"}},
		{name: "500", setup: func(t *testing.T, s *gitopstest.GitServer, dir string) {
			s.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "git-receive-pack") {
					http.Error(w, "storage backend unavailable", http.StatusInternalServerError)
					return true
				}
				return false
			}
		}, want: []string{"the server failed (HTTP 500): storage backend unavailable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := gitopstest.ServeGit(t, "bot", "s3cret")
			url := s.NewRepo(t, "env")
			dir := s.Dir("env")
			seeder := open(t, gitops.Options{Repo: url, Auth: auth, Push: true})
			if _, err := seeder.Apply(ctx, gitops.Change{Dir: ".", Files: map[string][]byte{"README.md": []byte("hi\n")}, Message: "seed\n", Author: author(0)}); err != nil {
				t.Fatal(err)
			}
			r := open(t, gitops.Options{Repo: url, Auth: auth, Push: true})
			if tc.race {
				if _, err := seeder.Apply(ctx, appChange(1)); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(t, s, dir)
			}
			head := gitopstest.Head(t, dir, "main")
			_, err := r.Apply(ctx, appChange(2))
			if err == nil {
				t.Fatal("the push succeeded")
			}
			if errors.Is(err, gitops.ErrPushRejected) != tc.race {
				t.Errorf("errors.Is(ErrPushRejected) = %v, want %v: %v", !tc.race, tc.race, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the token: %v", err)
			}
			if gitopstest.Head(t, dir, "main") != head {
				t.Errorf("the remote moved")
			}
		})
	}
}
