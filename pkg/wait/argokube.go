package wait

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// DefaultArgoCDNamespace is where Applications are looked for when no
// namespace is given, as the argocd CLI does.
const DefaultArgoCDNamespace = "argocd"

// ArgoCDRefreshAnnotation asks Argo CD's application controller to compare an
// Application with git now; the controller removes it when done.
const ArgoCDRefreshAnnotation = "argocd.argoproj.io/refresh"

var argoApplicationGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// ArgoCDKube reads an Argo CD Application (argoproj.io/v1alpha1) through the
// Kubernetes API instead of the Argo CD server, and judges it exactly as
// ArgoCDREST does (EvalArgoCD).
type ArgoCDKube struct {
	Client dynamic.Interface
	// Namespace and App name the Application; an empty Namespace means
	// DefaultArgoCDNamespace. (The field is not called Name: Name is the
	// Source method.)
	Namespace, App string
	// Cooldown, StuckDeletion and Path are as in ArgoCDREST. The live
	// objects pending deletion are read through Client when the app's
	// destination is the cluster Argo CD runs in (server
	// https://kubernetes.default.svc or name in-cluster) and their kind is
	// one of liveKinds; otherwise Argo CD's words stand alone.
	Cooldown      time.Duration
	StuckDeletion time.Duration
	Path          string
}

var _ Source = (*ArgoCDKube)(nil)

// Name is "argocd app <namespace>/<name>".
func (a *ArgoCDKube) Name() string {
	return "argocd app " + a.namespace() + "/" + a.App
}

func (a *ArgoCDKube) namespace() string {
	if a.Namespace == "" {
		return DefaultArgoCDNamespace
	}
	return a.Namespace
}

// Refresh sets the annotation argocd.argoproj.io/refresh: normal on the
// Application with a merge patch, which makes the application controller
// compare it with git now (as `argocd app get --refresh` does).
func (a *ArgoCDKube) Refresh(ctx context.Context) error {
	if err := a.check(); err != nil {
		return err
	}
	patch := []byte(`{"metadata":{"annotations":{"` + ArgoCDRefreshAnnotation + `":"normal"}}}`)
	_, err := a.Client.Resource(argoApplicationGVR).Namespace(a.namespace()).
		Patch(ctx, a.App, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("refresh %s: %w", a.Name(), kubeError(err))
	}
	// Argo CD removes the annotation once the refresh is done. Until then the
	// status is the previous reconcile's (a ComparisonError of a commit since
	// repaired, say), so wait for it, as Argo CD's own API server does for
	// GET ?refresh=normal; bounded, since a refresh error does not stop a wait.
	deadline := time.Now().Add(refreshWait)
	for time.Now().Before(deadline) {
		u, err := a.Client.Resource(argoApplicationGVR).Namespace(a.namespace()).Get(ctx, a.App, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("refresh %s: %w", a.Name(), kubeError(err))
		}
		if _, pending := u.GetAnnotations()[ArgoCDRefreshAnnotation]; !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("refresh %s: Argo CD did not finish the refresh within %s", a.Name(), refreshWait)
}

// refreshWait bounds how long Refresh waits for Argo CD to finish a refresh.
const refreshWait = 30 * time.Second

// Observe reads the Application once, evaluates it with EvalArgoCD and
// judges its resources pending deletion.
func (a *ArgoCDKube) Observe(ctx context.Context, commit string, acc Acceptor, now time.Time) (Observation, error) {
	if err := a.check(); err != nil {
		return Observation{}, err
	}
	u, err := a.Client.Resource(argoApplicationGVR).Namespace(a.namespace()).Get(ctx, a.App, metav1.GetOptions{})
	if err != nil {
		return Observation{}, fmt.Errorf("get %s: %w", a.Name(), kubeError(err))
	}
	var app ArgoApplication
	if err := fromUnstructured(u.Object, &app); err != nil {
		return Observation{}, fmt.Errorf("read %s: %w", a.Name(), err)
	}
	c := ArgoCheck{Source: a.Name(), Path: a.Path, Cooldown: a.Cooldown, StuckDeletion: a.StuckDeletion}
	obs, err := EvalArgoCD(ctx, &app, commit, acc, now, c)
	if err != nil {
		return obs, err
	}
	var read liveReader
	if d := app.Spec.Destination; d.Server == inClusterServer || d.Name == "in-cluster" {
		read = a.liveObject
	}
	return obs, argoDeletions(ctx, &app, &obs, read, now, c, commit)
}

// inClusterServer is Argo CD's address of the cluster it runs in.
const inClusterServer = "https://kubernetes.default.svc"

func (a *ArgoCDKube) liveObject(ctx context.Context, r ArgoResource) (map[string]any, error) {
	if _, ok := liveKinds[schema.GroupKind{Group: r.Group, Kind: r.Kind}]; !ok || r.Version == "" {
		return nil, nil // not a kind it reads: Argo CD's words stand alone
	}
	return kubeLive(ctx, a.Client, ObjectRef{Group: r.Group, Version: r.Version, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name})
}

func (a *ArgoCDKube) check() error {
	if a.Client == nil || a.App == "" {
		return Permanent(fmt.Errorf("%s: a Kubernetes client and the Application's name are both required", a.Name()))
	}
	return nil
}
