package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionCommand: `version` prints the build info, as text and as JSON.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	var v versionOut
	decodeJSON(t, mustBG(t, 0, "-o", "json", "version").stdout, &v)
	if v.Go != runtime.Version() || v.OS != runtime.GOOS || v.Arch != runtime.GOARCH {
		t.Errorf("go %s %s/%s, want %s %s/%s", v.Go, v.OS, v.Arch, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	if v.Module != "github.com/bgrender/bgrender" || v.Version == "" {
		t.Errorf("module %q version %q", v.Module, v.Version)
	}
	for _, dep := range []string{"sigs.k8s.io/kustomize/api", "github.com/go-git/go-git/v5"} {
		if !strings.HasPrefix(v.Dependencies[dep], "v") {
			t.Errorf("dependency %s: version %q", dep, v.Dependencies[dep])
		}
	}
	text := mustBG(t, 0, "version").stdout
	for _, want := range []string{"bgrender " + v.Version + "\n", runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH, "sigs.k8s.io/kustomize/api", v.Dependencies["github.com/go-git/go-git/v5"]} {
		if !strings.Contains(text, want) {
			t.Errorf("version output lacks %q:\n%s", want, text)
		}
	}
	if r := mustBG(t, exitUsage, "version", "extra"); !strings.Contains(r.stderr, `"extra"`) {
		t.Errorf("version extra: %s", r.stderr)
	}
}

// TestVersionFlag: the global --version (and -v) prints one line, while
// deploy --version is still the release's version.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	want := "bgrender version " + buildVersion().summary() + "\n"
	for _, flag := range []string{"--version", "-v"} {
		if r := mustBG(t, 0, flag); r.stdout != want {
			t.Errorf("bgrender %s printed %q, want %q", flag, r.stdout, want)
		}
	}
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	e.run(0, "deploy", "--version", "v2.0")
	var st statusOut
	decodeJSON(t, e.run(0, "-o", "json", "status").stdout, &st)
	if st.Test == nil || st.Test.Version != "v2.0" {
		t.Fatalf("deploy --version v2.0: status %+v", st)
	}
	if r := e.run(exitUsage, "deploy", "--version"); strings.Contains(r.stdout, "bgrender version") {
		t.Errorf("deploy --version without a value printed bgrender's version:\n%s", r.stdout)
	}
}

// TestVersionFromBuildInfo: what the toolchain stamps into a binary built
// in a checkout (vcs.* settings, the module's pseudo-version, replaced
// dependencies) is what version reports and --version summarises. That a
// real `go build` stamps it is checked by .ci/run on the binary it builds,
// not here: no test builds the binary.
func TestVersionFromBuildInfo(t *testing.T) {
	t.Parallel()
	const rev = "0123456789abcdef0123456789abcdef01234567"
	bi := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/bgrender/bgrender", Version: "v0.0.0-20261202020000-0123456789ab+dirty"},
		Deps: []*debug.Module{
			{Path: "sigs.k8s.io/kustomize/api", Version: "v0.21.0"},
			{Path: "github.com/go-git/go-git/v5", Version: "v5.16.0", Replace: &debug.Module{Path: "github.com/go-git/go-git/v5", Version: "v5.16.2"}},
			{Path: "golang.org/x/term", Version: "v0.30.0"},
		},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-02T02:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		},
	}
	v := versionFrom(bi)
	if v.VCS == nil || v.VCS.Revision != rev || v.VCS.System != "git" || v.VCS.Time != "2026-12-02T02:00:00Z" || !v.VCS.Modified {
		t.Fatalf("vcs %+v", v.VCS)
	}
	if v.Module != "github.com/bgrender/bgrender" || v.Version != bi.Main.Version {
		t.Errorf("module %q version %q", v.Module, v.Version)
	}
	if v.Dependencies["github.com/go-git/go-git/v5"] != "v5.16.2" || v.Dependencies["sigs.k8s.io/kustomize/api"] != "v0.21.0" || len(v.Dependencies) != 2 {
		t.Errorf("dependencies %v: want the key ones, replacements resolved", v.Dependencies)
	}
	// The pseudo-version names the commit and the dirty tree already.
	if s := v.summary(); strings.Contains(s, "revision") || strings.Contains(s, "modified") || !strings.HasPrefix(s, bi.Main.Version+" (") {
		t.Errorf("summary %q", s)
	}
	// A (devel) build: the summary names the revision and the dirty tree.
	bi.Main.Version = "(devel)"
	if s := versionFrom(bi).summary(); !strings.Contains(s, "revision "+rev[:12]) || !strings.Contains(s, "modified") {
		t.Errorf("(devel) summary %q", s)
	}
	// Unstamped (-buildvcs=false, or outside a checkout): no vcs at all.
	bi.Settings = nil
	if v := versionFrom(bi); v.VCS != nil {
		t.Errorf("unstamped: vcs %+v", v.VCS)
	}
	if v := versionFrom(nil); v.Version != "unknown" || v.VCS != nil {
		t.Errorf("no build info: %+v", v)
	}
}
