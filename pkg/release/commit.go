package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/kubecheck"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// ProblemsError is a transition whose objects would have problems that
// they did not have before it (kubecheck): nothing is committed.
type ProblemsError struct {
	Dir      string
	Findings []kubecheck.Finding
}

func (e *ProblemsError) Error() string {
	lines := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		lines[i] = "  - " + f.Error()
	}
	return fmt.Sprintf("%s: the objects this commit would make have problems, nothing was committed:\n%s\nfix them in %s/ or base/ and run it again", e.Dir, strings.Join(lines, "\n"), render.TemplateDir)
}

// Check builds files, the app dir in state next, with the shared files it
// reaches, checks its routing (Build) and refuses problems of its objects
// that the app's objects now do not have (*ProblemsError). It returns the
// build.
func (a *App) Check(b *render.Builder, files render.Files, next state.State) ([]byte, error) {
	built, err := Build(b, a.Config, a.Dir, files, a.Shared)
	if err != nil {
		return nil, err
	}
	before := func() ([]byte, error) { return a.Build(b, a.Files) }
	if found := NewProblems(a.Config, before, a.State, built, next); len(found) > 0 {
		return nil, &ProblemsError{Dir: a.Dir, Findings: found}
	}
	return built, nil
}

// Body is the body of the commit that takes a to next: the route it
// leaves, the lines of extra, the evidence a promotion relied on, and what
// it did to the warm standby.
func Body(a *App, next state.State, extra ...string) string {
	lines := append([]string{"Route: " + Route(a.Config, next)}, extra...)
	if next.Last.Name == state.TPromote && next.Active != nil && next.Active.Promotion != nil && next.Active.Promotion.Evidence != nil {
		lines = append(lines, EvidenceLines(*next.Active.Promotion.Evidence)...)
	}
	if note := Note(a.State, next); note != "" {
		lines = append(lines, note)
	}
	return strings.Join(lines, "\n")
}

// EvidenceLines say what a verification proved, for commit messages and
// pull requests.
func EvidenceLines(ev state.Evidence) []string {
	lines := []string{
		"Evidence: release " + ev.Release + " verified at " + ev.VerifiedAt,
		"Applied commit: " + ev.Commit + " (" + ev.Source + " reported " + ev.Revision + ")",
		"Checks passed: " + strings.Join(ev.Checks, ", "),
	}
	if len(ev.Hooks) > 0 {
		lines = append(lines, "Hooks passed: "+strings.Join(ev.Hooks, ", "))
	}
	if len(ev.Analysis) > 0 {
		lines = append(lines, "Analysis passed: "+strings.Join(ev.Analysis, ", "))
	}
	return lines
}

// Message is the commit message bgrender writes for the transition of a
// to next: its Subject, Body and Trailers.
func Message(a *App, next state.State, extra ...string) string {
	return gitops.FormatMessage(Subject(a.State, next), Body(a, next, extra...), Trailers(next))
}

// Commit commits the transition of a to next (a state.Deploy, Promote, …
// of a.State) and pushes it: the app dir's files for next (Files), built
// and checked (Check), with the message bgrender writes (Message). The
// push is a compare-and-swap on the head a was read at; a transition that
// lost the race fails with gitops.ErrPushRejected, and is run again on the
// app read anew (Load), never blindly. A color's files edited by hand are a
// *render.DriftError: a transition never builds on them.
func (a *App) Commit(ctx context.Context, b *render.Builder, next state.State, author gitops.Signature) (gitops.Result, error) {
	files, next, err := Files(a.Config, a.Files, a.State, next)
	if err != nil {
		return gitops.Result{}, err
	}
	if _, err := a.Check(b, files, next); err != nil {
		return gitops.Result{}, err
	}
	res, err := a.Repo.Apply(ctx, gitops.Change{
		Dir:     a.Dir,
		Files:   files,
		Replace: []string{render.OverlaysDir},
		Message: Message(a, next),
		Author:  author,
	})
	if err != nil && !errors.Is(err, gitops.ErrPushRejected) {
		return res, fmt.Errorf("%s: commit %s: %w", a.Dir, next.Last.Name, err)
	}
	return res, err
}
