package wait_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/wait"
)

// Commits of the Flux tests: ours, the one applied before it, a descendant
// that the Acceptor accepts and one that it refuses.
const (
	fluxCommit  = "05c5a5c22a1b385e13e79886fe4f3dfcb990f3f2"
	fluxOld     = "372e7b4f5dddefa29b4e5da4a1aed4e335756d7e"
	fluxDesc    = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	fluxRefused = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c"
)

// fluxObjects are a GitRepository and a Kustomization as `flux create`
// makes them; interval changes the Kustomization's spec (and generation).
func fluxObjects(ns, interval string) string {
	return `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: env, namespace: ` + ns + `}
spec:
  interval: 1m
  url: http://127.0.0.1:18080/git/env.git
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: ` + ns + `}
spec:
  interval: ` + interval + `
  path: ./apps/app
  prune: true
  timeout: 2m
  sourceRef: {kind: GitRepository, name: env}
`
}

// fluxCondition is a condition as kustomize-controller writes it (the CRD
// requires all of these fields).
func fluxCondition(typ, status, reason, message string, gen int64) map[string]any {
	return map[string]any{
		"type": typ, "status": status, "reason": reason, "message": message,
		"observedGeneration": gen, "lastTransitionTime": "2026-11-25T18:00:00Z",
	}
}

// fluxStatus is a Kustomization status: the revisions and conditions, and
// observedGeneration.
func fluxStatus(observed int64, applied, attempted string, conds ...map[string]any) map[string]any {
	st := map[string]any{"observedGeneration": observed}
	if applied != "" {
		st["lastAppliedRevision"] = applied
	}
	if attempted != "" {
		st["lastAttemptedRevision"] = attempted
	}
	if len(conds) > 0 {
		list := make([]any, len(conds))
		for i, c := range conds {
			list[i] = c
		}
		st["conditions"] = list
	}
	return st
}

// kubeAcceptor accepts the revisions in ok, refuses the others saying why,
// or fails with err; it records its calls.
type kubeAcceptor struct {
	mu    sync.Mutex
	ok    map[string]bool
	err   error
	calls []string
}

func (a *kubeAcceptor) Accept(_ context.Context, commit, revision string) (bool, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, commit[:7]+" "+revision[:7])
	if a.err != nil {
		return false, "", a.err
	}
	if a.ok[revision] {
		return true, "", nil
	}
	return false, "commit " + revision[:7] + " changes apps/app after " + commit[:7], nil
}

