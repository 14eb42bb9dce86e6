package wait

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// DefaultFluxNamespace is where Flux objects are looked for when no namespace
// is given, as the flux CLI does.
const DefaultFluxNamespace = "flux-system"

// FluxReconcileAnnotation asks a Flux controller to reconcile an object now;
// its value is a timestamp that must change to ask again.
const FluxReconcileAnnotation = "reconcile.fluxcd.io/requestedAt"

var fluxKustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}

// deploymentsGVR is read (never written) to say why a health check failed.
var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// fluxSourceResources maps a Kustomization's spec.sourceRef.kind to the
// source's resource in source.toolkit.fluxcd.io.
var fluxSourceResources = map[string]string{
	"GitRepository":    "gitrepositories",
	"OCIRepository":    "ocirepositories",
	"Bucket":           "buckets",
	"ExternalArtifact": "externalartifacts",
}

// fluxTerminalReasons are the Ready=False reasons with which
// kustomize-controller (v1.9) reports that it tried a revision and failed
// (fluxcd/pkg apis/meta): retrying the same revision fails the same way, or
// the failure is the revision's own (its workloads did not become healthy).
//
// Not among them: Progressing, ProgressingWithRetry, DependencyNotReady and
// HealthCheckCanceled (in progress or waiting on something else), and
// ArtifactFailed, which the controller sets while fetching the source's
// artifact, before it records the revision as attempted, and retries (the
// source is not ready yet, or a fetch failed).
var fluxTerminalReasons = map[string]bool{
	"BuildFailed":          true, // kustomize build or decryption of the revision failed
	"ReconciliationFailed": true, // applying the objects failed
	"HealthCheckFailed":    true, // applied, but the workloads did not become healthy in time
	"PruneFailed":          true, // garbage collection of removed objects failed
}

// FluxKustomization reads a Flux Kustomization (kustomize.toolkit.fluxcd.io/v1)
// through the Kubernetes API.
//
// It is Done when status.lastAppliedRevision ("main@sha1:<hash>", or the
// older "main/<hash>") names the commit or a revision the Acceptor accepts,
// the Ready condition is True, and status.observedGeneration is
// metadata.generation (the controller has seen the current spec), and no
// object it pruned is still deleting (see StuckDeletion). It fails
// fast with a *FailedError when status.lastAttemptedRevision is ours and Ready
// is False with a reason in which the controller gave up on that revision
// (BuildFailed, ReconciliationFailed, HealthCheckFailed, PruneFailed), and
// when the object is Stalled (the controller will not retry its spec).
type FluxKustomization struct {
	Client dynamic.Interface
	// Namespace and Kustomization name the object; an empty Namespace means
	// DefaultFluxNamespace. (The field is not called Name: Name is the
	// Source method.)
	Namespace, Kustomization string
	// Now stamps refresh requests; nil means time.Now.
	Now func() time.Time
	// StuckDeletion is as in ArgoCDREST. kustomize-controller deletes what
	// a commit removed and reports Ready without waiting for it to go, so
	// once Ready the objects it labelled as its own (liveKinds) are listed:
	// any still deleting keeps the wait going, and fails it past the limit.
	StuckDeletion time.Duration
}

var _ Source = (*FluxKustomization)(nil)

// Name is "flux kustomization <namespace>/<name>".
func (f *FluxKustomization) Name() string {
	return "flux kustomization " + f.namespace() + "/" + f.Kustomization
}

func (f *FluxKustomization) namespace() string {
	if f.Namespace == "" {
		return DefaultFluxNamespace
	}
	return f.Namespace
}

