package wait_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/wait"
)

// The reference responses are real Argo CD v2.14 answers to GET
// /api/v1/applications/app (see testdata/wait): the app synced to refSHA,
// and the same app after a commit that broke its kustomize build.
const (
	syncedFile     = "argocd-v2.14-application-synced.json"
	compErrorFile  = "argocd-v2.14-application-comparison-error.json"
	refSHA         = "05c5a5c22a1b385e13e79886fe4f3dfcb990f3f2" // status.sync.revision of the synced reference
	oldSHA         = "372e7b4f5dddefa29b4e5da4a1aed4e335756d7e" // the app's first revision (history[0])
	newSHA         = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c" // a commit made after refSHA
	descSHA        = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678" // a descendant of newSHA
	token          = "s3cr3t-t0ken-value"
	refFinished    = "2026-11-25T17:45:47Z" // operationState.finishedAt of the synced reference
	refHealthSince = "2026-11-25T17:44:38Z" // status.health.lastTransitionTime of both
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// loadApp reads a reference response as generic JSON, to be edited per case
// and served as is.
func loadApp(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "wait", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// set sets the value at a dotted path ("status.sync.revision"), creating
// objects on the way.
func set(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// del deletes the value at a dotted path.
func del(m map[string]any, path string) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, parts[len(parts)-1])
}

// argoServer is a stand-in for the Argo CD server's application endpoint.
type argoServer struct {
	t  testing.TB
	mu sync.Mutex
	// respond answers a GET for the app (refresh is the ?refresh= value):
	// a status code and a body (JSON-encoded unless a string).
	respond func(refresh string) (int, any)
	seen    []string // "path?query auth"
	srv     *httptest.Server
}

func newArgoServer(t testing.TB, respond func(refresh string) (int, any)) *argoServer {
	t.Helper()
	s := &argoServer{t: t, respond: respond}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		respond := s.respond
		s.mu.Unlock()
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/applications/app" {
			http.Error(w, `{"error":"not found","code":5,"message":"not found"}`, http.StatusNotFound)
			return
		}
		code, body := respond(r.URL.Query().Get("refresh"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if s, ok := body.(string); ok {
			w.Write([]byte(s))
			return
		}
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *argoServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func (s *argoServer) source() *wait.ArgoCDREST {
	return &wait.ArgoCDREST{Server: s.srv.URL + "/", Token: token, App: "app", HTTPClient: s.srv.Client()}
}

// serve returns a respond function that always serves app.
func serve(app map[string]any) func(string) (int, any) {
	return func(string) (int, any) { return http.StatusOK, app }
}

// fakeAcceptor accepts the revisions in ok and refuses the others with the
// why in why (or a default).
type fakeAcceptor struct {
	mu    sync.Mutex
	ok    map[string]bool
	why   map[string]string
	err   error
	calls []string // "commit revision"
}

func (f *fakeAcceptor) Accept(_ context.Context, commit, revision string) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, commit+" "+revision)
	if f.err != nil {
		return false, "", f.err
	}
	if f.ok[revision] {
		return true, "", nil
	}
	if w, ok := f.why[revision]; ok {
		return false, w, nil
	}
	return false, "revision " + short(revision) + " is not a descendant of " + short(commit), nil
}

func short(s string) string { return s[:min(len(s), 7)] }

func acceptor() *fakeAcceptor {
	return &fakeAcceptor{
		ok:  map[string]bool{descSHA: true},
		why: map[string]string{},
	}
}

func TestArgoCDObserve(t *testing.T) {
	finished := mustTime(t, refFinished)
	type want struct {
		done     bool
		revision string
		sync     string
		health   string
		waiting  []string // substrings of Observation.Waiting
		reason   string   // a *FailedError with this Reason
		message  []string // substrings of its Message
		errText  string   // another error containing this
	}
	cases := []struct {
		name   string
		file   string
		edit   func(app map[string]any)
		commit string
		acc    wait.Acceptor // default: acceptor()
		noAcc  bool          // pass a nil Acceptor
		path   string
		cool   time.Duration
		now    time.Time
		want   want
	}{
		{
			name: "synced to our commit after the cooldown", commit: refSHA, now: finished.Add(10 * time.Second),
			want: want{done: true, revision: refSHA, sync: "Synced", health: "Healthy"},
		},
		{
			// Health never left Healthy (its transition is a minute old): the
			// cooldown counts from the sync's end.
			name: "synced, inside the cooldown from the sync's end", commit: refSHA, now: finished.Add(6 * time.Second),
			want: want{revision: refSHA, sync: "Synced", health: "Healthy", waiting: []string{"Healthy for 6s, cooldown 4s left"}},
		},
		{
			name: "synced, custom cooldown", commit: refSHA, now: finished.Add(6 * time.Second), cool: 5 * time.Second,
			want: want{done: true, revision: refSHA, sync: "Synced", health: "Healthy"},
		},
		{
			name: "synced, no cooldown", commit: refSHA, now: finished, cool: -1,
			want: want{done: true, revision: refSHA, sync: "Synced", health: "Healthy"},
		},
		{
			name: "stale revision", commit: newSHA, now: finished.Add(time.Hour),
			want: want{revision: refSHA, sync: "Synced", health: "Healthy", waiting: []string{"revision 05c5a5c is not 9f8e7d6 yet: revision 05c5a5c is not a descendant of 9f8e7d6"}},
		},
		{
			name: "stale revision, no acceptor", commit: newSHA, now: finished.Add(time.Hour), noAcc: true,
			want: want{revision: refSHA, sync: "Synced", health: "Healthy", waiting: []string{"revision 05c5a5c is not 9f8e7d6 yet"}},
		},
		{
			name: "no revision yet", commit: newSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				del(app, "status.sync.revision")
				set(app, "status.sync.status", "OutOfSync")
			},
			want: want{sync: "OutOfSync", health: "Healthy", waiting: []string{"no revision reported yet, want 9f8e7d6"}},
		},
		{
			name: "descendant the acceptor rejects", commit: newSHA, now: finished.Add(time.Hour),
			acc:  &fakeAcceptor{why: map[string]string{refSHA: "revision 05c5a5c changes apps/app after 9f8e7d6 (overlays/virtualservice.yaml)"}},
			want: want{revision: refSHA, sync: "Synced", health: "Healthy", waiting: []string{"revision 05c5a5c is not 9f8e7d6 yet: revision 05c5a5c changes apps/app after 9f8e7d6 (overlays/virtualservice.yaml)"}},
		},
		{
			name: "descendant the acceptor accepts", commit: newSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.sync.revision", descSHA)
				set(app, "status.operationState.syncResult.revision", descSHA)
				set(app, "status.operationState.operation.sync.revision", descSHA)
			},
			want: want{done: true, revision: descSHA, sync: "Synced", health: "Healthy"},
		},
		{
			name: "acceptor error", commit: newSHA, now: finished.Add(time.Hour),
			acc:  &fakeAcceptor{err: errors.New("unknown revision")},
			want: want{errText: "is revision 05c5a5c acceptable for 9f8e7d6: unknown revision"},
		},
		{
			name: "out of sync at our revision", commit: refSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) { set(app, "status.sync.status", "OutOfSync") },
			want: want{revision: refSHA, sync: "OutOfSync", health: "Healthy", waiting: []string{"sync status is OutOfSync, want Synced"}},
		},
		{
			// A resource that stays OutOfSync (here one stuck deleting) is
			// named with its health, so that a wait that times out says which.
			name: "out of sync: the resources that are", commit: refSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.sync.status", "OutOfSync")
				set(app, "status.resources", []any{
					map[string]any{"group": "apps", "kind": "Deployment", "namespace": "default", "name": "app-blue", "status": "OutOfSync",
						"health": map[string]any{"status": "Progressing", "message": "Pending deletion"}},
					map[string]any{"kind": "Service", "namespace": "default", "name": "app", "status": "Synced"},
				})
			},
			want: want{revision: refSHA, sync: "OutOfSync", health: "Healthy", waiting: []string{"sync status is OutOfSync, want Synced; Deployment default/app-blue is OutOfSync, Progressing: Pending deletion"}},
		},
		{
			name: "operation Failed for our commit", commit: refSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.sync.status", "OutOfSync")
				set(app, "status.operationState.phase", "Failed")
				set(app, "status.operationState.message", `one or more objects failed to apply, reason: Deployment.apps "app-green" is invalid: spec.template.spec.containers[0].image: Required value`)
			},
			want: want{reason: "SyncFailed", message: []string{`Deployment.apps "app-green" is invalid`}},
		},
		{
			name: "operation Error for an accepted descendant, revision only in the operation", commit: newSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.sync.status", "OutOfSync")
				set(app, "status.operationState.phase", "Error")
				set(app, "status.operationState.message", "rpc error: code = Unknown desc = hook failed")
				del(app, "status.operationState.syncResult")
				set(app, "status.operationState.operation.sync.revision", descSHA)
			},
			want: want{reason: "SyncError", message: []string{"hook failed"}},
		},
		{
			// Argo CD will sync our commit next; the failure is not ours.
			name: "operation Failed for an older revision", commit: newSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.sync.revision", newSHA)
				set(app, "status.sync.status", "OutOfSync")
				set(app, "status.operationState.phase", "Failed")
				set(app, "status.operationState.message", "older failure")
			},
			want: want{revision: newSHA, sync: "OutOfSync", health: "Healthy", waiting: []string{"sync status is OutOfSync"}},
		},
		{
			name: "ComparisonError while Healthy", file: compErrorFile, commit: refSHA, now: finished.Add(time.Hour),
			want: want{reason: "ComparisonError", message: []string{"Failed to load target state", "missing.yaml: no such file or directory"}},
		},
		{
			// The broken commit is not named anywhere: any commit we wait for fails.
			name: "ComparisonError while Healthy, waiting for a newer commit", file: compErrorFile, commit: newSHA, now: finished.Add(time.Hour),
			want: want{reason: "ComparisonError", message: []string{"kustomize build"}},
		},
		{
			name: "InvalidSpecError", commit: refSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.conditions", []any{map[string]any{"type": "InvalidSpecError", "message": "Unable to generate manifests in app: rpc error: app path does not exist"}})
			},
			want: want{reason: "InvalidSpecError", message: []string{"app path does not exist"}},
		},
		{
			name: "SyncError condition is reported while waiting", commit: refSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.sync.status", "OutOfSync")
				set(app, "status.conditions", []any{map[string]any{"type": "SyncError", "message": "Failed sync attempt: one or more synchronization tasks are not valid"}})
			},
			want: want{revision: refSHA, sync: "OutOfSync", health: "Healthy", waiting: []string{"sync status is OutOfSync, want Synced (SyncError: Failed sync attempt"}},
		},
		{
			name: "Degraded at our revision", commit: refSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.health.status", "Degraded")
				set(app, "status.resources", []any{
					map[string]any{"kind": "Service", "namespace": "default", "name": "app", "status": "Synced", "health": map[string]any{"status": "Healthy"}},
					map[string]any{"group": "apps", "kind": "Deployment", "namespace": "default", "name": "app-green", "status": "Synced",
						"health": map[string]any{"status": "Degraded", "message": `Deployment "app-green" exceeded its progress deadline`}},
				})
			},
			want: want{reason: "Degraded", message: []string{`Deployment default/app-green is Degraded: Deployment "app-green" exceeded its progress deadline`}},
		},
		{
			name: "Degraded at an accepted revision whose sync finished, still OutOfSync", commit: newSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.sync.revision", descSHA)
				set(app, "status.sync.status", "OutOfSync")
				set(app, "status.health.status", "Degraded")
				set(app, "status.operationState.syncResult.revision", descSHA)
			},
			want: want{reason: "Degraded", message: []string{"health is Degraded"}},
		},
		{
			name: "Degraded at an older revision", commit: newSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) { set(app, "status.health.status", "Degraded") },
			want: want{revision: refSHA, sync: "Synced", health: "Degraded", waiting: []string{"revision 05c5a5c is not 9f8e7d6 yet"}},
		},
		{
			name: "Degraded while our sync runs", commit: newSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.sync.revision", newSHA)
				set(app, "status.sync.status", "OutOfSync")
				set(app, "status.health.status", "Degraded")
				set(app, "status.operationState.phase", "Running")
				set(app, "status.operationState.message", "waiting for healthy state of apps/Deployment/app-green")
				set(app, "status.operationState.operation.sync.revision", newSHA)
				del(app, "status.operationState.syncResult")
				del(app, "status.operationState.finishedAt")
			},
			want: want{revision: newSHA, sync: "OutOfSync", health: "Degraded", waiting: []string{"sync status is OutOfSync"}},
		},
		{
			name: "Progressing", commit: refSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.health.status", "Progressing")
				set(app, "status.resources", []any{map[string]any{"group": "apps", "kind": "Deployment", "namespace": "default", "name": "app-green",
					"health": map[string]any{"status": "Progressing", "message": "Waiting for rollout to finish: 1 of 2 updated replicas are available..."}}})
			},
			want: want{revision: refSHA, sync: "Synced", health: "Progressing", waiting: []string{"health is Progressing, want Healthy: Deployment default/app-green is Progressing: Waiting for rollout"}},
		},
		{
			name: "health changed after the sync: cooldown from the change", commit: refSHA, now: finished.Add(12 * time.Second),
			edit: func(app map[string]any) { set(app, "status.health.lastTransitionTime", "2026-11-25T17:45:55Z") },
			want: want{revision: refSHA, sync: "Synced", health: "Healthy", waiting: []string{"Healthy for 4s, cooldown 6s left"}},
		},
		{
			name: "health changed after the sync, cooldown over", commit: refSHA, now: finished.Add(18 * time.Second),
			edit: func(app map[string]any) { set(app, "status.health.lastTransitionTime", "2026-11-25T17:45:55Z") },
			want: want{done: true, revision: refSHA, sync: "Synced", health: "Healthy"},
		},
		{
			name: "operation running (finishedAt unset)", commit: refSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) {
				set(app, "status.operationState.phase", "Running")
				set(app, "status.operationState.message", "waiting for completion of hook batch/Job/migrate")
				del(app, "status.operationState.finishedAt")
			},
			want: want{revision: refSHA, sync: "Synced", health: "Healthy", waiting: []string{"sync operation is Running: waiting for completion of hook batch/Job/migrate"}},
		},
		{
			name: "reconciledAt before finishedAt", commit: refSHA, now: finished.Add(time.Hour),
			edit: func(app map[string]any) { set(app, "status.reconciledAt", "2026-11-25T17:45:40Z") },
			want: want{revision: refSHA, sync: "Synced", health: "Healthy", waiting: []string{"has not reconciled the app since its sync finished at 2026-11-25T17:45:47Z"}},
		},
		{
			name: "no operation: cooldown from the health change", commit: refSHA, now: mustTime(t, refHealthSince).Add(3 * time.Second),
			edit: func(app map[string]any) { del(app, "status.operationState") },
			want: want{revision: refSHA, sync: "Synced", health: "Healthy", waiting: []string{"cooldown 7s left"}},
		},
		{
			name: "no operation, Healthy long ago", commit: refSHA, now: finished,
			edit: func(app map[string]any) { del(app, "status.operationState") },
			want: want{done: true, revision: refSHA, sync: "Synced", health: "Healthy"},
		},
		{
			name: "multi-source, source picked by path", commit: newSHA, now: finished.Add(time.Hour), path: "./app/",
			edit: multiSource,
			want: want{done: true, revision: newSHA, sync: "Synced", health: "Healthy"},
		},
		{
			name: "multi-source, our source's revision is stale", commit: newSHA, now: finished.Add(time.Hour), path: "app",
			edit: func(app map[string]any) {
				multiSource(app)
				set(app, "status.sync.revisions", []any{"1.2.3", refSHA})
			},
			want: want{revision: refSHA, sync: "Synced", health: "Healthy", waiting: []string{"revision 05c5a5c is not 9f8e7d6 yet"}},
		},
		{
			name: "multi-source, no path: first source", commit: newSHA, now: finished.Add(time.Hour),
			edit: multiSource,
			want: want{revision: "1.2.3", sync: "Synced", health: "Healthy", waiting: []string{"revision 1.2.3 is not 9f8e7d6 yet"}},
		},
		{
			name: "multi-source, operation Failed for our source", commit: newSHA, now: finished.Add(time.Hour), path: "app",
			edit: func(app map[string]any) {
				multiSource(app)
				set(app, "status.sync.status", "OutOfSync")
				set(app, "status.operationState.phase", "Failed")
				set(app, "status.operationState.message", "multi failed")
			},
			want: want{reason: "SyncFailed", message: []string{"multi failed"}},
		},
		{
			name: "multi-source, no source has the path", commit: newSHA, now: finished.Add(time.Hour), path: "apps/nope",
			edit: multiSource,
			want: want{errText: `no source of the app has path "apps/nope" (its sources' paths: "", "app")`},
		},
		{
			name: "single source ignores the path", commit: refSHA, now: finished.Add(time.Hour), path: "apps/other",
			want: want{done: true, revision: refSHA, sync: "Synced", health: "Healthy"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = syncedFile
			}
			app := loadApp(t, file)
			if tc.edit != nil {
				tc.edit(app)
			}
			srv := newArgoServer(t, serve(app))
			src := srv.source()
			src.Path, src.Cooldown = tc.path, tc.cool
			var acc wait.Acceptor = acceptor()
			if tc.acc != nil {
				acc = tc.acc
			}
			if tc.noAcc {
				acc = nil
			}
			obs, err := src.Observe(context.Background(), tc.commit, acc, tc.now)
			w := tc.want
			switch {
			case w.reason != "":
				var fe *wait.FailedError
				if !errors.As(err, &fe) {
					t.Fatalf("Observe = %+v, %v; want a *FailedError", obs, err)
				}
				if fe.Reason != w.reason || fe.Commit != tc.commit || fe.Source != "argocd app app" {
					t.Errorf("FailedError = %+v; want Reason %s, Commit %s", fe, w.reason, tc.commit)
				}
				for _, m := range w.message {
					if !strings.Contains(fe.Message, m) {
						t.Errorf("Message = %q, want it to quote %q", fe.Message, m)
					}
				}
				if !wait.IsPermanent(err) {
					t.Errorf("IsPermanent(%v) = false", err)
				}
				return
			case w.errText != "":
				if err == nil || !strings.Contains(err.Error(), w.errText) {
					t.Fatalf("Observe error = %v; want one containing %q", err, w.errText)
				}
				var fe *wait.FailedError
				if errors.As(err, &fe) {
					t.Errorf("error %v is a *FailedError", err)
				}
				return
			case err != nil:
				t.Fatalf("Observe: %v", err)
			}
			if obs.Done != w.done || obs.Revision != w.revision || obs.Sync != w.sync || obs.Health != w.health {
				t.Errorf("Observation = %+v; want done %v, revision %q, sync %q, health %q", obs, w.done, w.revision, w.sync, w.health)
			}
			if obs.Done && obs.Waiting != "" {
				t.Errorf("Waiting = %q on a Done observation", obs.Waiting)
			}
			if !obs.Done && obs.Waiting == "" {
				t.Errorf("Waiting is empty on an observation that is not Done")
			}
			for _, s := range w.waiting {
				if !strings.Contains(obs.Waiting, s) {
					t.Errorf("Waiting = %q, want it to contain %q", obs.Waiting, s)
				}
			}
		})
	}
}

