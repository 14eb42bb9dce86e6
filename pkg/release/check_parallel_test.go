package release_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// TestCheckerInParallel: checking app dirs on many workers reports what
// one worker does, in the same order, findings, drift explanations (which
// read the repo's history) and cross-app findings included; CI runs it
// under -race.
func TestCheckerInParallel(t *testing.T) {
	ctx := context.Background()
	_, url := gitopstest.NewRemote(t, "main")
	seed := map[string]string{}
	for i := range 12 {
		name := fmt.Sprintf("app%02d", i)
		cfg := config.Default(name, "ghcr.io/acme/"+name)
		cfg.Gateway.Hosts = []string{name + ".example.com"}
		if i%5 == 4 {
			cfg.Gateway.Hosts = []string{"app00.example.com"} // claims another app's host
		}
		files, err := render.Scaffold(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if files[config.FileName], err = config.Marshal(cfg); err != nil {
			t.Fatal(err)
		}
		s := state.New(name)
		if files, _, err = release.Files(cfg, files, s, s); err != nil {
			t.Fatal(err)
		}
		for p, b := range files {
			seed["apps/"+name+"/"+p] = string(b)
		}
		if i%3 == 2 {
			seed["apps/"+name+"/overlays/kustomization.yaml"] += "# edited by hand\n"
		}
	}
	gitopstest.Seed(t, url, "main", seed, "twelve apps")
	r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: "main", ReadOnly: true, History: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dirs, err := r.FindDirs(ctx, config.FileName)
	if err != nil {
		t.Fatal(err)
	}
	one, err := (&release.Checker{Builder: &render.Builder{}, Workers: 1}).Check(ctx, r, nil, dirs)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, rep := range one {
		if !rep.OK {
			failed++
		}
	}
	if failed < 6 || !strings.Contains(strings.Join(one[4].Findings, "\n"), "claims host app00.example.com") {
		t.Fatalf("the apps do not have the findings this test needs (%d failed): %+v", failed, one[4])
	}
	for range 3 {
		many, err := (&release.Checker{Builder: &render.Builder{}, Workers: 6}).Check(ctx, r, nil, dirs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(many, one) {
			t.Fatalf("six workers report otherwise than one:\n%+v\nwant:\n%+v", many, one)
		}
	}
	// A cancelled check stops, and says so.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (&release.Checker{Builder: &render.Builder{}, Workers: 6}).Check(cancelled, r, nil, dirs); err == nil {
		t.Fatal("a cancelled check returned no error")
	}
}
