package release_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/vet"
)

// ReadDir and ReadShared read an app and the components it uses elsewhere
// in the repo from a real bare remote, within the limits, counted together.
func TestReadDirAndShared(t *testing.T) {
	_, url := gitopstest.NewRemote(t, "main")
	gitopstest.Seed(t, url, "main", map[string]string{
		"apps/shop/kustomization.yaml":            "resources:\n- cm.yaml\ncomponents:\n- ../../components/common\n",
		"apps/shop/cm.yaml":                       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop}\n",
		"components/common/kustomization.yaml":    "kind: Component\ncomponents:\n- ../labels\n" + strings.Repeat("# padding\n", 25),
		"components/labels/kustomization.yaml":    "kind: Component\n" + strings.Repeat("# padding\n", 25),
		"components/unrelated/kustomization.yaml": "kind: Component\n",
	}, "an app and shared components")
	ctx := context.Background()
	r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l := vet.DefaultLimits()
	files, err := release.ReadDir(ctx, r, "apps/shop", l)
	if err != nil || len(files) != 2 {
		t.Fatalf("ReadDir: %v, %d files", err, len(files))
	}
	shared, err := release.ReadShared(ctx, r, "apps/shop", files, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(shared) != 2 || shared["components/common/kustomization.yaml"] == nil || shared["components/labels/kustomization.yaml"] == nil {
		t.Fatalf("ReadShared: %v", keys(shared))
	}
	small := l
	small.DirBytes = 400 // the app and each component fit; the components together do not
	if _, err := release.ReadDir(ctx, r, "apps/shop", small); err != nil {
		t.Fatal(err)
	}
	var over *release.SharedTooLargeError
	if _, err := release.ReadShared(ctx, r, "apps/shop", files, small); !errors.As(err, &over) || over.Dir != "apps/shop" {
		t.Fatalf("ReadShared over the limit: %v", err)
	}
	tiny := l
	tiny.FileBytes = 50
	var tooLarge *gitops.TooLargeError
	if _, err := release.ReadDir(ctx, r, "apps/shop", tiny); !errors.As(err, &tooLarge) || !strings.HasPrefix(tooLarge.Path, "apps/shop/") {
		t.Fatalf("ReadDir with a tiny file limit: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Load reads an app from a commit; a dir without bgrender.yaml is a
// *NoConfigError naming where it looked.
func TestLoad(t *testing.T) {
	_, url := gitopstest.NewRemote(t, "main")
	gitopstest.Seed(t, url, "main", map[string]string{
		"apps/plain/kustomization.yaml": "resources: []\n",
	}, "a kustomize app, not bgrender's")
	ctx := context.Background()
	r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var noConfig *release.NoConfigError
	if _, err := release.Load(ctx, r, "apps/plain", vet.DefaultLimits()); !errors.As(err, &noConfig) || noConfig.Branch != "main" || noConfig.Dir != "apps/plain" {
		t.Fatalf("Load of a plain kustomize app: %v", err)
	}
}