func TestFluxKustomizationObserve(t *testing.T) {
	c := kubetest.Shared(t)
	const (
		buildMsg  = "kustomize build failed: accumulating resources: accumulation err='accumulating resources from 'missing.yaml': open /tmp/kustomization-1650124921/apps/app/missing.yaml: no such file or directory'"
		healthMsg = "health check failed after 2m0s: timeout waiting for: [Deployment/app/app-green status: 'InProgress']"
	)
	type want struct {
		done     bool
		revision string
		sync     string
		health   string
		waiting  []string // substrings of Observation.Waiting
		reason   string   // a *FailedError with this Reason
		message  string   // and this Message
		err      string   // another error containing this
		accCalls int      // how often the Acceptor was asked (-1: don't care)
	}
	cases := []struct {
		name    string
		bump    bool // change the spec after the status was for generation 1
		status  map[string]any
		acc     *kubeAcceptor // nil: a nil Acceptor
		missing bool          // observe a Kustomization that does not exist
		want    want
	}{
		{
			name: "applied and ready",
			status: fluxStatus(1, "main@sha1:"+fluxCommit, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxCommit, 1)),
			want: want{done: true, revision: fluxCommit, sync: "applied main@sha1:05c5a5c", health: "Ready=True"},
		},
		{
			name: "applied and ready, older revision format",
			status: fluxStatus(1, "main/"+fluxCommit, "main/"+fluxCommit,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main/"+fluxCommit, 1)),
			want: want{done: true, revision: fluxCommit, sync: "applied main/05c5a5c", health: "Ready=True"},
		},
		{
			name: "stale revision",
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxOld,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxOld, 1)),
			want: want{revision: fluxOld, sync: "applied main@sha1:372e7b4", health: "Ready=True",
				waiting: []string{"applied revision 372e7b4 is not 05c5a5c yet"}},
		},
		{
			name:   "nothing applied yet",
			status: fluxStatus(-1, "", ""),
			want:   want{sync: "nothing applied yet", health: "no Ready condition", waiting: []string{"no revision applied yet, want 05c5a5c"}},
		},
		{
			name: "observedGeneration lags",
			bump: true,
			status: fluxStatus(1, "main@sha1:"+fluxCommit, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxCommit, 1)),
			want: want{revision: fluxCommit, health: "Ready=True", waiting: []string{"observedGeneration 1, generation 2"}},
		},
		{
			name: "applied but Ready is Unknown while reconciling again",
			status: fluxStatus(1, "main@sha1:"+fluxCommit, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "Unknown", "Progressing", "Reconciliation in progress", 1),
				fluxCondition("Reconciling", "True", "Progressing", "Reconciliation in progress", 1)),
			want: want{revision: fluxCommit, health: "Ready=Unknown: Progressing", waiting: []string{"Ready=Unknown: Progressing: Reconciliation in progress"}},
		},
		{
			name: "build failed for our commit",
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "False", "BuildFailed", buildMsg, 1),
				fluxCondition("Reconciling", "True", "ProgressingWithRetry", buildMsg, 1)),
			want: want{revision: fluxOld, reason: "BuildFailed", message: buildMsg},
		},
		{
			name: "health check failed for our commit",
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "False", "HealthCheckFailed", healthMsg, 1)),
			want: want{revision: fluxOld, reason: "HealthCheckFailed", message: healthMsg},
		},
		{
			name: "build failed for an older commit",
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxOld,
				fluxCondition("Ready", "False", "BuildFailed", buildMsg, 1)),
			want: want{revision: fluxOld, health: "Ready=False: BuildFailed",
				waiting: []string{"applied revision 372e7b4 is not 05c5a5c yet", "[Ready=False: BuildFailed]"}},
		},
		{
			name: "failure recorded for an older spec",
			bump: true,
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "False", "BuildFailed", buildMsg, 1)),
			want: want{revision: fluxOld, waiting: []string{"not 05c5a5c yet", "last attempted main@sha1:05c5a5c"}},
		},
		{
			name: "Ready=False Progressing is not a failure",
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "False", "Progressing", "Building manifests for revision main@sha1:"+fluxCommit+" with a timeout of 2m0s", 1)),
			want: want{revision: fluxOld, health: "Ready=False: Progressing", waiting: []string{"last attempted main@sha1:05c5a5c"}},
		},
		{
			name: "dependency not ready is not a failure",
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "False", "DependencyNotReady", "dependency 'flux-system/infra' is not ready", 1)),
			want: want{revision: fluxOld, health: "Ready=False: DependencyNotReady"},
		},
		{
			name: "artifact failed is retried, not a failure",
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxCommit,
				fluxCondition("Ready", "False", "ArtifactFailed", "Source artifact not found, retrying in 30s", 1)),
			want: want{revision: fluxOld, health: "Ready=False: ArtifactFailed"},
		},
		{
			name: "stalled",
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxOld,
				fluxCondition("Ready", "False", "InvalidCELExpression", "Reconciliation failed terminally due to configuration error: failed to parse the CEL expression", 1),
				fluxCondition("Stalled", "True", "InvalidCELExpression", "Reconciliation failed terminally due to configuration error: failed to parse the CEL expression", 1)),
			want: want{reason: "InvalidCELExpression", message: "Reconciliation failed terminally due to configuration error: failed to parse the CEL expression"},
		},
		{
			name: "acceptable descendant applied",
			status: fluxStatus(1, "main@sha1:"+fluxDesc, "main@sha1:"+fluxDesc,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxDesc, 1)),
			acc:  &kubeAcceptor{ok: map[string]bool{fluxDesc: true}},
			want: want{done: true, revision: fluxDesc, health: "Ready=True", accCalls: 1},
		},
		{
			name: "refused descendant applied",
			status: fluxStatus(1, "main@sha1:"+fluxRefused, "main@sha1:"+fluxRefused,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxRefused, 1)),
			acc: &kubeAcceptor{ok: map[string]bool{fluxDesc: true}},
			want: want{revision: fluxRefused, accCalls: 1,
				waiting: []string{"applied revision 9f8e7d6 is not 05c5a5c yet: commit 9f8e7d6 changes apps/app after 05c5a5c"}},
		},
		{
			name: "descendant without an Acceptor",
			status: fluxStatus(1, "main@sha1:"+fluxDesc, "main@sha1:"+fluxDesc,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxDesc, 1)),
			want: want{revision: fluxDesc, waiting: []string{"applied revision a1b2c3d is not 05c5a5c yet"}},
		},
		{
			name: "build failed for an acceptable descendant",
			status: fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxDesc,
				fluxCondition("Ready", "False", "BuildFailed", buildMsg, 1)),
			acc:  &kubeAcceptor{ok: map[string]bool{fluxDesc: true}},
			want: want{reason: "BuildFailed", message: buildMsg, accCalls: 1},
		},
		{
			name: "Acceptor error",
			status: fluxStatus(1, "main@sha1:"+fluxDesc, "main@sha1:"+fluxDesc,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxDesc, 1)),
			acc:  &kubeAcceptor{err: errors.New("object not found")},
			want: want{err: "is revision a1b2c3d acceptable for 05c5a5c: object not found", accCalls: 1},
		},
		{
			name:    "no such Kustomization",
			missing: true,
			want:    want{err: "not found", accCalls: 0},
		},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := c.Namespace(t)
			c.Apply(t, fluxObjects(ns, "5m"))
			if tc.status != nil {
				c.SetStatus(t, kustomizationsGVR, ns, "app", tc.status)
			}
			if tc.bump {
				c.Apply(t, fluxObjects(ns, "10m"))
			}
			src := &wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "app"}
			if tc.missing {
				src.Kustomization = "nope"
			}
			var acc wait.Acceptor
			if tc.acc != nil {
				acc = tc.acc
			}
			obs, err := src.Observe(ctx, fluxCommit, acc, time.Now())
			w := tc.want

			var fe *wait.FailedError
			switch {
			case w.reason != "":
				if !errors.As(err, &fe) {
					t.Fatalf("got %+v, %v; want a FailedError %s", obs, err, w.reason)
				}
				if fe.Reason != w.reason || fe.Message != w.message || fe.Commit != fluxCommit || fe.Source != "flux kustomization "+ns+"/app" {
					t.Fatalf("FailedError = %+v, want reason %s, message %q", fe, w.reason, w.message)
				}
				if !wait.IsPermanent(err) {
					t.Error("a FailedError is not permanent")
				}
				if !strings.Contains(err.Error(), w.message) {
					t.Errorf("the error does not quote the controller: %v", err)
				}
			case w.err != "":
				if err == nil || !strings.Contains(err.Error(), w.err) || errors.As(err, &fe) {
					t.Fatalf("got %+v, %v; want an error containing %q", obs, err, w.err)
				}
				if tc.missing && (!errors.Is(err, wait.ErrNotFound) || !wait.IsPermanent(err)) {
					t.Fatalf("got %v, want a permanent ErrNotFound", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if obs.Done != w.done || obs.Revision != w.revision {
					t.Fatalf("got %+v, want done=%v revision %s", obs, w.done, w.revision)
				}
				if w.sync != "" && obs.Sync != w.sync {
					t.Errorf("Sync = %q, want %q", obs.Sync, w.sync)
				}
				if w.health != "" && obs.Health != w.health {
					t.Errorf("Health = %q, want %q", obs.Health, w.health)
				}
				if obs.Done != (obs.Waiting == "") {
					t.Errorf("Done=%v with Waiting %q", obs.Done, obs.Waiting)
				}
				for _, s := range w.waiting {
					if !strings.Contains(obs.Waiting, s) {
						t.Errorf("Waiting = %q, want it to contain %q", obs.Waiting, s)
					}
				}
			}
			if tc.acc != nil && w.accCalls >= 0 && len(tc.acc.calls) != w.accCalls {
				t.Errorf("Acceptor asked %v, want %d calls", tc.acc.calls, w.accCalls)
			}
		})
	}
}

