package wait

import (
	"context"
	"fmt"
	"time"
)

// ReasonHookFailed is the FailedError reason of a hook Job that failed.
const ReasonHookFailed = "HookFailed"

// Job wraps src so that a commit that adds a hook Job is done only once the
// controller applied it and the Job reports Complete=True (read-only,
// through src's LiveReader: Argo CD's resource API or the Kubernetes API).
// A Job that reports Failed=True (its backoffLimit or its
// activeDeadlineSeconds exceeded) stops the wait at once with a
// *FailedError (ReasonHookFailed) quoting the Job controller's condition.
func Job(src Source, namespace, name string) Source {
	return &jobGate{Source: src, namespace: namespace, name: name}
}

type jobGate struct {
	Source
	namespace, name string
}

// jobStatus is the part of a Job that the gate reads.
type jobStatus struct {
	Status struct {
		Active     int             `json:"active"`
		Succeeded  int             `json:"succeeded"`
		Failed     int             `json:"failed"`
		Conditions []kubeCondition `json:"conditions"`
	} `json:"status"`
}

func (g *jobGate) Observe(ctx context.Context, commit string, acc Acceptor, now time.Time) (Observation, error) {
	obs, err := g.Source.Observe(ctx, commit, acc, now)
	if err != nil || !obs.Done {
		return obs, err
	}
	live, ok := g.Source.(LiveReader)
	if !ok {
		return obs, Permanent(fmt.Errorf("%s: cannot read the hook Job's status through this source", g.Name()))
	}
	what := "Job " + g.namespace + "/" + g.name
	obj, err := live.Live(ctx, ObjectRef{Group: "batch", Version: "v1", Kind: "Job", Namespace: g.namespace, Name: g.name})
	if err != nil {
		return obs, fmt.Errorf("%s: read %s: %w", g.Name(), what, err)
	}
	if obj == nil {
		obs.Done, obs.Waiting = false, what+" is not in the cluster yet"
		return obs, nil
	}
	var st jobStatus
	if err := fromUnstructured(obj, &st); err != nil {
		return obs, fmt.Errorf("%s: read %s: %w", g.Name(), what, err)
	}
	if c := findCondition(st.Status.Conditions, "Failed"); c != nil && c.Status == "True" {
		return obs, &FailedError{Source: g.Name(), Commit: commit, Reason: ReasonHookFailed,
			Message:   fmt.Sprintf("%s failed: %s: %s (%d pod(s) failed)", what, c.Reason, c.Message, st.Status.Failed),
			Workloads: []string{fmt.Sprintf("its pods' logs are not read through %s: kubectl logs -n %s job/%s", g.Name(), g.namespace, g.name)}}
	}
	if c := findCondition(st.Status.Conditions, "Complete"); c != nil && c.Status == "True" {
		return obs, nil
	}
	obs.Done = false
	obs.Waiting = fmt.Sprintf("%s: %d active, %d succeeded, %d failed", what, st.Status.Active, st.Status.Succeeded, st.Status.Failed)
	return obs, nil
}
