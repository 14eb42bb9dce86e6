package release_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/internal/benchrepo"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
)

// TestCheckerInParallel: checking app dirs on many workers reports what
// one worker does, in the same order, findings, drift explanations (which
// read the repo's history, here for the apps whose live snapshot was
// edited by hand) and cross-app findings included; CI runs it
// under -race.
func TestCheckerInParallel(t *testing.T) {
	ctx := context.Background()
	_, url := gitopstest.NewRemote(t, "main")
	seed, edits := map[string]string{}, map[string]string{}
	for i := range 12 {
		name := fmt.Sprintf("app%02d", i)
		host := name + ".example.com"
		if i%5 == 4 {
			host = "app00.example.com" // claims another app's host
		}
		files := appSeed(t, name, host)
		if i%3 == 2 {
			// Deployed, with its live color's snapshot edited by hand: the
			// drift's explanation reads the repo's history.
			app, err := benchrepo.App(name)
			if err != nil {
				t.Fatal(err)
			}
			files = map[string]string{}
			for p, b := range app {
				files["apps/"+name+"/"+p] = string(b)
			}
			p := "apps/" + name + "/overlays/blue/snapshot/template/deployment.yaml"
			edits[p] = files[p] + "# edited by hand\n"
		}
		maps.Copy(seed, files)
	}
	gitopstest.Seed(t, url, "main", seed, "twelve apps")
	gitopstest.Seed(t, url, "main", edits, "edit the live snapshots by hand")
	r := openRead(t, url, "main")
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
	if f := strings.Join(one[2].Findings, "\n"); !strings.Contains(f, "changed by hand since commit") || !strings.Contains(f, "git checkout") {
		t.Fatalf("app02's drift is not explained from the history: %s", f)
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