// multiSource turns the synced reference into a multi-source app: a Helm
// chart first, then our env repo path, synced to newSHA.
func multiSource(app map[string]any) {
	src := app["spec"].(map[string]any)["source"]
	del(app, "spec.source")
	set(app, "spec.sources", []any{
		map[string]any{"repoURL": "https://charts.example.com", "chart": "base", "targetRevision": "1.2.3"},
		src,
	})
	del(app, "status.sync.revision")
	set(app, "status.sync.revisions", []any{"1.2.3", newSHA})
	del(app, "status.operationState.syncResult.revision")
	set(app, "status.operationState.syncResult.revisions", []any{"1.2.3", newSHA})
	del(app, "status.operationState.operation.sync.revision")
	set(app, "status.operationState.operation.sync.revisions", []any{"1.2.3", newSHA})
}

func TestArgoCDAcceptorCalls(t *testing.T) {
	// The acceptor does I/O: it is asked once per revision, and not at all
	// about the commit itself.
	app := loadApp(t, syncedFile)
	srv := newArgoServer(t, serve(app))
	acc := acceptor()
	if _, err := srv.source().Observe(context.Background(), refSHA, acc, mustTime(t, refFinished)); err != nil {
		t.Fatal(err)
	}
	if len(acc.calls) != 0 {
		t.Errorf("acceptor asked %v about the commit itself", acc.calls)
	}
	set(app, "status.operationState.phase", "Failed")
	if _, err := srv.source().Observe(context.Background(), newSHA, acc, mustTime(t, refFinished)); err != nil {
		t.Fatal(err)
	}
	if want := []string{newSHA + " " + refSHA}; strings.Join(acc.calls, ",") != strings.Join(want, ",") {
		t.Errorf("acceptor calls = %v, want %v", acc.calls, want)
	}
}

