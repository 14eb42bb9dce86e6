package gitopstest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GitServer is the real git (git http-backend, as CGI) serving bare
// repositories over smart HTTP, behind basic auth, on loopback: what a
// forge's git endpoint does, with its real statuses (a hook's refusal, a
// storage failure).
type GitServer struct {
	// URL is the base URL; a repo is at URL + "/" + name + ".git".
	URL        string
	Root       string
	User, Pass string
	// Intercept, when set, sees every authenticated request first and
	// answers it itself by returning true (a 403, a 500).
	Intercept func(w http.ResponseWriter, r *http.Request) bool
}

// ServeGit starts a git HTTP server for the test, with pushing enabled. It
// needs the git binary.
func ServeGit(t testing.TB, user, pass string) *GitServer {
	t.Helper()
	s := &GitServer{Root: t.TempDir(), User: user, Pass: pass}
	h, err := HTTPBackend(s.Root, user)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(pass)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		if s.Intercept != nil && s.Intercept(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// HTTPBackend is git http-backend as a CGI handler serving the bare
// repositories under root over smart HTTP, pushing enabled, as user. It
// needs the git binary.
func HTTPBackend(root, user string) (*cgi.Handler, error) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git is needed for the git HTTP server (apt-get install -y git): %w", err)
	}
	backend := filepath.Join(filepath.Dir(gitBin), "..", "lib", "git-core", "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		out, err := exec.Command(gitBin, "--exec-path").Output()
		if err != nil {
			return nil, fmt.Errorf("find git-http-backend: %w", err)
		}
		backend = filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	}
	return &cgi.Handler{
		Path: backend,
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + user,
			// As root, git refuses repositories owned by another user as
			// "dubious ownership"; and pushing over HTTP must be enabled.
			"GIT_CONFIG_COUNT=2",
			"GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*",
			"GIT_CONFIG_KEY_1=http.receivepack", "GIT_CONFIG_VALUE_1=true",
		},
	}, nil
}

// NewRepo creates an empty bare repository name.git whose HEAD is main, and
// returns its URL (without credentials).
func (s *GitServer) NewRepo(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(s.Root, name+".git")
	out, err := exec.Command("git", "init", "--bare", "--initial-branch=main", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("git init --bare %s: %v\n%s", dir, err, out)
	}
	return s.URL + "/" + name + ".git"
}

// Dir returns the bare repository's directory on disk.
func (s *GitServer) Dir(name string) string { return filepath.Join(s.Root, name+".git") }
