package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersionCommand: `version` prints the build info, as text and as JSON.
func TestVersionCommand(t *testing.T) {
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

// TestVersionStampedBinary: a binary built by `go build` inside this git
// checkout reports the checkout's HEAD as vcs.revision. It builds with
// -buildvcs=true: a GOFLAGS=-buildvcs=false in the go env would otherwise
// leave the binary unstamped.
func TestVersionStampedBinary(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	head := func() string {
		t.Helper()
		out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatalf("git rev-parse HEAD in %s (the test needs git and a git checkout): %v", root, err)
		}
		return strings.TrimSpace(string(out))
	}
	bin := filepath.Join(t.TempDir(), "bgrender")
	before := head()
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	after := head() // others may commit meanwhile: either is the commit built
	out, err := exec.Command(bin, "-o", "json", "version").Output()
	if err != nil {
		t.Fatalf("bgrender -o json version: %v", err)
	}
	var v versionOut
	decodeJSON(t, string(out), &v)
	if v.VCS == nil {
		t.Fatalf("the binary carries no VCS info:\n%s", out)
	}
	if v.VCS.Revision != before && v.VCS.Revision != after {
		t.Errorf("vcs.revision %s, want HEAD %s", v.VCS.Revision, after)
	}
	if v.VCS.System != "git" || v.VCS.Time == "" {
		t.Errorf("vcs %+v", *v.VCS)
	}
	if v.Go != runtime.Version() {
		t.Errorf("go %s, want %s", v.Go, runtime.Version())
	}
	line, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("bgrender --version: %v", err)
	}
	if !strings.HasPrefix(string(line), "bgrender version ") || !strings.Contains(string(line), short12(v.VCS.Revision)) {
		t.Errorf("bgrender --version printed %q, want the revision %s in it", line, short12(v.VCS.Revision))
	}
	t.Logf("%s", line)
}