func TestArgoCDHTTP(t *testing.T) {
	ctx := context.Background()
	now := mustTime(t, refFinished).Add(time.Hour)
	tokenBody := `{"error":"invalid session: token ` + token + ` has invalid claims","code":16,"message":"invalid session: token ` + token + ` has invalid claims"}`
	cases := []struct {
		name      string
		code      int
		body      any
		is        error
		permanent bool
		want      []string
	}{
		{name: "401", code: http.StatusUnauthorized, body: tokenBody, is: wait.ErrUnauthorized, permanent: true,
			want: []string{"argocd app app: the Argo CD server refused the token (401 Unauthorized): invalid session: token [token] has invalid claims"}},
		{name: "403", code: http.StatusForbidden, body: `{"error":"permission denied","code":7,"message":"permission denied"}`, is: wait.ErrUnauthorized, permanent: true,
			want: []string{"refused the token or it may not read the app (403 Forbidden", "permission denied"}},
		{name: "404", code: http.StatusNotFound, body: `{"error":"applications.argoproj.io \"app\" not found","code":5,"message":"applications.argoproj.io \"app\" not found"}`, is: wait.ErrNotFound, permanent: true,
			want: []string{"argocd app app not found (404 Not Found)"}},
		{name: "500", code: http.StatusInternalServerError, body: "upstream exploded " + token, permanent: false,
			want: []string{"argocd app app: Argo CD API answered 500 Internal Server Error: upstream exploded [token]"}},
		{name: "429", code: http.StatusTooManyRequests, body: "slow down", permanent: false, want: []string{"429 Too Many Requests"}},
		{name: "not JSON", code: http.StatusOK, body: "<html>login</html>", permanent: false, want: []string{"argocd app app: read the Application"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newArgoServer(t, func(string) (int, any) { return tc.code, tc.body })
			_, err := srv.source().Observe(ctx, refSHA, nil, now)
			if err == nil {
				t.Fatal("Observe: no error")
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q holds the token", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if got := wait.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tc.permanent)
			}
			var ae *wait.APIError
			if tc.code != http.StatusOK && (!errors.As(err, &ae) || ae.StatusCode != tc.code) {
				t.Errorf("error %v: want an *APIError with status %d", err, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q, want it to contain %q", err, w)
				}
			}
			// Refresh reports the same.
			rerr := srv.source().Refresh(ctx)
			if tc.code != http.StatusOK && (rerr == nil || !strings.Contains(rerr.Error(), tc.want[0])) {
				t.Errorf("Refresh = %v, want an error containing %q", rerr, tc.want[0])
			}
			if rerr != nil && strings.Contains(rerr.Error(), token) {
				t.Errorf("Refresh error %q holds the token", rerr)
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		srv := newArgoServer(t, serve(loadApp(t, syncedFile)))
		src := srv.source()
		srv.srv.Close()
		_, err := src.Observe(ctx, refSHA, nil, now)
		if err == nil || wait.IsPermanent(err) || strings.Contains(err.Error(), token) {
			t.Fatalf("Observe on a closed server = %v; want a transient error without the token", err)
		}
	})
	t.Run("missing server", func(t *testing.T) {
		_, err := (&wait.ArgoCDREST{App: "app", Token: token}).Observe(ctx, refSHA, nil, now)
		if err == nil || !wait.IsPermanent(err) {
			t.Fatalf("Observe without a server = %v; want a permanent error", err)
		}
	})
}

func TestArgoCDRequests(t *testing.T) {
	srv := newArgoServer(t, serve(loadApp(t, syncedFile)))
	src := srv.source()
	src.AppNamespace = "team-a"
	ctx := context.Background()
	if err := src.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if _, err := src.Observe(ctx, refSHA, nil, mustTime(t, refFinished)); err != nil {
		t.Fatalf("Observe: %v", err)
	}
	want := []string{
		"GET /api/v1/applications/app?appNamespace=team-a&refresh=normal Bearer " + token,
		"GET /api/v1/applications/app?appNamespace=team-a Bearer " + token,
	}
	if got := srv.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := src.Name(), "argocd app team-a/app"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	if got, want := (&wait.ArgoCDREST{App: "app"}).Name(), "argocd app app"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
}

// TestArgoApplicationJSON checks the struct against the reference responses.
func TestArgoApplicationJSON(t *testing.T) {
	read := func(name string) wait.ArgoApplication {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "wait", name))
		if err != nil {
			t.Fatal(err)
		}
		var app wait.ArgoApplication
		if err := json.Unmarshal(data, &app); err != nil {
			t.Fatal(err)
		}
		return app
	}
	app := read(syncedFile)
	st := app.Status
	op := st.OperationState
	switch {
	case app.Metadata.Name != "app" || app.Metadata.Generation != 15:
		t.Errorf("metadata = %+v", app.Metadata)
	case app.Spec.Source == nil || app.Spec.Source.Path != "app" || app.Spec.Source.TargetRevision != "main":
		t.Errorf("spec.source = %+v", app.Spec.Source)
	case st.Sync.Status != "Synced" || st.Sync.Revision != refSHA:
		t.Errorf("status.sync = %+v", st.Sync)
	case st.Health.Status != "Healthy" || !st.Health.LastTransitionTime.Equal(mustTime(t, refHealthSince)):
		t.Errorf("status.health = %+v", st.Health)
	case !st.ReconciledAt.Equal(mustTime(t, refFinished)):
		t.Errorf("status.reconciledAt = %v", st.ReconciledAt)
	case op == nil || op.Phase != "Succeeded" || op.SyncResult == nil || op.SyncResult.Revision != refSHA ||
		op.Operation.Sync == nil || op.Operation.Sync.Revision != refSHA || !op.FinishedAt.Equal(mustTime(t, refFinished)):
		t.Errorf("status.operationState = %+v", op)
	case len(st.Resources) != 1 || st.Resources[0].Kind != "ConfigMap":
		t.Errorf("status.resources = %+v", st.Resources)
	}
	broken := read(compErrorFile)
	if c := broken.Status.Conditions; len(c) != 1 || c[0].Type != "ComparisonError" || !strings.Contains(c[0].Message, "kustomize build") {
		t.Errorf("status.conditions = %+v", c)
	}
	if broken.Status.Sync.Revision != "" || broken.Status.Sync.Status != "Unknown" || broken.Status.Health.Status != "Healthy" {
		t.Errorf("broken status = %+v", broken.Status)
	}
}

// TestArgoCDNoRedirectWithToken: an Argo CD server that redirects, to another
// port of the same host (Go's client would forward the Authorization header
// there) or from https to http, gets a permanent error naming the location,
// and the token reaches nothing but the configured server.
func TestArgoCDNoRedirectWithToken(t *testing.T) {
	var leaked []string
	var mu sync.Mutex
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{}`))
	}))
	defer thief.Close()
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"same host, other port", false}, {"https to http", true}} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, thief.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			})
			srv := httptest.NewUnstartedServer(h)
			if tc.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			src := &wait.ArgoCDREST{Server: srv.URL, Token: token, App: "app", HTTPClient: srv.Client()}
			_, err := src.Observe(context.Background(), "abc", nil, time.Now())
			if err == nil || !wait.IsPermanent(err) || !strings.Contains(err.Error(), "a redirect to \""+thief.URL+"/api/v1/applications/app") {
				t.Fatalf("Observe = %v, want a permanent error naming the location", err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
	if len(leaked) != 0 {
		t.Fatalf("the redirect target got %d request(s), with Authorization %q", len(leaked), leaked)
	}
}
