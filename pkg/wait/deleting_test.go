package wait_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/wait"
)

// pendingDeletion edits the synced reference app's status to what Argo CD
// shows after a commit removed app-blue in ns, which a finalizer keeps: the
// app OutOfSync and the Deployment Progressing, "Pending deletion", as its
// health assessment says of any object with a deletionTimestamp.
func pendingDeletion(st map[string]any, ns string) {
	setAt(st, "sync.status", "OutOfSync")
	setAt(st, "health.status", "Progressing")
	setAt(st, "health.message", "")
	st["resources"] = []any{map[string]any{
		"group": "apps", "version": "v1", "kind": "Deployment", "namespace": ns, "name": "app-blue",
		"status": "OutOfSync", "health": map[string]any{"status": "Progressing", "message": "Pending deletion"},
	}}
}

// liveBlue is app-blue's live object as the resource API returns it.
func liveBlue(deleting time.Time, finalizers ...string) map[string]any {
	md := map[string]any{"name": "app-blue", "namespace": "default"}
	if !deleting.IsZero() {
		md["deletionTimestamp"] = deleting.UTC().Format(time.RFC3339)
	}
	if len(finalizers) > 0 {
		md["finalizers"] = finalizers
	}
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md}
}

func TestArgoCDPendingDeletion(t *testing.T) {
	since := mustTime(t, "2026-11-25T18:00:00Z")
	cases := []struct {
		name    string
		live    map[string]any // nil: the resource API answers 403
		stuck   time.Duration
		after   time.Duration // now - since
		waiting []string      // substrings of Waiting
		message []string      // a DeletionStuck FailedError quoting these
	}{
		{
			name: "a foreign finalizer, within the limit", live: liveBlue(since, "example.com/hold"), after: 30 * time.Second,
			waiting: []string{"sync status is OutOfSync", "Deployment default/app-blue has been deleting for 30s, held by finalizer example.com/hold"},
		},
		{
			name: "a foreign finalizer, past the default limit", live: liveBlue(since, "foregroundDeletion", "example.com/hold"), after: 5 * time.Minute,
			message: []string{"Deployment default/app-blue has been deleting for 5m0s, held by finalizer example.com/hold,", "wait.stuckDeletion 5m0s", "find why its finalizer is not removed"},
		},
		{
			name: "a shorter limit", live: liveBlue(since, "example.com/hold"), stuck: 20 * time.Second, after: 30 * time.Second,
			message: []string{"held by finalizer example.com/hold", "wait.stuckDeletion 20s"},
		},
		{
			name: "no limit", live: liveBlue(since, "example.com/hold"), stuck: -1, after: time.Hour,
			waiting: []string{"has been deleting for 1h0m0s, held by finalizer example.com/hold"},
		},
		{
			name: "the garbage collector's own finalizer", live: liveBlue(since, "foregroundDeletion"), after: 10 * time.Second,
			waiting: []string{"held by finalizer foregroundDeletion until the garbage collector has deleted its dependents"},
		},
		{
			name: "gone from the API server meanwhile", live: liveBlue(time.Time{}), after: time.Hour,
			waiting: []string{"sync status is OutOfSync, want Synced; Deployment default/app-blue is OutOfSync, Progressing: Pending deletion"},
		},
		{
			name: "the token may not read the resource", after: time.Hour,
			waiting: []string{"Deployment default/app-blue is OutOfSync, Progressing: Pending deletion"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := loadApp(t, syncedFile)
			pendingDeletion(app["status"].(map[string]any), "default")
			var mu sync.Mutex
			var queries []url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch r.URL.Path {
				case "/api/v1/applications/app":
					json.NewEncoder(w).Encode(app)
				case "/api/v1/applications/app/resource":
					mu.Lock()
					queries = append(queries, r.URL.Query())
					mu.Unlock()
					if tc.live == nil || r.Header.Get("Authorization") != "Bearer "+token {
						http.Error(w, `{"message":"permission denied"}`, http.StatusForbidden)
						return
					}
					manifest, _ := json.Marshal(tc.live)
					json.NewEncoder(w).Encode(map[string]string{"manifest": string(manifest)})
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			src := &wait.ArgoCDREST{Server: srv.URL, Token: token, App: "app", StuckDeletion: tc.stuck, HTTPClient: srv.Client()}
			obs, err := src.Observe(context.Background(), refSHA, nil, since.Add(tc.after))
			mu.Lock()
			if len(queries) != 1 {
				t.Fatalf("resource API asked %d times, want once", len(queries))
			}
			q := queries[0]
			mu.Unlock()
			for k, v := range map[string]string{"namespace": "default", "resourceName": "app-blue", "group": "apps", "version": "v1", "kind": "Deployment"} {
				if q.Get(k) != v {
					t.Errorf("resource query %s = %q, want %q", k, q.Get(k), v)
				}
			}
			if tc.message != nil {
				var fe *wait.FailedError
				if !errors.As(err, &fe) || fe.Reason != "DeletionStuck" {
					t.Fatalf("got %+v, %v; want a DeletionStuck FailedError", obs, err)
				}
				for _, m := range tc.message {
					if !strings.Contains(fe.Error(), m) {
						t.Errorf("error %q does not say %q", fe.Error(), m)
					}
				}
				return
			}
			if err != nil || obs.Done {
				t.Fatalf("got %+v, %v; want still waiting", obs, err)
			}
			for _, w := range tc.waiting {
				if !strings.Contains(obs.Waiting, w) {
					t.Errorf("Waiting %q does not say %q", obs.Waiting, w)
				}
			}
			if tc.live == nil && strings.Contains(obs.Waiting, "permission") {
				t.Errorf("Waiting %q carries the resource API's refusal", obs.Waiting)
			}
		})
	}
}

// TestArgoKubePendingDeletion deletes a real Deployment that a finalizer
// keeps (the API server sets its deletionTimestamp) and has ArgoCDKube read
// it live through the same client it reads the Application with.
func TestArgoKubePendingDeletion(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := context.Background()
	ns := c.Namespace(t)
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	c.Apply(t, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-blue
  namespace: `+ns+`
  finalizers: [example.com/hold]
spec:
  selector: {matchLabels: {app: app, color: blue}}
  template:
    metadata: {labels: {app: app, color: blue}}
    spec: {containers: [{name: app, image: example.com/app:v1}]}
`)
	t.Cleanup(func() {
		c.Dynamic.Resource(deployments).Namespace(ns).Patch(context.Background(), "app-blue", types.MergePatchType,
			[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	})
	if err := c.Dynamic.Resource(deployments).Namespace(ns).Delete(ctx, "app-blue", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	live, err := c.Dynamic.Resource(deployments).Namespace(ns).Get(ctx, "app-blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	since := live.GetDeletionTimestamp().Time

	for _, tc := range []struct {
		name        string
		destination string
		after       time.Duration
		want        string
		stuck       bool
	}{
		{name: "in-cluster, within the limit", destination: "https://kubernetes.default.svc", after: 10 * time.Second,
			want: "Deployment " + ns + "/app-blue has been deleting for 10s, held by finalizer example.com/hold"},
		{name: "in-cluster, past the limit", destination: "https://kubernetes.default.svc", after: 6 * time.Minute, stuck: true,
			want: "Deployment " + ns + "/app-blue has been deleting for 6m0s, held by finalizer example.com/hold"},
		{name: "another cluster: Argo CD's words only", destination: "https://prod.example.com", after: time.Hour,
			want: "Deployment " + ns + "/app-blue is OutOfSync, Progressing: Pending deletion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := createArgoApp(t, c, c.Namespace(t), argoKubeSynced, func(st map[string]any) { pendingDeletion(st, ns) })
			if tc.destination != "https://kubernetes.default.svc" {
				patch := `{"spec":{"destination":{"server":"` + tc.destination + `"}}}`
				if _, err := c.Dynamic.Resource(applicationsGVR).Namespace(src.Namespace).Patch(ctx, "app", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			obs, err := src.Observe(ctx, argoKubeCommit, nil, since.Add(tc.after))
			var fe *wait.FailedError
			switch {
			case tc.stuck && (!errors.As(err, &fe) || fe.Reason != "DeletionStuck" || !strings.Contains(fe.Message, tc.want)):
				t.Fatalf("got %+v, %v; want DeletionStuck saying %q", obs, err, tc.want)
			case !tc.stuck && (err != nil || !strings.Contains(obs.Waiting, tc.want)):
				t.Fatalf("got %+v, %v; want waiting %q", obs, err, tc.want)
			case !tc.stuck && tc.destination != "https://kubernetes.default.svc" && strings.Contains(obs.Waiting, "finalizer"):
				t.Fatalf("Waiting %q read an object of another cluster from this one", obs.Waiting)
			}
		})
	}
}

// TestFluxPrunedStillDeleting: kustomize-controller reports Ready once it
// has deleted what a commit removed, without waiting for it to go. A
// Deployment it labelled as its own, held by a finalizer, keeps the wait
// going, and fails it past the limit; one of another Kustomization, and one
// not being deleted, do not count.
func TestFluxPrunedStillDeleting(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := context.Background()
	ns := c.Namespace(t)
	deployment := func(name, owner string) string {
		return `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: ` + ns + `
  labels: {kustomize.toolkit.fluxcd.io/name: ` + owner + `, kustomize.toolkit.fluxcd.io/namespace: ` + ns + `}
  finalizers: [example.com/hold]
spec:
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec: {containers: [{name: app, image: example.com/app:v1}]}
`
	}
	c.Apply(t, fluxObjects(ns, "5m")+deployment("app-blue", "app")+deployment("app-green", "app")+deployment("other-blue", "other"))
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	unhold := func(name string) {
		c.Dynamic.Resource(deployments).Namespace(ns).Patch(context.Background(), name, types.MergePatchType,
			[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	}
	for _, name := range []string{"app-blue", "app-green", "other-blue"} {
		t.Cleanup(func() { unhold(name) })
	}
	for _, name := range []string{"app-blue", "other-blue"} {
		if err := c.Dynamic.Resource(deployments).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	live, err := c.Dynamic.Resource(deployments).Namespace(ns).Get(ctx, "app-blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	since := live.GetDeletionTimestamp().Time
	c.SetStatus(t, kustomizationsGVR, ns, "app", fluxStatus(1, "main@sha1:"+fluxCommit, "main@sha1:"+fluxCommit,
		fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxCommit, 1)))
	src := &wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "app", StuckDeletion: time.Minute}

	obs, err := src.Observe(ctx, fluxCommit, nil, since.Add(10*time.Second))
	want := "Deployment " + ns + "/app-blue has been deleting for 10s, held by finalizer example.com/hold"
	if err != nil || obs.Done || !strings.Contains(obs.Waiting, want) || strings.Contains(obs.Waiting, "other-blue") || strings.Contains(obs.Waiting, "app-green") {
		t.Fatalf("got %+v, %v; want waiting on app-blue alone: %q", obs, err, want)
	}
	_, err = src.Observe(ctx, fluxCommit, nil, since.Add(time.Minute))
	var fe *wait.FailedError
	if !errors.As(err, &fe) || fe.Reason != "DeletionStuck" || !strings.Contains(fe.Message, "app-blue has been deleting for 1m0s") {
		t.Fatalf("got %v, want DeletionStuck for app-blue", err)
	}
	unhold("app-blue") // the API server removes it
	if obs, err := src.Observe(ctx, fluxCommit, nil, since.Add(time.Hour)); err != nil || !obs.Done {
		t.Fatalf("once app-blue is gone: got %+v, %v; want done", obs, err)
	}
}
