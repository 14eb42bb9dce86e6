package release_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// Init scaffolds an empty dir, adopts a kustomize app with the port it
// has, and refuses a dir that holds an app or other files.
func TestInit(t *testing.T) {
	cfg := config.Default("shop", "ghcr.io/acme/shop")
	ch, _, err := release.Init(cfg, "apps/shop", render.Files{}, release.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{config.FileName, state.FileName, render.KustomizationFile} {
		if _, ok := ch.Files[f]; !ok {
			t.Errorf("the scaffold has no %s", f)
		}
	}
	if ch.Transition != string(state.TInit) || ch.Subject != "shop: init (image ghcr.io/acme/shop, namespace default)" || ch.Note != "" {
		t.Errorf("change %q %q %q", ch.Transition, ch.Subject, ch.Note)
	}

	if _, _, err := release.Init(cfg, "apps/shop", ch.Files, release.InitOptions{}); !release.IsRefused(err) || !strings.Contains(err.Error(), "an app already exists here") {
		t.Errorf("init over an app: %v", err)
	}
	plain := podinfoPlain(t)
	pcfg := config.Default("podinfo", "ghcr.io/stefanprodan/podinfo")
	pcfg.Container = "podinfod"
	if _, _, err := release.Init(pcfg, "apps/podinfo", plain, release.InitOptions{}); !release.IsRefused(err) || !strings.Contains(err.Error(), "add --adopt") {
		t.Errorf("init over a kustomize app without --adopt: %v", err)
	}
	ch, got, err := release.Init(pcfg, "apps/podinfo", plain, release.InitOptions{Adopt: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Port != 9898 {
		t.Errorf("adopt: port %d, want the Deployment's first container port, 9898", got.Port)
	}
	if !strings.HasPrefix(ch.Subject, "podinfo: adopt ") || !strings.HasPrefix(ch.Note, "moved: ") || ch.Next.Adopted == nil {
		t.Errorf("adopt: subject %q note %q adopted %+v", ch.Subject, ch.Note, ch.Next.Adopted)
	}
}

// podinfoPlain is testdata's podinfo as it runs before bgrender: a plain
// kustomize app.
func podinfoPlain(t *testing.T) render.Files {
	t.Helper()
	plain := render.Files{}
	root := filepath.Join("..", "..", "testdata", "apps", "podinfo", "plain")
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(root, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		plain[e.Name()] = b
	}
	return plain
}