// Refresh sets the reconcile.fluxcd.io/requestedAt annotation, with a merge
// patch, on the Kustomization's source (spec.sourceRef: a GitRepository,
// usually) so that source-controller fetches git now, and then on the
// Kustomization, as `flux reconcile kustomization --with-source` does.
func (f *FluxKustomization) Refresh(ctx context.Context) error {
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{FluxReconcileAnnotation: now().UTC().Format(time.RFC3339Nano)},
	}})
	if err != nil {
		return err
	}
	obj, err := f.get(ctx)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	var srcErr error
	ref := obj.Spec.SourceRef
	if res, ok := fluxSourceResources[ref.Kind]; ok && ref.Name != "" {
		gv := schema.GroupVersion{Group: "source.toolkit.fluxcd.io", Version: "v1"}
		if ref.APIVersion != "" {
			if parsed, err := schema.ParseGroupVersion(ref.APIVersion); err == nil && parsed.Group == gv.Group {
				gv = parsed
			}
		}
		ns := ref.Namespace
		if ns == "" {
			ns = f.namespace()
		}
		_, err := f.Client.Resource(gv.WithResource(res)).Namespace(ns).
			Patch(ctx, ref.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		if err != nil {
			srcErr = fmt.Errorf("refresh the source %s %s/%s of %s: %w", ref.Kind, ns, ref.Name, f.Name(), kubeError(err))
		}
	} else {
		srcErr = fmt.Errorf("refresh %s: cannot refresh its source: unknown sourceRef kind %q", f.Name(), ref.Kind)
	}
	_, err = f.Client.Resource(fluxKustomizationGVR).Namespace(f.namespace()).
		Patch(ctx, f.Kustomization, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("refresh %s: %w", f.Name(), kubeError(err))
	}
	return srcErr
}

// Observe reads the Kustomization once and evaluates it against commit.
func (f *FluxKustomization) Observe(ctx context.Context, commit string, acc Acceptor, now time.Time) (Observation, error) {
	obj, err := f.get(ctx)
	if err != nil {
		return Observation{}, err
	}
	obs, err := evalFlux(ctx, obj, f.Name(), commit, acc)
	var fe *FailedError
	if errors.As(err, &fe) && fe.Reason == "HealthCheckFailed" {
		fe.Workloads = f.workloads(ctx, fe.Message)
	}
	if err != nil || !obs.Done {
		return obs, err
	}
	ds := f.deletions(ctx)
	if len(ds) == 0 {
		return obs, nil
	}
	obs.Done = false
	obs.Waiting = "applied, but what it pruned is not gone yet"
	return obs, judgeDeletions(&obs, ds, now, f.StuckDeletion, f.Name(), commit)
}

// deletions lists, in every namespace, the objects of liveKinds that carry
// kustomize-controller's ownership labels for this Kustomization and are
// being deleted. A kind it cannot list (not served, or not allowed) is
// skipped.
func (f *FluxKustomization) deletions(ctx context.Context) []Deletion {
	sel := "kustomize.toolkit.fluxcd.io/name=" + f.Kustomization + ",kustomize.toolkit.fluxcd.io/namespace=" + f.namespace()
	var out []Deletion
	for _, gk := range slices.SortedFunc(maps.Keys(liveKinds), func(a, b schema.GroupKind) int { return strings.Compare(a.String(), b.String()) }) {
		k := liveKinds[gk]
		list, err := f.Client.Resource(gk.WithVersion(k.version).GroupVersion().WithResource(k.resource)).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			continue
		}
		for _, item := range list.Items {
			what := gk.Kind + " " + item.GetName()
			if ns := item.GetNamespace(); ns != "" {
				what = gk.Kind + " " + ns + "/" + item.GetName()
			}
			if d, ok := deletionOf(what, item.Object); ok {
				out = append(out, d)
			}
		}
	}
	return out
}

// fluxWorkload is a workload a health check failure names, as kstatus
// prints it: "Deployment/default/app-green status: 'Failed'".
var fluxWorkload = regexp.MustCompile(`\b(Deployment)/([a-z0-9][a-z0-9.-]*)/([a-z0-9][a-z0-9.-]*) status: '(\w+)'`)

