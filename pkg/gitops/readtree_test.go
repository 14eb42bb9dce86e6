package gitops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestReadTreeLinksAndBounds: symbolic links are reported apart from files,
// with their targets; a file or directory over its bound is refused before
// its content is read.
func TestReadTreeLinksAndBounds(t *testing.T) {
	ctx := context.Background()
	_, url := gitopstest.NewRemote(t, "main")
	gitopstest.Seed(t, url, "main", map[string]string{"README.md": "hi\n"}, "seed")
	checkout := gitopstest.Clone(t, url)
	app := filepath.Join(checkout, "apps", "a")
	if err := os.MkdirAll(filepath.Join(app, "base"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "base", "service.yaml"), []byte(strings.Repeat("x", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"kustomization.yaml": "../../../outside.yaml", "overlays": "/tmp"} {
		if err := os.Symlink(target, filepath.Join(app, link)); err != nil {
			t.Fatal(err)
		}
	}
	gitopstest.Git(t, checkout, "add", "-A")
	gitopstest.Git(t, checkout, "commit", "-qm", "links")

	r := open(t, gitops.Options{Repo: checkout})
	tree, err := r.ReadTree(ctx, "apps/a", gitops.Bounds{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Files) != 1 || len(tree.Files["base/service.yaml"]) != 100 {
		t.Errorf("Files = %v, want only base/service.yaml", gitopstest.Paths(asStrings(tree.Files)))
	}
	if tree.Links["kustomization.yaml"] != "../../../outside.yaml" || tree.Links["overlays"] != "/tmp" || len(tree.Links) != 2 {
		t.Errorf("Links = %v", tree.Links)
	}
	// ReadDir still gives a link's target as its content.
	files, err := r.ReadDir(ctx, "apps/a")
	if err != nil || string(files["overlays"]) != "/tmp" || len(files) != 3 {
		t.Errorf("ReadDir = %v, %v", files, err)
	}

	for _, tc := range []struct {
		b    gitops.Bounds
		want string
	}{
		{gitops.Bounds{FileBytes: 99}, "apps/a/base/service.yaml: file of 100 bytes, over the limit of 99"},
		{gitops.Bounds{DirBytes: 110}, "apps/a: directory's files together of "},
	} {
		_, err := r.ReadTree(ctx, "apps/a", tc.b)
		var tl *gitops.TooLargeError
		if !errors.As(err, &tl) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ReadTree within %+v = %v, want %q", tc.b, err, tc.want)
		}
	}
	if _, err := r.ReadTree(ctx, "apps/a", gitops.Bounds{FileBytes: 100, DirBytes: 100 + 21 + 4}); err != nil {
		t.Errorf("ReadTree at exactly its bounds: %v", err)
	}
}

func asStrings(files map[string][]byte) map[string]string {
	out := map[string]string{}
	for p, b := range files {
		out[p] = string(b)
	}
	return out
}

// TestApplyKeepsExecutableFiles: a file that was executable stays so when
// Apply writes it again, even with its directory replaced whole; and two
// new files of the same content are pushed as one object (a pack that
// listed it twice did not match its index: git fsck on the remote).
func TestApplyKeepsExecutableFiles(t *testing.T) {
	ctx := context.Background()
	dir, url := gitopstest.NewRemote(t, "main")
	checkout := gitopstest.Clone(t, url)
	if err := os.MkdirAll(filepath.Join(checkout, "ci"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(checkout, "ci", "run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitopstest.Git(t, checkout, "add", "-A")
	gitopstest.Git(t, checkout, "commit", "-qm", "a script")
	gitopstest.Git(t, checkout, "push", "-q", "origin", "main")
	http := gitopstest.ServeHTTP(t, dir, "", "")
	r := open(t, gitops.Options{Repo: http, Push: true})
	files := map[string][]byte{"ci/run": []byte("#!/bin/sh\n"), "a/x": []byte("same\n"), "b/x": []byte("same\n")}
	if _, err := r.Apply(ctx, gitops.Change{Dir: ".", Files: files, Replace: []string{"."}, Message: "again\n", Author: author(1)}); err != nil {
		t.Fatal(err)
	}
	if out := gitopstest.Git(t, dir, "ls-tree", "HEAD", "ci/run"); !strings.HasPrefix(out, "100755 ") {
		t.Errorf("ci/run lost its mode: %s", out)
	}
	gitopstest.Git(t, dir, "fsck", "--no-progress")
}
