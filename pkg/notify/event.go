// Package notify tells people what a release did: an event per transition
// that lands and per release outcome, sent to the targets of an app's
// notify: section (a Slack incoming webhook, a signed generic webhook,
// GitHub Deployments).
//
// A failed notification is a warning unless its target is required.
// Retries are bounded. Where a target is and its credentials come from the
// environment, and neither appears in any error or result.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/bgrender/bgrender/pkg/state"
)

// Schema identifies the event's JSON shape (docs/notifications.md).
const Schema = "bgrender.io/v1alpha1/Event"

// Event is what bgrender tells about: a transition that landed, or a
// release's outcome. Its JSON is the generic webhook's body.
type Event struct {
	Schema string `json:"schema"`
	// ID is the same for every delivery of the event: a receiver's
	// idempotency key.
	ID string `json:"id"`
	// Type is one of config.Events.
	Type string `json:"type"`
	// Time is when it happened, RFC 3339 in UTC.
	Time      string `json:"time"`
	App       string `json:"app"`
	Namespace string `json:"namespace"`
	// Dir is the app dir in the env repo.
	Dir string `json:"dir"`
	// Release is the release the event is about: deployed, verified,
	// promoted, rolled back from, aborted, decommissioned.
	Release *Release `json:"release,omitempty"`
	// Live is the release that takes the default route after the event
	// (none while only an adopted Deployment does).
	Live *Release `json:"live,omitempty"`
	// Replaced, on promoted, is the release that was live before.
	Replaced *Release `json:"replaced,omitempty"`
	// Commit is the env repo commit of the transition.
	Commit string `json:"commit,omitempty"`
	// Reason says why, for rolled-back, aborted and failed.
	Reason string `json:"reason,omitempty"`
	// Summary is one line for people.
	Summary string `json:"summary"`
}

// Release names a release in an event.
type Release struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Color   string `json:"color"`
}

// ReleaseOf is r as an event names it (nil for nil).
func ReleaseOf(r *state.Release) *Release {
	if r == nil {
		return nil
	}
	return &Release{ID: r.ID, Version: r.Version, Color: string(r.Color)}
}

func (r *Release) describe() string {
	if r == nil {
		return "nothing"
	}
	return fmt.Sprintf("%s (%s)", r.Version, r.Color)
}

// maxReason bounds the reason an event carries.
const maxReason = 2000

// Finish fills in the event's schema, id and summary from the rest.
func (ev Event) Finish() Event {
	ev.Schema = Schema
	if len(ev.Reason) > maxReason {
		ev.Reason = ev.Reason[:maxReason] + "…"
	}
	h := sha256.Sum256([]byte(strings.Join([]string{ev.Dir, ev.Type, ev.Commit, ev.Time, idOf(ev.Release)}, "\x00")))
	ev.ID = "e-" + hex.EncodeToString(h[:])[:16]
	ev.Summary = ev.summary()
	return ev
}

func idOf(r *Release) string {
	if r == nil {
		return ""
	}
	return r.ID
}

func (ev Event) summary() string {
	var s string
	switch ev.Type {
	case "deployed":
		s = fmt.Sprintf("%s %s deployed into %s, under test", ev.App, ev.Release.describeVersion(), ev.Release.color())
	case "verified":
		s = fmt.Sprintf("%s %s verified through the test route", ev.App, ev.Release.describeVersion())
	case "promoted":
		s = fmt.Sprintf("%s %s promoted: it takes all traffic", ev.App, ev.Release.describeVersion())
		if ev.Replaced != nil {
			s += fmt.Sprintf("; %s stays warm", ev.Replaced.describe())
		}
	case "rolled-back":
		s = fmt.Sprintf("%s rolled back from %s to %s", ev.App, ev.Release.describe(), ev.Live.describe())
	case "aborted":
		s = fmt.Sprintf("%s %s aborted before the switch", ev.App, ev.Release.describeVersion())
	case "decommissioned":
		s = fmt.Sprintf("%s %s decommissioned", ev.App, ev.Release.describe())
	default:
		s = fmt.Sprintf("%s %s failed", ev.App, ev.Release.describeVersion())
	}
	if ev.Reason != "" {
		first, _, _ := strings.Cut(ev.Reason, "\n")
		s += ": " + first
	}
	return s
}

func (r *Release) describeVersion() string {
	if r == nil {
		return "release"
	}
	return r.Version
}

func (r *Release) color() string {
	if r == nil {
		return "the idle color"
	}
	return r.Color
}
