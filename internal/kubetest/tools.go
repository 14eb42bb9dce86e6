package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// KubernetesVersion is the k8s.io/kubernetes version that
// internal/tools/kubeapiserver/go.mod requires; the cached binary is keyed by it.
const KubernetesVersion = "v1.34.4"

// EnvAPIServer names an environment variable that, when it names a file, is
// used as the kube-apiserver binary instead of the cached build.
const EnvAPIServer = "BGRENDER_KUBE_APISERVER"

// crdModule is a Go module that ships CRD manifests, and the files to take.
type crdModule struct {
	Path, Version string
	Files         []string // slash paths inside the module
}

// crdModules are the CRDs' sources. The Go module proxy serves them, so no
// other download is needed; `go mod download -json` prints where they are.
var crdModules = []crdModule{
	{"github.com/argoproj/argo-cd/v2", "v2.14.21", []string{"manifests/crds/application-crd.yaml"}},
	{"github.com/fluxcd/kustomize-controller", "v1.9.6", []string{"config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml"}},
	{"github.com/fluxcd/source-controller", "v1.9.6", []string{"config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml"}},
	{"istio.io/api", "v1.32.0", []string{"kubernetes/customresourcedefinitions.gen.yaml"}},
	// Gateway API's standard channel: the GA kinds, with their CEL rules.
	{"sigs.k8s.io/gateway-api", "v1.6.3", []string{
		"config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
		"config/crd/standard/gateway.networking.k8s.io_gateways.yaml",
		"config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml",
	}},
}

// DefaultCRDs are the CRDs that Start installs unless told otherwise
// ([WithCRDs]). Any other CRD in the cached files (e.g. Istio's
// "serviceentries.networking.istio.io") can be named with WithCRDs.
var DefaultCRDs = []string{
	"applications.argoproj.io",
	"kustomizations.kustomize.toolkit.fluxcd.io",
	"gitrepositories.source.toolkit.fluxcd.io",
	"virtualservices.networking.istio.io",
	"destinationrules.networking.istio.io",
	"gateways.networking.istio.io",
	"httproutes.gateway.networking.k8s.io",
	"gateways.gateway.networking.k8s.io",
	"gatewayclasses.gateway.networking.k8s.io",
}

// cacheRoot is ${XDG_CACHE_HOME:-$HOME/.cache}/bgrender-tools.
func cacheRoot() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache directory: %w", err)
	}
	return filepath.Join(dir, "bgrender-tools"), nil
}

// Prepare builds and caches everything Start needs (the kube-apiserver
// binary, the CRD files) and checks that etcd is installed, saying on w what
// it did. Running it before `go test` keeps the build out of the tests' time.
func Prepare(ctx context.Context, w io.Writer) error {
	logf := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	etcd, err := etcdBinary()
	if err != nil {
		return err
	}
	logf("etcd: %s", etcd)
	bin, err := apiServerBinary(ctx, logf)
	if err != nil {
		return err
	}
	logf("kube-apiserver: %s", bin)
	for _, c := range []struct{ name, override string }{{"kube-controller-manager", "BGRENDER_KUBE_CONTROLLER_MANAGER"}, {"kube-scheduler", "BGRENDER_KUBE_SCHEDULER"}} {
		bin, err := kubeComponent(ctx, logf, c.name, c.override)
		if err != nil {
			return err
		}
		logf("%s: %s", c.name, bin)
	}
	if bin, err = kwokBinary(ctx, logf); err != nil {
		return err
	}
	logf("kwok: %s", bin)
	files, err := crdFiles(ctx, logf)
	if err != nil {
		return err
	}
	for _, f := range files {
		logf("CRDs: %s", f)
	}
	return nil
}

func etcdBinary() (string, error) {
	p, err := exec.LookPath("etcd")
	if err != nil {
		return "", fmt.Errorf("etcd is not on PATH (install it with `apt-get install -y etcd-server`): %w", err)
	}
	return p, nil
}

// apiServerBinary returns the kube-apiserver to run: $BGRENDER_KUBE_APISERVER
// if it names a file, else the cached build, built first if missing.
func apiServerBinary(ctx context.Context, logf func(string, ...any)) (string, error) {
	return kubeComponent(ctx, logf, "kube-apiserver", EnvAPIServer)
}

