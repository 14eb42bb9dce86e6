//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bgrender/bgrender/internal/kubetest"
)

var (
	replicasetsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	jobsGVR        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

// eventually polls cond every 100 ms until it returns "" (done), failing
// the test with its last word after limit.
func eventuallyDone(t *testing.T, limit time.Duration, what string, cond func() string) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			t.Logf("%s after %s", what, time.Since(start).Round(10*time.Millisecond))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not after %s: %s", what, limit, last)
}

func conditionOf(obj *unstructured.Unstructured, typ string) (status, reason string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			return s, r
		}
	}
	return "", ""
}

// TestKubeControllers: with kubetest.WithControllers, the real kube-controller-manager
// rolls a Deployment out through a ReplicaSet, the real scheduler binds its
// pods to kwok's fake node and kwok makes them Ready; nothing in the test
// writes a status. A Job completes through its pod; pods that never become
// Ready make a Deployment exceed its progress deadline and a pod that
// exits 1 fails its Job, by the controllers' own logic; a foreground
// deletion completes because the garbage collector runs.
func TestKubeControllers(t *testing.T) {
	c := kubetest.Start(t, kubetest.WithCRDs(), kubetest.WithControllers())
	ctx := context.Background()
	ns := c.Namespace(t)
	c.Apply(t, fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: %s}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - {name: app, image: ghcr.io/acme/app:v1}
`, ns))
	d := c.Dynamic.Resource(deploymentsGVR).Namespace(ns)
	eventuallyDone(t, 60*time.Second, "the Deployment is available", func() string {
		obj, err := d.Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		ready, _, _ := unstructured.NestedInt64(obj.Object, "status", "readyReplicas")
		avail, _ := conditionOf(obj, "Available")
		_, progressing := conditionOf(obj, "Progressing")
		if ready != 2 || avail != "True" || progressing != "NewReplicaSetAvailable" {
			return fmt.Sprintf("readyReplicas %d, Available %q, Progressing %q", ready, avail, progressing)
		}
		return ""
	})
	rss, err := c.Dynamic.Resource(replicasetsGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(rss.Items) != 1 || len(rss.Items[0].GetOwnerReferences()) != 1 {
		t.Fatalf("ReplicaSets: %v %v", rss, err)
	}
	ps, err := c.Dynamic.Resource(podsGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(ps.Items) != 2 {
		t.Fatalf("pods: %v", err)
	}
	for _, p := range ps.Items {
		node, _, _ := unstructured.NestedString(p.Object, "spec", "nodeName")
		phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
		if node != "kwok-node-0" || phase != "Running" {
			t.Errorf("pod %s on node %q, phase %q", p.GetName(), node, phase)
		}
	}

	c.Apply(t, fmt.Sprintf(`
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: %s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: migrate, image: ghcr.io/acme/app:v1, command: [migrate]}
`, ns))
	eventuallyDone(t, 60*time.Second, "the Job completes", func() string {
		obj, err := c.Dynamic.Resource(jobsGVR).Namespace(ns).Get(ctx, "migrate", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if s, _ := conditionOf(obj, "Complete"); s != "True" {
			return fmt.Sprintf("Complete %q", s)
		}
		return ""
	})

	// Broken on purpose, by the annotations kwok's stages read: pods that
	// never become Ready make the deployment controller report
	// ProgressDeadlineExceeded; a Job whose pod exits 1 fails.
	c.Apply(t, fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: %[1]s}
spec:
  replicas: 1
  progressDeadlineSeconds: 2
  selector: {matchLabels: {app: broken}}
  template:
    metadata:
      labels: {app: broken}
      annotations: {kubetest.bgrender.dev/ready: "false"}
    spec:
      containers:
      - {name: app, image: ghcr.io/acme/app:v2}
---
apiVersion: batch/v1
kind: Job
metadata: {name: failing, namespace: %[1]s}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {kubetest.bgrender.dev/exit-code: "1"}
    spec:
      restartPolicy: Never
      containers:
      - {name: migrate, image: ghcr.io/acme/app:v2, command: [migrate]}
`, ns))
	eventuallyDone(t, 60*time.Second, "the broken Deployment exceeds its progress deadline", func() string {
		obj, err := d.Get(ctx, "broken", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		s, reason := conditionOf(obj, "Progressing")
		if s != "False" || reason != "ProgressDeadlineExceeded" {
			return fmt.Sprintf("Progressing %q %q", s, reason)
		}
		return ""
	})
	eventuallyDone(t, 60*time.Second, "the failing Job fails", func() string {
		obj, err := c.Dynamic.Resource(jobsGVR).Namespace(ns).Get(ctx, "failing", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if s, reason := conditionOf(obj, "Failed"); s != "True" || reason != "BackoffLimitExceeded" {
			return fmt.Sprintf("Failed %q %q", s, reason)
		}
		return ""
	})

	fg := metav1.DeletePropagationForeground
	if err := d.Delete(ctx, "app", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	eventuallyDone(t, 60*time.Second, "the foreground deletion completes", func() string {
		_, err := d.Get(ctx, "app", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ""
		}
		return fmt.Sprintf("still there (%v)", err)
	})
	if ps, err := c.Dynamic.Resource(podsGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=app"}); err != nil || len(ps.Items) != 0 {
		t.Errorf("pods left after the foreground deletion: %d (%v)", len(ps.Items), err)
	}
}
