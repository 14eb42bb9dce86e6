package wait

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DefaultStuckDeletion is how long an object the controller is deleting may
// stay in deletion before a wait stops, when no limit is given. Deletion
// waits on finalizers: the garbage collector's foregroundDeletion (the
// dependents go first: ReplicaSets, then Pods with their grace periods) and
// any other controller's (a load balancer released, a volume detached),
// which can legitimately take minutes.
const DefaultStuckDeletion = 5 * time.Minute

// argoPendingDeletion is the health message Argo CD gives a resource with a
// deletionTimestamp.
const argoPendingDeletion = "Pending deletion"

// Deletion is an object the controller is deleting but the API server still
// has, as its live metadata says.
type Deletion struct {
	// What names it: "Deployment default/myapp-blue".
	What string
	// Since is its deletionTimestamp (when the deletion was asked for).
	Since time.Time
	// Finalizers are those still holding it.
	Finalizers []string
}

// deletionOf reads the deletion state from an object's metadata (as the
// Kubernetes API returns it); ok is false when it is not being deleted.
func deletionOf(what string, obj map[string]any) (Deletion, bool) {
	md, _ := obj["metadata"].(map[string]any)
	ts, _ := md["deletionTimestamp"].(string)
	if ts == "" {
		return Deletion{}, false
	}
	since, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return Deletion{}, false
	}
	d := Deletion{What: what, Since: since}
	fs, _ := md["finalizers"].([]any)
	for _, f := range fs {
		if s, ok := f.(string); ok && s != "" {
			d.Finalizers = append(d.Finalizers, s)
		}
	}
	return d, true
}

// describe says how long d has been deleting and what holds it.
func (d Deletion) describe(now time.Time) string {
	s := fmt.Sprintf("%s has been deleting for %s", d.What, roundUp(now.Sub(d.Since)))
	own := slices.DeleteFunc(slices.Clone(d.Finalizers), func(f string) bool { return f == "foregroundDeletion" || f == "orphan" })
	switch {
	case len(own) > 0:
		s += fmt.Sprintf(", held by finalizer %s, which only the controller that set it (or a person) removes", strings.Join(own, ", "))
	case slices.Contains(d.Finalizers, "foregroundDeletion"):
		s += ", held by finalizer foregroundDeletion until the garbage collector has deleted its dependents (its ReplicaSets and Pods)"
	case len(d.Finalizers) == 0:
		s += ", with no finalizer left"
	}
	return s
}

// judgeDeletions adds what holds each deletion to a wait that is not done,
// and fails the wait once one has lasted stuckAfter (zero means
// DefaultStuckDeletion, negative never): waiting longer only runs into the
// timeout, since bgrender never removes a finalizer itself.
func judgeDeletions(obs *Observation, ds []Deletion, now time.Time, stuckAfter time.Duration, source, commit string) error {
	if stuckAfter == 0 {
		stuckAfter = DefaultStuckDeletion
	}
	var stuck []string
	for _, d := range ds {
		obs.Waiting += "; " + d.describe(now)
		if stuckAfter > 0 && now.Sub(d.Since) >= stuckAfter {
			stuck = append(stuck, d.describe(now))
		}
	}
	if len(stuck) == 0 {
		return nil
	}
	return &FailedError{Source: source, Commit: commit, Reason: ReasonDeletionStuck,
		Message: strings.Join(stuck, "; ") + fmt.Sprintf(" (limit wait.stuckDeletion %s); find why its finalizer is not removed, then run wait again", stuckAfter)}
}

// pendingDeletions lists the resources Argo CD reports as pending deletion.
func pendingDeletions(app *ArgoApplication) []ArgoResource {
	var out []ArgoResource
	for _, r := range app.Status.Resources {
		if r.Health != nil && r.Health.Message == argoPendingDeletion {
			out = append(out, r)
		}
	}
	return out
}

// liveReader reads a resource's live object (read-only) for an Argo CD app.
type liveReader func(ctx context.Context, r ArgoResource) (map[string]any, error)

// argoDeletions reads, for a wait that is not done, the live object of each
// resource Argo CD reports as pending deletion (at most maxDeletionReads),
// and judges them. An object it cannot read is left to Argo CD's words.
func argoDeletions(ctx context.Context, app *ArgoApplication, obs *Observation, read liveReader, now time.Time, c ArgoCheck, commit string) error {
	if obs.Done || read == nil {
		return nil
	}
	var ds []Deletion
	for i, r := range pendingDeletions(app) {
		if i == maxDeletionReads {
			break
		}
		obj, err := read(ctx, r)
		if err != nil || obj == nil {
			continue
		}
		if d, ok := deletionOf(r.Kind+" "+resourceName(r), obj); ok {
			ds = append(ds, d)
		}
	}
	return judgeDeletions(obs, ds, now, c.StuckDeletion, c.Source, commit)
}

// liveKind is a kind whose live objects are read: its plural resource and
// the version a Flux source lists it at (an Argo CD resource carries its
// own).
type liveKind struct{ resource, version string }

// liveKinds are the kinds whose live objects the Kubernetes API sources read
// for deletions in progress (never Secrets). The dynamic client has no
// discovery, so the kinds bgrender renders and users commonly add are named
// here.
var liveKinds = map[schema.GroupKind]liveKind{
	{Group: "apps", Kind: "Deployment"}:                     {"deployments", "v1"},
	{Group: "apps", Kind: "StatefulSet"}:                    {"statefulsets", "v1"},
	{Group: "", Kind: "Service"}:                            {"services", "v1"},
	{Group: "", Kind: "ConfigMap"}:                          {"configmaps", "v1"},
	{Group: "", Kind: "ServiceAccount"}:                     {"serviceaccounts", "v1"},
	{Group: "batch", Kind: "Job"}:                           {"jobs", "v1"},
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}: {"horizontalpodautoscalers", "v2"},
	{Group: "policy", Kind: "PodDisruptionBudget"}:          {"poddisruptionbudgets", "v1"},
	{Group: "networking.istio.io", Kind: "VirtualService"}:  {"virtualservices", "v1"},
	{Group: "networking.istio.io", Kind: "DestinationRule"}: {"destinationrules", "v1"},
	{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}: {"httproutes", "v1"},
}

// maxDeletionReads bounds the live objects read in one observation.
const maxDeletionReads = 5
