package worktree_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/worktree"
)

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, s := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// WriteOwned writes and removes only bgrender's files, drops the dirs it
// empties, and never writes through a symbolic link; ReadTree reports
// links and does not follow them.
func TestReadAndWriteOwned(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"base/service.yaml":                 "mine",
		"overlays/blue/kustomization.yaml":  "old blue",
		"overlays/green/kustomization.yaml": "stale green",
		render.KustomizationFile:            "old top",
	})
	current, links, err := worktree.ReadTree(root)
	if err != nil || len(links) != 0 || len(current) != 4 {
		t.Fatalf("ReadTree: %d files, links %v, %v", len(current), links, err)
	}
	want := render.Files{
		"base/service.yaml":                []byte("would overwrite the user's file"),
		"overlays/blue/kustomization.yaml": []byte("new blue"),
		render.KustomizationFile:           []byte("new top"),
	}
	if err := worktree.WriteOwned(root, current, want); err != nil {
		t.Fatal(err)
	}
	after, _, err := worktree.ReadTree(root)
	if err != nil {
		t.Fatal(err)
	}
	if string(after["base/service.yaml"]) != "mine" || string(after["overlays/blue/kustomization.yaml"]) != "new blue" || string(after[render.KustomizationFile]) != "new top" {
		t.Errorf("after WriteOwned: %v", after)
	}
	if _, err := os.Stat(filepath.Join(root, "overlays", "green")); !os.IsNotExist(err) {
		t.Errorf("the stale green overlay's dir is left: %v", err)
	}

	// A link where an overlay dir would be: reported by ReadTree, and not
	// written through.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "overlays", "green")); err != nil {
		t.Fatal(err)
	}
	if _, links, _ := worktree.ReadTree(root); links["overlays/green"] != outside {
		t.Errorf("ReadTree links %v", links)
	}
	err = worktree.WriteOwned(root, after, render.Files{"overlays/green/kustomization.yaml": []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("writing through a link: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("a file was written through the link: %v", ents)
	}
	if got := worktree.LinkOnPath(root, "overlays/green/sub"); got != filepath.Join(root, "overlays", "green") {
		t.Errorf("LinkOnPath = %q", got)
	}
}
