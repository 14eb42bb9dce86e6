package wait_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/wait"
)

// The Argo CD cases start from the real Argo CD v2.14 Applications in
// testdata/wait, put through the API server: the spec is applied, the status
// written as the application controller writes it (the CRD has no status
// subresource), and ArgoCDKube reads the object back.
const (
	argoKubeSynced    = "argocd-v2.14-application-synced.json"
	argoKubeCompError = "argocd-v2.14-application-comparison-error.json"
	argoKubeCommit    = "05c5a5c22a1b385e13e79886fe4f3dfcb990f3f2" // status.sync.revision of the synced one
	argoKubeOlder     = "372e7b4f5dddefa29b4e5da4a1aed4e335756d7e"
	argoKubeFinished  = "2026-11-25T17:45:47Z" // its operationState.finishedAt
)

// readArgoApp reads a reference Application as generic JSON.
func readArgoApp(t testing.TB, name string) map[string]any {
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

// setAt sets the value at a dotted path, creating objects on the way.
func setAt(m map[string]any, path string, v any) {
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

// createArgoApp creates the reference app's Application in ns and writes its
// status, edited by edit; it returns the source reading it.
func createArgoApp(t *testing.T, c *kubetest.Cluster, ns, file string, edit func(status map[string]any)) *wait.ArgoCDKube {
	t.Helper()
	ref := readArgoApp(t, file)
	obj := map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata":   map[string]any{"name": "app", "namespace": ns},
		"spec":       ref["spec"],
	}
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	c.Apply(t, string(data))
	status := ref["status"].(map[string]any)
	if edit != nil {
		edit(status)
	}
	c.SetStatus(t, applicationsGVR, ns, "app", status)
	return &wait.ArgoCDKube{Client: c.Dynamic, Namespace: ns, App: "app"}
}

func TestArgoKubeObserve(t *testing.T) {
	c := kubetest.Shared(t)
	finished, err := time.Parse(time.RFC3339, argoKubeFinished)
	if err != nil {
		t.Fatal(err)
	}
	const degradedMsg = "Deployment app-green: Progress deadline exceeded"
	cases := []struct {
		name    string
		file    string
		edit    func(status map[string]any)
		commit  string
		acc     wait.Acceptor
		cool    time.Duration
		now     time.Time
		done    bool
		waiting string // a substring of Observation.Waiting
		reason  string // a *FailedError with this Reason
		message string // a substring of its Message
	}{
		{
			name: "synced and healthy after the cooldown", file: argoKubeSynced, commit: argoKubeCommit,
			now: finished.Add(10 * time.Second), done: true,
		},
		{
			name: "synced and healthy during the cooldown", file: argoKubeSynced, commit: argoKubeCommit,
			now: finished.Add(3 * time.Second), waiting: "cooldown 7s left",
		},
		{
			name: "a shorter cooldown", file: argoKubeSynced, commit: argoKubeCommit,
			cool: 2 * time.Second, now: finished.Add(3 * time.Second), done: true,
		},
		{
			name: "stale revision", file: argoKubeSynced, commit: argoKubeOlder,
			now: finished.Add(time.Minute), waiting: "revision 05c5a5c is not 372e7b4 yet",
		},
		{
			name: "acceptable descendant", file: argoKubeSynced, commit: argoKubeOlder,
			acc: &kubeAcceptor{ok: map[string]bool{argoKubeCommit: true}},
			now: finished.Add(time.Minute), done: true,
		},
		{
			name: "ComparisonError while Healthy", file: argoKubeCompError, commit: argoKubeCommit,
			now: finished.Add(time.Minute), reason: "ComparisonError", message: "accumulating resources from 'missing.yaml'",
		},
		{
			name: "OutOfSync", file: argoKubeSynced, commit: argoKubeCommit,
			edit: func(st map[string]any) { setAt(st, "sync.status", "OutOfSync") },
			now:  finished.Add(time.Minute), waiting: "sync status is OutOfSync",
		},
		{
			name: "Degraded after our sync", file: argoKubeSynced, commit: argoKubeCommit,
			edit: func(st map[string]any) {
				setAt(st, "health.status", "Degraded")
				setAt(st, "health.message", degradedMsg)
			},
			now: finished.Add(time.Minute), reason: "Degraded", message: degradedMsg,
		},
		{
			name: "sync failed for our commit", file: argoKubeSynced, commit: argoKubeCommit,
			edit: func(st map[string]any) {
				setAt(st, "sync.status", "OutOfSync")
				setAt(st, "operationState.phase", "Failed")
				setAt(st, "operationState.message", "one or more objects failed to apply")
			},
			now: finished.Add(time.Minute), reason: "SyncFailed", message: "one or more objects failed to apply",
		},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := createArgoApp(t, c, c.Namespace(t), tc.file, tc.edit)
			src.Cooldown = tc.cool
			obs, err := src.Observe(ctx, tc.commit, tc.acc, tc.now)
			if tc.reason != "" {
				var fe *wait.FailedError
				if !errors.As(err, &fe) {
					t.Fatalf("got %+v, %v; want a FailedError %s", obs, err, tc.reason)
				}
				if fe.Reason != tc.reason || !strings.Contains(fe.Message, tc.message) || fe.Source != src.Name() {
					t.Fatalf("FailedError = %+v, want reason %s quoting %q", fe, tc.reason, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if obs.Done != tc.done || !strings.Contains(obs.Waiting, tc.waiting) {
				t.Fatalf("got %+v, want done=%v waiting %q", obs, tc.done, tc.waiting)
			}
			if obs.Revision != argoKubeCommit {
				t.Errorf("Revision = %s, want %s", obs.Revision, argoKubeCommit)
			}
		})
	}

	t.Run("not found", func(t *testing.T) {
		src := &wait.ArgoCDKube{Client: c.Dynamic, Namespace: c.Namespace(t), App: "app"}
		_, err := src.Observe(ctx, argoKubeCommit, nil, time.Now())
		if !errors.Is(err, wait.ErrNotFound) || !wait.IsPermanent(err) {
			t.Fatalf("got %v, want a permanent ErrNotFound", err)
		}
	})
}

func TestArgoKubeRefresh(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := context.Background()
	ns := c.Namespace(t)
	src := createArgoApp(t, c, ns, argoKubeSynced, nil)
	if got, want := src.Name(), "argocd app "+ns+"/app"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	// Refresh returns only once Argo CD has done the refresh, which it
	// shows by removing the annotation: the test plays Argo CD here.
	done := make(chan error, 1)
	go func() { done <- src.Refresh(ctx) }()
	var app *unstructured.Unstructured
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		app, err = c.Dynamic.Resource(applicationsGVR).Namespace(ns).Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if app.GetAnnotations()[wait.ArgoCDRefreshAnnotation] == "normal" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("annotation %s never set (annotations %v)", wait.ArgoCDRefreshAnnotation, app.GetAnnotations())
		}
	}
	if st, _ := app.Object["status"].(map[string]any); st["sync"] == nil {
		t.Fatal("the refresh patch lost the status")
	}
	select {
	case err := <-done:
		t.Fatalf("Refresh returned (%v) before Argo CD finished the refresh", err)
	case <-time.After(300 * time.Millisecond):
	}
	annotations := app.GetAnnotations()
	delete(annotations, wait.ArgoCDRefreshAnnotation)
	app.SetAnnotations(annotations)
	if _, err := c.Dynamic.Resource(applicationsGVR).Namespace(ns).Update(ctx, app, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Refresh after Argo CD finished: %v", err)
	}

	missing := &wait.ArgoCDKube{Client: c.Dynamic, Namespace: ns, App: "nope"}
	if err := missing.Refresh(ctx); !errors.Is(err, wait.ErrNotFound) {
		t.Fatalf("refresh of a missing app: got %v, want ErrNotFound", err)
	}
}