// kubeComponent builds a component of k8s.io/kubernetes from the same
// tools module as the kube-apiserver, stamped with its version.
func kubeComponent(ctx context.Context, logf func(string, ...any), name, override string) (string, error) {
	const pkg = "k8s.io/component-base/version"
	return BuildTool(ctx, logf, Tool{
		Name: name, Version: KubernetesVersion, VersionModule: "k8s.io/kubernetes",
		Module: "kubeapiserver", Package: "k8s.io/kubernetes/cmd/" + name,
		LDFlags: strings.Join([]string{
			"-s", "-w",
			"-X", pkg + ".gitVersion=" + KubernetesVersion,
			"-X", pkg + ".gitMajor=" + majorMinor(KubernetesVersion, 0),
			"-X", pkg + ".gitMinor=" + majorMinor(KubernetesVersion, 1),
			"-X", pkg + ".gitTreeState=clean",
		}, " "),
		EnvOverride: override,
	})
}

// KwokVersion is the sigs.k8s.io/kwok version internal/tools/kwok/go.mod
// requires.
const KwokVersion = "v0.8.0"

// kwokBinary returns kwok, built first if it is not cached.
func kwokBinary(ctx context.Context, logf func(string, ...any)) (string, error) {
	return BuildTool(ctx, logf, Tool{
		Name: "kwok", Version: KwokVersion, VersionModule: "sigs.k8s.io/kwok",
		Module: "kwok", Package: "sigs.k8s.io/kwok/cmd/kwok",
		LDFlags:     "-s -w",
		EnvOverride: "BGRENDER_KWOK",
	})
}

// toolsModuleDir finds internal/tools/<module>: next to this source file
// when the build kept paths, else under the main module that `go env GOMOD`
// reports for the working directory.
func toolsModuleDir(ctx context.Context, module string) (string, error) {
	rel := "internal/tools/" + module
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "..", "tools", module)
		if isFile(filepath.Join(dir, "go.mod")) {
			return filepath.Clean(dir), nil
		}
	}
	goBin, err := goBinary()
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the main module with `go env GOMOD`: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("find %s: not inside bgrender's module", rel)
	}
	dir := filepath.Join(filepath.Dir(gomod), filepath.FromSlash(rel))
	if !isFile(filepath.Join(dir, "go.mod")) {
		return "", fmt.Errorf("find %s: no go.mod in %s", rel, dir)
	}
	return dir, nil
}

func majorMinor(v string, i int) string {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

// crdFiles returns the cached CRD files, fetching the modules that ship them
// through the Go module proxy first if needed.
func crdFiles(ctx context.Context, logf func(string, ...any)) ([]string, error) {
	root, err := cacheRoot()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, m := range crdModules {
		dir := filepath.Join(root, "crds", strings.ReplaceAll(m.Path, "/", "_")+"@"+m.Version)
		var missing []string
		for _, f := range m.Files {
			p := filepath.Join(dir, filepath.Base(f))
			files = append(files, p)
			if !isFile(p) {
				missing = append(missing, f)
			}
		}
		if len(missing) == 0 {
			continue
		}
		if err := fetchCRDs(ctx, m, missing, dir, logf); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func fetchCRDs(ctx context.Context, m crdModule, files []string, dir string, logf func(string, ...any)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"), logf)
	if err != nil {
		return err
	}
	defer unlock()
	modDir, err := downloadModule(ctx, m.Path, m.Version)
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(modDir, filepath.FromSlash(f)))
		if err != nil {
			return fmt.Errorf("read CRDs from %s@%s: %w", m.Path, m.Version, err)
		}
		dst := filepath.Join(dir, filepath.Base(f))
		tmp := fmt.Sprintf("%s.tmp-%d", dst, os.Getpid())
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return fmt.Errorf("cache CRDs: %w", err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("cache CRDs: %w", err)
		}
		logf("fetched %s from %s@%s", f, m.Path, m.Version)
	}
	return nil
}

// downloadModule runs `go mod download -json` outside any module and returns
// the module's directory in the module cache.
func downloadModule(ctx context.Context, path, version string) (string, error) {
	goBin, err := goBinary()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", path+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil && runErr == nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", path, version, err)
	}
	if res.Error != "" || runErr != nil || res.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s (refused or unreachable; see /work/.library/env/packages/go-partial.tsv for a served version): %s %s %v",
			path, version, res.Error, strings.TrimSpace(stderr.String()), runErr)
	}
	return res.Dir, nil
}

func goBinary() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if isFile(p) {
		return p, nil
	}
	return "", errors.New("the go command is not on PATH")
}

// lockFile takes an exclusive flock on path, saying so if it has to wait.
func lockFile(ctx context.Context, path string, logf func(string, ...any)) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		logf("waiting for another process holding %s", path)
		done := make(chan error, 1)
		go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
		select {
		case err = <-done:
		case <-ctx.Done():
			f.Close() // the flock call fails or the lock dies with the file
			return nil, fmt.Errorf("wait for %s: %w", path, ctx.Err())
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
