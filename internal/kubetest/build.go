package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Tool is a program the end-to-end tests run, built from a tools module
// under internal/tools (never from bgrender's own go.mod) and cached by
// version in ${XDG_CACHE_HOME:-$HOME/.cache}/bgrender-tools/<Name>-<Version>/.
type Tool struct {
	// Name names the cache directory and the binary, e.g. "kube-apiserver".
	Name string
	// Version keys the cache. VersionModule's require line in the tools
	// module's go.mod must name exactly this version.
	Version, VersionModule string
	// Module is the tools module's directory under internal/tools.
	Module string
	// Package is what `go build` builds there.
	Package string
	// LDFlags and Env are passed to go build (Env on top of the environment
	// with GOWORK=off, CGO_ENABLED=0 and GOFLAGS=-buildvcs=false).
	LDFlags string
	Env     []string
	// EnvOverride, when set and naming a file in the environment, is used
	// instead of the cached build.
	EnvOverride string
}

// BuildTool returns the path of t's binary, building it first if it is not
// cached. Concurrent callers (test binaries of several packages) build once:
// a lock file guards the build, which writes a temporary file and renames it.
func BuildTool(ctx context.Context, logf func(string, ...any), t Tool) (string, error) {
	if t.EnvOverride != "" {
		if p := os.Getenv(t.EnvOverride); p != "" {
			if isFile(p) {
				return p, nil
			}
			logf("%s=%s is not a file; using the cached build", t.EnvOverride, p)
		}
	}
	root, err := cacheRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, t.Name+"-"+t.Version)
	bin := filepath.Join(dir, t.Name)
	if isFile(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"), logf)
	if err != nil {
		return "", err
	}
	defer unlock()
	if isFile(bin) { // built by another process while we waited
		return bin, nil
	}
	if err := buildTool(ctx, t, bin, logf); err != nil {
		return "", err
	}
	return bin, nil
}

func buildTool(ctx context.Context, t Tool, bin string, logf func(string, ...any)) error {
	dir, err := toolsModuleDir(ctx, t.Module)
	if err != nil {
		return err
	}
	if err := checkToolVersion(dir, t.VersionModule, t.Version); err != nil {
		return err
	}
	goBin, err := goBinary()
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	defer os.Remove(tmp)
	args := []string{"build", "-trimpath"}
	if t.LDFlags != "" {
		args = append(args, "-ldflags="+t.LDFlags)
	}
	args = append(args, "-o", tmp, t.Package)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false"), t.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	logf("building %s %s in %s (takes minutes on 2 cores)...", t.Name, t.Version, dir)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s in %s: %w\n%s", t.Name, dir, err, tail(out.String(), 4000))
	}
	if err := os.Rename(tmp, bin); err != nil {
		return fmt.Errorf("install %s: %w", t.Name, err)
	}
	logf("built %s in %s: %s", t.Name, time.Since(start).Round(time.Second), bin)
	return nil
}

// checkToolVersion makes sure the tools module builds the version that keys
// the cache, so a bump in one place is not silently cached under the other.
func checkToolVersion(dir, module, version string) error {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return fmt.Errorf("read the tools module: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require"))
		if len(f) >= 2 && f[0] == module {
			if f[1] != version {
				return fmt.Errorf("%s/go.mod requires %s %s but the cache key is %s: change both together", dir, module, f[1], version)
			}
			return nil
		}
	}
	return fmt.Errorf("%s/go.mod does not require %s", dir, module)
}