// workloads reads the Deployments a health check failure names and says
// why each is failing, by the deployment controller's conditions (a
// rollout past its progress deadline, replicas not available). What it
// cannot read is left out: the controller's message stands on its own.
func (f *FluxKustomization) workloads(ctx context.Context, message string) []string {
	var out []string
	for _, m := range fluxWorkload.FindAllStringSubmatch(message, 10) {
		d, err := f.Client.Resource(deploymentsGVR).Namespace(m[2]).Get(ctx, m[3], metav1.GetOptions{})
		if err != nil {
			continue
		}
		var obj struct {
			Status struct {
				Conditions []kubeCondition `json:"conditions"`
			} `json:"status"`
		}
		if fromUnstructured(d.Object, &obj) != nil {
			continue
		}
		for _, typ := range []string{"Progressing", "Available", "ReplicaFailure"} {
			c := findCondition(obj.Status.Conditions, typ)
			failing := c != nil && (c.Status == "False" || typ == "ReplicaFailure" && c.Status == "True")
			if failing {
				out = append(out, fmt.Sprintf("%s %s/%s: %s: %s", m[1], m[2], m[3], c.Reason, c.Message))
				break
			}
		}
	}
	return out
}

// fluxObject is the part of a Kustomization that evalFlux and Refresh read.
type fluxObject struct {
	Metadata struct {
		Generation int64 `json:"generation"`
	} `json:"metadata"`
	Spec struct {
		Suspend   bool `json:"suspend"`
		SourceRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			Namespace  string `json:"namespace"`
		} `json:"sourceRef"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration    int64           `json:"observedGeneration"`
		LastAppliedRevision   string          `json:"lastAppliedRevision"`
		LastAttemptedRevision string          `json:"lastAttemptedRevision"`
		Conditions            []kubeCondition `json:"conditions"`
	} `json:"status"`
}

// kubeCondition is a metav1.Condition as the API returns it.
type kubeCondition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason"`
	Message            string `json:"message"`
	ObservedGeneration int64  `json:"observedGeneration"`
}

func (f *FluxKustomization) get(ctx context.Context) (*fluxObject, error) {
	if f.Client == nil || f.Kustomization == "" {
		return nil, Permanent(fmt.Errorf("%s: a Kubernetes client and the Kustomization's name are both required", f.Name()))
	}
	u, err := f.Client.Resource(fluxKustomizationGVR).Namespace(f.namespace()).Get(ctx, f.Kustomization, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", f.Name(), kubeError(err))
	}
	var obj fluxObject
	if err := fromUnstructured(u.Object, &obj); err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return &obj, nil
}

func evalFlux(ctx context.Context, obj *fluxObject, source, commit string, acc Acceptor) (Observation, error) {
	st := &obj.Status
	gen := obj.Metadata.Generation
	applied := fluxRevisionHash(st.LastAppliedRevision)
	ready := findCondition(st.Conditions, "Ready")
	obs := Observation{Revision: applied, Sync: "nothing applied yet", Health: conditionWords(ready, "Ready")}
	if st.LastAppliedRevision != "" {
		obs.Sync = "applied " + shortRevision(st.LastAppliedRevision)
	}
	failed := func(c *kubeCondition) error {
		return &FailedError{Source: source, Commit: commit, Reason: c.Reason, Message: c.Message}
	}
	current := func(c *kubeCondition) bool { // set for the current spec
		return c.ObservedGeneration == 0 || c.ObservedGeneration == gen
	}
	accept := newAcceptance(ctx, source, commit, acc)

	if c := findCondition(st.Conditions, "Stalled"); c != nil && c.Status == "True" && current(c) {
		return obs, failed(c)
	}
	if ready != nil && ready.Status == "False" && fluxTerminalReasons[ready.Reason] && current(ready) {
		ok, err := accept.ours(fluxRevisionHash(st.LastAttemptedRevision))
		if err != nil {
			return obs, err
		}
		if ok {
			return obs, failed(ready)
		}
	}
	appliedOurs, err := accept.ours(applied)
	if err != nil {
		return obs, err
	}
	switch {
	case !appliedOurs:
		if applied == "" {
			obs.Waiting = fmt.Sprintf("no revision applied yet, want %s", shortSHA(commit))
		} else {
			obs.Waiting = fmt.Sprintf("applied revision %s is not %s yet", shortSHA(applied), shortSHA(commit))
			if why := accept.why(applied); why != "" {
				obs.Waiting += ": " + why
			}
		}
		if st.LastAttemptedRevision != "" && st.LastAttemptedRevision != st.LastAppliedRevision {
			obs.Waiting += fmt.Sprintf(" (last attempted %s)", shortRevision(st.LastAttemptedRevision))
		}
		if obj.Spec.Suspend {
			obs.Waiting += " (reconciliation is suspended: spec.suspend is true)"
		}
	case st.ObservedGeneration != gen:
		obs.Waiting = fmt.Sprintf("the controller has not reconciled the current spec (observedGeneration %d, generation %d)", st.ObservedGeneration, gen)
	case ready == nil || ready.Status != "True":
		obs.Waiting = obs.Health
		if ready != nil && ready.Message != "" {
			obs.Waiting += ": " + ready.Message
		}
	default:
		obs.Done = true
	}
	if !obs.Done && ready != nil && ready.Status != "True" && !strings.HasPrefix(obs.Waiting, "Ready=") {
		obs.Waiting += fmt.Sprintf(" [%s]", obs.Health)
	}
	return obs, nil
}

