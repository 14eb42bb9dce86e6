package wait

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Acceptor decides whether a revision a controller reports as applied is
// acceptable for the commit bgrender waits for: the commit itself, or a
// descendant of it that does not change the app's manifests after it (many
// apps share a branch, so a later commit made for another app is fine).
type Acceptor interface {
	Accept(ctx context.Context, commit, revision string) (ok bool, why string, err error)
}

// Observation is one look at the controller's status.
type Observation struct {
	// Revision is the commit the controller reports as applied ("" if none).
	Revision string `json:"revision"`
	// Sync and Health are the controller's own words, for progress lines,
	// e.g. "OutOfSync", "Progressing" (Argo CD) or "Ready=False" (Flux).
	Sync   string `json:"sync"`
	Health string `json:"health"`
	// Done: the commit (or an acceptable descendant) is applied and healthy,
	// including any cooldown.
	Done bool `json:"done"`
	// Waiting says in words what is still missing when not Done.
	Waiting string `json:"waiting,omitempty"`
}

// Source is a GitOps controller's view of one app.
type Source interface {
	// Name describes the source for messages: "argocd app myapp".
	Name() string
	// Refresh asks the controller to look at git now instead of at its next poll.
	Refresh(ctx context.Context) error
	// Observe reads the status once and evaluates it against commit. It
	// returns a *FailedError when the controller reports that it failed to
	// apply commit (fail fast, quoting the controller).
	Observe(ctx context.Context, commit string, acc Acceptor, now time.Time) (Observation, error)
}

// FailedError reports that the controller failed to apply the commit; Message
// quotes the controller.
type FailedError struct {
	Source  string
	Commit  string
	Reason  string // e.g. "ComparisonError", "SyncFailed", "Degraded", "ReconciliationFailed"
	Message string
	// Workloads says, in the Kubernetes controllers' own words, why the
	// workloads the message names are failing, where the source could read
	// them (e.g. "Deployment default/app-green: ProgressDeadlineExceeded:
	// ...").
	Workloads []string
}

func (e *FailedError) Error() string {
	s := fmt.Sprintf("%s failed to apply %s: %s: %s", e.Source, shortSHA(e.Commit), e.Reason, e.Message)
	switch e.Reason {
	case ReasonDeletionStuck:
		s = fmt.Sprintf("%s applied %s, but what it deletes is stuck: %s: %s", e.Source, shortSHA(e.Commit), e.Reason, e.Message)
	case ReasonHookFailed:
		s = fmt.Sprintf("%s applied %s, but its hook Job failed: %s", e.Source, shortSHA(e.Commit), e.Message)
	}
	for _, w := range e.Workloads {
		s += "; " + w
	}
	return s
}

// ReasonDeletionStuck is the FailedError reason of an applied commit whose
// deletions have lasted longer than the limit (a finalizer never cleared).
const ReasonDeletionStuck = "DeletionStuck"

// ErrTimeout is returned (wrapped) when the wait ran out of time.
var ErrTimeout = errors.New("timed out")

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}
