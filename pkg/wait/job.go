package wait

import (
	"context"
	"fmt"
	"strings"
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
			Workloads: []string{g.logs(ctx)}}
	}
	if c := findCondition(st.Status.Conditions, "Complete"); c != nil && c.Status == "True" {
		return obs, nil
	}
	obs.Done = false
	obs.Waiting = fmt.Sprintf("%s: %d active, %d succeeded, %d failed", what, st.Status.Active, st.Status.Succeeded, st.Status.Failed)
	return obs, nil
}

// LogReader is a Source that can read the last lines of a workload's pods'
// logs (Argo CD's logs API).
type LogReader interface {
	Logs(ctx context.Context, ref ObjectRef, lines int) ([]string, error)
}

// hookLogLines is how many lines of a failed hook's log are quoted.
const hookLogLines = 20

// logs quotes the last lines of the Job's pods' logs where the source can
// read them, and says where they are otherwise.
func (g *jobGate) logs(ctx context.Context) string {
	where := fmt.Sprintf("kubectl logs -n %s job/%s", g.namespace, g.name)
	lr, ok := g.Source.(LogReader)
	if !ok {
		return fmt.Sprintf("its pods' logs are not read through %s: %s", g.Name(), where)
	}
	lines, err := lr.Logs(ctx, ObjectRef{Group: "batch", Version: "v1", Kind: "Job", Namespace: g.namespace, Name: g.name}, hookLogLines)
	switch {
	case err != nil:
		return fmt.Sprintf("its pods' logs could not be read through %s (%v): %s", g.Name(), err, where)
	case len(lines) == 0:
		return fmt.Sprintf("%s has no log lines for its pods: %s", g.Name(), where)
	}
	return "last lines of its log:\n  " + strings.Join(lines, "\n  ")
}
