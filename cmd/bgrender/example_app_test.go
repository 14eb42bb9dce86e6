package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/worktree"
)

// TestExampleAppMatchesRender fails when the project's own example app (the
// repository root: bgrender.yaml, bgrender-state.yaml, base/, overlays/)
// drifts from what bgrender renders from its state, or stops building.
func TestExampleAppMatchesRender(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	all, _, err := worktree.ReadTree(root)
	if err != nil {
		t.Fatal(err)
	}
	files := render.Files{}
	for p, b := range all {
		if p == config.FileName || p == state.FileName || p == render.KustomizationFile ||
			strings.HasPrefix(p, "base/") || strings.HasPrefix(p, render.TemplateDir+"/") || strings.HasPrefix(p, render.OverlaysDir+"/") {
			files[p] = b
		}
	}
	cfg, err := config.Parse(config.FileName, files[config.FileName])
	if err != nil {
		t.Fatal(err)
	}
	if cfg.App != "myapp" || cfg.Port != 3000 || cfg.ReadinessPath != "/ready" || cfg.Gateway.Hosts[0] != "*" {
		t.Fatalf("the example app is not the documented myapp: %+v", cfg)
	}
	st, err := state.Parse(state.FileName, files[state.FileName])
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := release.Files(cfg, files, st, st)
	if err != nil {
		t.Fatal(err)
	}
	if d := render.Diff(".", release.OwnedOnly(files), release.OwnedOnly(want)); d != "" {
		t.Fatalf("the committed example overlays drift from what bgrender renders; run `go run ./cmd/bgrender render`:\n%s", d)
	}
	if _, err := release.Build(&render.Builder{}, cfg, ".", files, nil); err != nil {
		t.Fatal(err)
	}
}
