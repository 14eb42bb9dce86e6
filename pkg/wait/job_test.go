package wait_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/wait"
)

// TestJobGate waits on hook Jobs run by the real Job controller (and
// kube-scheduler), with kwok playing the kubelet: a pod's exit code comes
// from its annotation kubetest.bgrender.dev/exit-code. The controller (a
// Flux Kustomization, its status written here) has applied the commit; the
// gate then waits for the Job's own conditions.
func TestJobGate(t *testing.T) {
	c := kubetest.Start(t, kubetest.WithControllers())
	ctx := context.Background()
	ns := c.Namespace(t)
	c.Apply(t, fluxObjects(ns, "5m"))
	c.SetStatus(t, kustomizationsGVR, ns, "app", fluxStatus(1, "main@sha1:"+fluxCommit, "main@sha1:"+fluxCommit,
		fluxCondition("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+fluxCommit, 1)))
	job := func(name, exit string) {
		c.Apply(t, `apiVersion: batch/v1
kind: Job
metadata: {name: `+name+`, namespace: `+ns+`}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {kubetest.bgrender.dev/exit-code: "`+exit+`"}}
    spec:
      restartPolicy: Never
      containers: [{name: hook, image: ghcr.io/acme/app:v1, command: [npm, run, migrate]}]
`)
	}
	flux := &wait.FluxKustomization{Client: c.Dynamic, Namespace: ns, Kustomization: "app"}
	waitFor := func(name string) (wait.Result, error) {
		return wait.Wait(ctx, wait.Job(flux, ns, name), fluxCommit, nil, wait.Options{Timeout: time.Minute, Interval: 100 * time.Millisecond})
	}

	t.Run("not created yet", func(t *testing.T) {
		obs, err := wait.Job(flux, ns, "app-migrate-r-none").Observe(ctx, fluxCommit, nil, time.Now())
		if err != nil || obs.Done || !strings.Contains(obs.Waiting, "is not in the cluster yet") {
			t.Fatalf("got %+v, %v", obs, err)
		}
	})
	t.Run("succeeds", func(t *testing.T) {
		job("app-migrate-r-aaaaaaaa", "0")
		res, err := waitFor("app-migrate-r-aaaaaaaa")
		if err != nil {
			t.Fatal(err)
		}
		if res.Polls < 2 {
			t.Errorf("done after %d polls: the Job cannot have completed before the first look", res.Polls)
		}
	})
	t.Run("fails by its command", func(t *testing.T) {
		c.Apply(t, `apiVersion: batch/v1
kind: Job
metadata: {name: app-ping-r-cccccccc, namespace: `+ns+`}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: hook, image: ghcr.io/acme/app:v1, command: [npm, run, ping, kubetest-exit-1]}]
`)
		_, err := waitFor("app-ping-r-cccccccc")
		var fe *wait.FailedError
		if !errors.As(err, &fe) || fe.Reason != wait.ReasonHookFailed || !strings.Contains(fe.Message, "BackoffLimitExceeded") {
			t.Fatalf("got %v, want HookFailed", err)
		}
	})
	t.Run("fails", func(t *testing.T) {
		job("app-migrate-r-bbbbbbbb", "1")
		_, err := waitFor("app-migrate-r-bbbbbbbb")
		var fe *wait.FailedError
		if !errors.As(err, &fe) || fe.Reason != wait.ReasonHookFailed || !strings.Contains(fe.Message, "Job "+ns+"/app-migrate-r-bbbbbbbb failed: BackoffLimitExceeded") {
			t.Fatalf("got %v, want HookFailed quoting the Job controller's BackoffLimitExceeded", err)
		}
		if !strings.Contains(err.Error(), "kubectl logs -n "+ns+" job/app-migrate-r-bbbbbbbb") {
			t.Errorf("the error does not say where the logs are: %v", err)
		}
	})
}

// TestJobGateArgoCDLogs: through Argo CD's REST API, a failed hook's error
// quotes the last lines of its pods' logs from the logs API, and says where
// they are when that API cannot serve them.
func TestJobGateArgoCDLogs(t *testing.T) {
	app := loadApp(t, syncedFile)
	job := map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": "app-migrate-r-1", "namespace": "default"},
		"status": map[string]any{"failed": 1, "conditions": []any{map[string]any{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}}}}
	for name, tc := range map[string]struct {
		logs string // the logs API's body; "" answers 500
		want string
	}{
		"logs": {
			logs: `{"result":{"content":"migrating 0042_add_column","podName":"app-migrate-r-1-x"}}` + "\n" + `{"result":{"content":"error: relation \"orders\" does not exist"}}` + "\n" + `{"result":{"content":"","last":true}}` + "\n",
			want: "last lines of its log:\n  migrating 0042_add_column\n  error: relation \"orders\" does not exist",
		},
		"no logs API": {want: "its pods' logs could not be read through argocd app app"},
	} {
		t.Run(name, func(t *testing.T) {
			var logQuery url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch r.URL.Path {
				case "/api/v1/applications/app":
					json.NewEncoder(w).Encode(app)
				case "/api/v1/applications/app/resource":
					manifest, _ := json.Marshal(job)
					json.NewEncoder(w).Encode(map[string]string{"manifest": string(manifest)})
				case "/api/v1/applications/app/logs":
					logQuery = r.URL.Query()
					if tc.logs == "" {
						http.Error(w, `{"message":"the server could not find the requested resource"}`, http.StatusInternalServerError)
						return
					}
					w.Write([]byte(tc.logs))
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			src := wait.Job(&wait.ArgoCDREST{Server: srv.URL, Token: token, App: "app", HTTPClient: srv.Client()}, "default", "app-migrate-r-1")
			_, err := src.Observe(context.Background(), refSHA, nil, mustTime(t, refFinished).Add(time.Minute))
			var fe *wait.FailedError
			if !errors.As(err, &fe) || fe.Reason != wait.ReasonHookFailed || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want HookFailed saying %q", err, tc.want)
			}
			if logQuery.Get("kind") != "Job" || logQuery.Get("group") != "batch" || logQuery.Get("resourceName") != "app-migrate-r-1" || logQuery.Get("follow") != "false" {
				t.Errorf("logs query %v", logQuery)
			}
		})
	}
}
