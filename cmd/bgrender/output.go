package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bgrender/bgrender/pkg/notify"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func short(hash string) string {
	if len(hash) > 7 {
		return hash[:7]
	}
	return hash
}

// printTransition reports a transition in the chosen format.
func (g *globals) printTransition(res transitionResult) error {
	if g.json() {
		return writeJSON(g.stdout, res)
	}
	w := g.stdout
	if res.DryRun {
		fmt.Fprintf(w, "dry run: %s (nothing written, committed or pushed)\n", res.Subject)
		if res.Diff == "" {
			fmt.Fprintln(w, "no file changes")
		} else {
			fmt.Fprint(w, res.Diff)
		}
		fmt.Fprintf(w, "route: %s\n", res.Route)
		return nil
	}
	fmt.Fprintln(w, res.Subject)
	where := "committed locally (not pushed)"
	if res.Pushed {
		where = "pushed"
	}
	if pr := res.PR; pr != nil {
		verb := "updated"
		if pr.Created {
			verb = "opened"
		}
		fmt.Fprintf(w, "  commit %s %s to branch %s\n", short(res.Commit), where, pr.Branch)
		fmt.Fprintf(w, "  pull request #%d %s on %s: %s (%s -> %s)\n", pr.Number, verb, pr.Forge, pr.URL, pr.Branch, pr.Base)
		fmt.Fprintf(w, "  route once merged: %s\n", res.Route)
		fmt.Fprintln(w, "next: review and merge the pull request; Argo CD or Flux applies it once merged")
		return nil
	}
	fmt.Fprintf(w, "  commit %s %s\n", short(res.Commit), where)
	if len(res.LocalBehind) > 0 {
		fmt.Fprintf(w, "  your checkout stays behind it: local changes in %s; commit or stash them, then `git pull --ff-only`\n", strings.Join(res.LocalBehind, ", "))
	}
	fmt.Fprintf(w, "  route: %s\n", res.Route)
	if res.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", res.Note)
	}
	printNotifications(w, res.Notifications)
	if res.Next != "" {
		fmt.Fprintf(w, "next: %s\n", res.Next)
	}
	return nil
}

// printNotifications says who was told, and warns of each target that
// could not be.
func printNotifications(w io.Writer, dels []notify.Delivery) {
	var told []string
	for _, d := range dels {
		if d.OK {
			told = append(told, d.Target)
		}
	}
	if len(told) > 0 {
		fmt.Fprintf(w, "  notified: %s\n", strings.Join(told, ", "))
	}
	for _, d := range dels {
		if d.OK {
			continue
		}
		what := "warning"
		if d.Required {
			what = "error"
		}
		fmt.Fprintf(w, "  %s: could not notify %s (%s) of %s: %s\n", what, d.Target, d.Kind, d.Event, d.Error)
	}
}
