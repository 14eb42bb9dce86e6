package release_test

import (
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// An app scaffolded and deployed through Files builds with Build, and
// NewProblems reports a problem a transition adds but not one it keeps.
func TestFilesBuildAndNewProblems(t *testing.T) {
	cfg := config.Default("shop", "ghcr.io/acme/shop")
	scaffold, err := render.Scaffold(cfg)
	if err != nil {
		t.Fatal(err)
	}
	scaffold["notes.txt"] = []byte("the team's own file\n")
	s0 := state.New("shop")
	files0, s0, err := release.Files(cfg, scaffold, s0, s0)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := state.Deploy(s0, state.DeployRequest{Version: "v1", ReleaseID: "r-1"})
	if err != nil {
		t.Fatal(err)
	}
	files1, s1, err := release.Files(cfg, files0, s0, s1)
	if err != nil {
		t.Fatal(err)
	}
	if string(files1["notes.txt"]) != "the team's own file\n" || files1[state.FileName] == nil || s1.Test.Snapshot == "" {
		t.Fatalf("files after deploy: notes %q, state file %v, snapshot %q", files1["notes.txt"], files1[state.FileName] != nil, s1.Test.Snapshot)
	}
	var b render.Builder
	built, err := release.Build(&b, cfg, "apps/shop", files1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(built), "name: shop-blue") {
		t.Fatalf("build:\n%s", built)
	}
	before := func() ([]byte, error) { return release.Build(&b, cfg, "apps/shop", files0, nil) }
	if got := release.NewProblems(cfg, before, s0, built, s1); len(got) != 0 {
		t.Errorf("a sound deploy has new problems: %v", got)
	}
	// The release's image must be what the color runs: judged for a
	// version the Deployment does not run, it is a problem, and a new one.
	wrong := s1.Clone()
	wrong.Test.Version = "v9"
	got := release.NewProblems(cfg, before, s0, built, wrong)
	if len(got) != 1 || !strings.Contains(got[0].Error(), "but the release is v9") {
		t.Fatalf("NewProblems = %v", got)
	}
	// The same problem before and after is not new.
	if again := release.NewProblems(cfg, func() ([]byte, error) { return built, nil }, wrong, built, wrong); len(again) != 0 {
		t.Errorf("a problem the app had counts as new: %v", again)
	}
}