func TestFluxKustomizationRefresh(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := context.Background()
	annotation := func(t *testing.T, obj interface {
		GetAnnotations() map[string]string
	}) string {
		return obj.GetAnnotations()[wait.FluxReconcileAnnotation]
	}
	get := func(t *testing.T, ns string) (ks, repo string) {
		t.Helper()
		k, err := c.Dynamic.Resource(kustomizationsGVR).Namespace(ns).Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Dynamic.Resource(gitRepositoriesGVR).Namespace(ns).Get(ctx, "env", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return annotation(t, k), annotation(t, r)
	}

	t.Run("both objects", func(t *testing.T) {
		ns := c.Namespace(t)
		c.Apply(t, fluxObjects(ns, "5m"))
		at := time.Date(2026, 11, 25, 18, 30, 1, 123456789, time.UTC)
		src := &wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "app", Now: func() time.Time { return at }}
		if err := src.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		ks, repo := get(t, ns)
		want := "2026-11-25T18:30:01.123456789Z"
		if ks != want || repo != want {
			t.Fatalf("annotations: Kustomization %q, GitRepository %q; want %q on both", ks, repo, want)
		}
		// Asking again changes the value (Flux reconciles when it changes),
		// and the patch leaves the spec alone.
		at = at.Add(time.Second)
		if err := src.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if ks, repo := get(t, ns); ks != "2026-11-25T18:30:02.123456789Z" || repo != ks {
			t.Fatalf("after a second refresh: Kustomization %q, GitRepository %q", ks, repo)
		}
		k, err := c.Dynamic.Resource(kustomizationsGVR).Namespace(ns).Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if k.GetGeneration() != 1 {
			t.Errorf("a refresh changed the generation to %d", k.GetGeneration())
		}
	})

	t.Run("source in another namespace", func(t *testing.T) {
		srcNS := c.Namespace(t)
		ns := c.Namespace(t)
		c.Apply(t, fluxObjects(srcNS, "5m"))
		c.Apply(t, `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: other, namespace: `+ns+`}
spec:
  interval: 5m
  path: ./apps/other
  prune: true
  sourceRef: {kind: GitRepository, name: env, namespace: `+srcNS+`}
`)
		src := &wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "other"}
		if err := src.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, repo := get(t, srcNS); repo == "" {
			t.Fatal("the GitRepository in the other namespace was not annotated")
		}
	})

	t.Run("missing source", func(t *testing.T) {
		ns := c.Namespace(t)
		c.Apply(t, fluxObjects(ns, "5m"))
		if err := c.Dynamic.Resource(gitRepositoriesGVR).Namespace(ns).Delete(ctx, "env", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		src := &wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "app"}
		err := src.Refresh(ctx)
		if err == nil || !strings.Contains(err.Error(), "GitRepository "+ns+"/env") {
			t.Fatalf("got %v, want an error about the missing GitRepository", err)
		}
		k, err := c.Dynamic.Resource(kustomizationsGVR).Namespace(ns).Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if annotation(t, k) == "" {
			t.Fatal("the Kustomization was not annotated although only its source is missing")
		}
	})

	t.Run("missing Kustomization", func(t *testing.T) {
		ns := c.Namespace(t)
		src := &wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "app"}
		if err := src.Refresh(ctx); !errors.Is(err, wait.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

// TestFluxKustomizationWait runs wait.Wait against the API server while the
// test plays kustomize-controller: once asked to reconcile (the annotation),
// it records the attempt and then the applied revision, as the controller
// does in two status patches.
func TestFluxKustomizationWait(t *testing.T) {
	c := kubetest.Shared(t)
	ns := c.Namespace(t)
	c.Apply(t, fluxObjects(ns, "5m"))
	c.SetStatus(t, kustomizationsGVR, ns, "app", fluxStatus(1, "main@sha1:"+fluxOld, "main@sha1:"+fluxOld,
		fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxOld, 1)))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	controller := make(chan error, 1)
	go func() {
		controller <- func() error {
			for ctx.Err() == nil {
				k, err := c.Dynamic.Resource(kustomizationsGVR).Namespace(ns).Get(ctx, "app", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if k.GetAnnotations()[wait.FluxReconcileAnnotation] != "" {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			rev := "main@sha1:" + fluxCommit
			if _, err := c.SetStatusContext(ctx, kustomizationsGVR, ns, "app", fluxStatus(1, "main@sha1:"+fluxOld, rev,
				fluxCondition("Ready", "Unknown", "Progressing", "Reconciliation in progress", 1),
				fluxCondition("Reconciling", "True", "Progressing", "Building manifests for revision "+rev, 1))); err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
			_, err := c.SetStatusContext(ctx, kustomizationsGVR, ns, "app", fluxStatus(1, rev, rev,
				fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: "+rev, 1)))
			return err
		}()
	}()

	src := &wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "app"}
	var seen []string
	res, err := wait.Wait(ctx, src, fluxCommit, nil, wait.Options{
		Interval: 20 * time.Millisecond,
		Timeout:  30 * time.Second,
		Progress: func(p wait.Progress) { seen = append(seen, p.Observation.Health) },
	})
	if err != nil {
		t.Fatalf("Wait: %v (observations %v)", err, seen)
	}
	if err := <-controller; err != nil {
		t.Fatalf("controller: %v", err)
	}
	if res.Revision != fluxCommit || res.Source != "flux kustomization "+ns+"/app" {
		t.Fatalf("Result = %+v", res)
	}
	t.Logf("%d polls in %s: %v", res.Polls, res.Elapsed, compact(seen))
}

// compact drops repeats from a list of words.
func compact(s []string) []string {
	var out []string
	for _, x := range s {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

// A failed health check names the workloads that failed it; the error adds
// why, in the deployment controller's words, reading each Deployment
// (never writing it). A named workload that cannot be read adds nothing.
func TestFluxHealthCheckNamesTheWorkload(t *testing.T) {
	c := kubetest.Shared(t)
	ctx := context.Background()
	ns := c.Namespace(t)
	c.Apply(t, fluxObjects(ns, "5m")+`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-green, namespace: `+ns+`}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: app, image: example.com/app:v2}]
`)
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	const stuck = `ReplicaSet "app-green-5d8f" has timed out progressing.`
	c.SetStatus(t, deployments, ns, "app-green", map[string]any{
		"observedGeneration": 1,
		"conditions": []any{
			map[string]any{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."},
			map[string]any{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": stuck},
		},
	})
	health := "health check failed after 10s: failed early due to stalled resources: [Deployment/" + ns + "/app-green status: 'Failed' Deployment/" + ns + "/gone status: 'Failed']"
	c.SetStatus(t, kustomizationsGVR, ns, "app", fluxStatus(1, fluxOld, "main@sha1:"+fluxCommit,
		fluxCondition("Ready", "False", "HealthCheckFailed", health, 1)))
	src := &wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "app"}
	_, err := src.Observe(ctx, fluxCommit, &kubeAcceptor{ok: map[string]bool{fluxCommit: true}}, time.Now())
	var fe *wait.FailedError
	if !errors.As(err, &fe) || fe.Reason != "HealthCheckFailed" || fe.Message != health {
		t.Fatalf("got %v, want the health check's FailedError", err)
	}
	want := "Deployment " + ns + "/app-green: ProgressDeadlineExceeded: " + stuck
	if len(fe.Workloads) != 1 || fe.Workloads[0] != want || !strings.Contains(err.Error(), want) {
		t.Fatalf("workloads %q, want [%q]; error %v", fe.Workloads, want, err)
	}
}