// fluxRevisionHash returns the commit hash of a Flux revision:
// "main@sha1:<hash>" (Flux 2.0 and later; also "sha1:<hash>" and
// "refs/...@sha1:<hash>"), or the older "main/<hash>".
func fluxRevisionHash(rev string) string {
	if i := strings.LastIndex(rev, "@"); i >= 0 {
		rev = rev[i+1:]
	}
	if _, h, ok := strings.Cut(rev, ":"); ok {
		return h
	}
	if i := strings.LastIndex(rev, "/"); i >= 0 {
		return rev[i+1:]
	}
	return rev
}

// shortRevision shortens the hash at the end of a Flux revision:
// "main@sha1:abc1234".
func shortRevision(rev string) string {
	h := fluxRevisionHash(rev)
	return strings.TrimSuffix(rev, h) + shortSHA(h)
}

func findCondition(cs []kubeCondition, typ string) *kubeCondition {
	for i := range cs {
		if cs[i].Type == typ {
			return &cs[i]
		}
	}
	return nil
}

// conditionWords is "Ready=True", "Ready=False: BuildFailed" or
// "no Ready condition".
func conditionWords(c *kubeCondition, typ string) string {
	if c == nil {
		return "no " + typ + " condition"
	}
	s := typ + "=" + c.Status
	if c.Status != "True" && c.Reason != "" {
		s += ": " + c.Reason
	}
	return s
}

// acceptance answers whether a revision is commit or one that acc accepts,
// asking acc at most once per revision and remembering why not.
type acceptance struct {
	ctx            context.Context
	source, commit string
	acc            Acceptor
	answers        map[string]acceptAnswer
}

type acceptAnswer struct {
	ok  bool
	why string
}

func newAcceptance(ctx context.Context, source, commit string, acc Acceptor) *acceptance {
	return &acceptance{ctx: ctx, source: source, commit: commit, acc: acc, answers: map[string]acceptAnswer{}}
}

func (a *acceptance) ours(rev string) (bool, error) {
	if rev == "" {
		return false, nil
	}
	if strings.EqualFold(rev, a.commit) {
		return true, nil
	}
	if ans, ok := a.answers[rev]; ok {
		return ans.ok, nil
	}
	if a.acc == nil {
		a.answers[rev] = acceptAnswer{}
		return false, nil
	}
	ok, why, err := a.acc.Accept(a.ctx, a.commit, rev)
	if err != nil {
		return false, fmt.Errorf("%s: is revision %s acceptable for %s: %w", a.source, shortSHA(rev), shortSHA(a.commit), err)
	}
	a.answers[rev] = acceptAnswer{ok: ok, why: why}
	return ok, nil
}

// why is the Acceptor's reason for refusing rev, if it was asked.
func (a *acceptance) why(rev string) string {
	return a.answers[rev].why
}
