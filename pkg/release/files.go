package release

import (
	"errors"
	"fmt"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/kubecheck"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// Files are the app dir's files in state next: the user's files of current
// as they are, bgrender's own (the root kustomization, overlays/) rendered
// for next from current and the state they were rendered for (prev), and
// the state file. It returns next with the digests of new snapshots
// recorded.
func Files(cfg config.Config, current render.Files, prev, next state.State) (render.Files, state.State, error) {
	owned, next, err := render.Render(cfg, current, prev, next)
	if err != nil {
		return nil, next, fmt.Errorf("render overlays: %w", err)
	}
	st, err := state.Marshal(next)
	if err != nil {
		return nil, next, err
	}
	out := render.Files{}
	for p, b := range current {
		if !render.Owned(p) && p != state.FileName {
			out[p] = b
		}
	}
	for p, b := range owned {
		out[p] = b
	}
	out[state.FileName] = st
	return out, next, nil
}

// Build builds the app dir dir (its repo path) with files and the shared
// files it reaches elsewhere in the repo, and checks the routing
// invariants: a transition whose result does not build, or routes
// inconsistently, is never committed. The files must be measured already
// (render.Builder.BuildVetted).
func Build(b *render.Builder, cfg config.Config, dir string, files, shared render.Files) ([]byte, error) {
	built, err := b.BuildShared(dir, files, shared)
	if err != nil {
		return nil, fmt.Errorf("%s: kustomize build failed, nothing was committed: %w", dir, err)
	}
	if errs := render.CheckRouting(cfg, built); len(errs) > 0 {
		return nil, fmt.Errorf("%s: rendered routing is inconsistent, nothing was committed: %w", dir, errors.Join(errs...))
	}
	return built, nil
}

// CheckOptions are what kubecheck needs to know of an app in state st: the
// ConfigMaps and Secrets provided outside git (the secret environment's
// included) and the image each deployed color must run.
func CheckOptions(cfg config.Config, st state.State) kubecheck.Options {
	opts := kubecheck.Options{ConfigMaps: cfg.Provided.ConfigMaps, Secrets: cfg.Provided.Secrets}
	for _, c := range state.Colors() {
		if cfg.SecretEnv {
			opts.Secrets = append(opts.Secrets, render.SecretEnvName(cfg.App, c))
		}
		if rel := st.InColor(c); rel != nil {
			opts.Images = append(opts.Images, kubecheck.Image{Deployment: render.DeploymentName(cfg.App, c), Container: cfg.Container, App: cfg.App, Tag: rel.Version})
		}
	}
	return opts
}

// NewProblems are the kubecheck findings of the objects after a
// transition (after, in state next) that the objects before it (built by
// before, in state prev, only when after has findings) did not have.
// Problems an app already had do not hold up a transition, so a rollback or
// an abort is never blocked by them; a before that does not build counts as
// having none.
func NewProblems(cfg config.Config, before func() ([]byte, error), prev state.State, after []byte, next state.State) []kubecheck.Finding {
	found := kubecheck.Check(after, CheckOptions(cfg, next))
	if len(found) == 0 {
		return nil
	}
	had := map[string]bool{}
	if b, err := before(); err == nil {
		for _, f := range kubecheck.Check(b, CheckOptions(cfg, prev)) {
			had[f.Error()] = true
		}
	}
	var added []kubecheck.Finding
	for _, f := range found {
		if !had[f.Error()] {
			added = append(added, f)
		}
	}
	return added
}
