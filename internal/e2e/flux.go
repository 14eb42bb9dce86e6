package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bgrender/bgrender/internal/childproc"
	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/internal/kubetest"
	"github.com/bgrender/bgrender/pkg/wait"
)

// FluxVersion is the version of source-controller and kustomize-controller
// that internal/tools/flux/go.mod requires; the cached binaries and CRDs are
// keyed by it.
const FluxVersion = "v1.9.6"

// Environment variables that, when they name a file, are run instead of the
// cached builds.
const (
	EnvFluxSourceController    = "BGRENDER_FLUX_SOURCE_CONTROLLER"
	EnvFluxKustomizeController = "BGRENDER_FLUX_KUSTOMIZE_CONTROLLER"
)

// FluxShardLabel is Flux's sharding label. Each Flux that StartFlux starts
// watches only the Flux objects whose label has its Flux.Shard value
// (--watch-label-selector), so that several can share a cluster; AddApp sets
// it.
const FluxShardLabel = "sharding.fluxcd.io/key"

// FluxNamespace is the controllers' RUNTIME_NAMESPACE.
const FluxNamespace = "flux-system"

// fluxFieldManager is the server-side apply field manager of what this package
// writes to the API server.
const fluxFieldManager = "bgrender-e2e"

var (
	fluxSourceController = kubetest.Tool{
		Name: "source-controller", Version: FluxVersion, VersionModule: "github.com/fluxcd/source-controller",
		Module: "flux", Package: "github.com/fluxcd/source-controller",
		LDFlags: "-s -w", EnvOverride: EnvFluxSourceController,
	}
	fluxKustomizeController = kubetest.Tool{
		Name: "kustomize-controller", Version: FluxVersion, VersionModule: "github.com/fluxcd/kustomize-controller",
		Module: "flux", Package: "github.com/fluxcd/kustomize-controller",
		LDFlags: "-s -w", EnvOverride: EnvFluxKustomizeController,
	}
)

// fluxCRDs are the CRD files the controllers need, by module. source-controller
// runs all of its reconcilers (no flag turns one off) and kustomize-controller
// watches GitRepository, OCIRepository, Bucket and ExternalArtifact, so every
// source CRD must be served, not only the GitRepository that kubetest installs.
var fluxCRDs = []struct {
	Module string
	Files  []string
}{
	{"github.com/fluxcd/source-controller", []string{
		"config/crd/bases/source.toolkit.fluxcd.io_buckets.yaml",
		"config/crd/bases/source.toolkit.fluxcd.io_externalartifacts.yaml",
		"config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml",
		"config/crd/bases/source.toolkit.fluxcd.io_helmcharts.yaml",
		"config/crd/bases/source.toolkit.fluxcd.io_helmrepositories.yaml",
		"config/crd/bases/source.toolkit.fluxcd.io_ocirepositories.yaml",
	}},
	{"github.com/fluxcd/kustomize-controller", []string{
		"config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
	}},
}

var (
	fluxCRDGVR           = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	fluxNamespaceGVR     = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	fluxSecretGVR        = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	fluxGitRepositoryGVR = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	fluxKustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
)

// PrepareFlux builds (or finds cached) source-controller and
// kustomize-controller, and fetches (or finds cached) their CRDs, so that CI
// pays for the build (about 6 minutes on 2 cores with a cold Go build cache)
// before the tests start their clocks.
func PrepareFlux(ctx context.Context, logf func(string, ...any)) error {
	bins, crds, err := prepareFlux(ctx, logf)
	if err != nil {
		return err
	}
	logf("flux source-controller: %s", bins[0])
	logf("flux kustomize-controller: %s", bins[1])
	for _, f := range crds {
		logf("flux CRDs: %s", f)
	}
	return nil
}

func prepareFlux(ctx context.Context, logf func(string, ...any)) (bins, crds []string, err error) {
	for _, tool := range []kubetest.Tool{fluxSourceController, fluxKustomizeController} {
		bin, err := kubetest.BuildTool(ctx, logf, tool)
		if err != nil {
			return nil, nil, err
		}
		bins = append(bins, bin)
	}
	crds, err = fluxCRDFiles(ctx, logf)
	if err != nil {
		return nil, nil, err
	}
	return bins, crds, nil
}

// fluxCRDFiles returns the cached CRD files, in
// ${XDG_CACHE_HOME:-$HOME/.cache}/bgrender-tools/crds/flux-<FluxVersion>/,
// copying them from the controllers' modules (fetched through the Go module
// proxy) first if needed.
func fluxCRDFiles(ctx context.Context, logf func(string, ...any)) ([]string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, fmt.Errorf("find the cache directory: %w", err)
	}
	dir := filepath.Join(cache, "bgrender-tools", "crds", "flux-"+FluxVersion)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, m := range fluxCRDs {
		var modDir string
		for _, f := range m.Files {
			dst := filepath.Join(dir, filepath.Base(f))
			files = append(files, dst)
			if fluxIsFile(dst) {
				continue
			}
			if modDir == "" {
				if modDir, err = fluxDownloadModule(ctx, m.Module, FluxVersion); err != nil {
					return nil, err
				}
			}
			data, err := os.ReadFile(filepath.Join(modDir, filepath.FromSlash(f)))
			if err != nil {
				return nil, fmt.Errorf("read CRDs from %s@%s: %w", m.Module, FluxVersion, err)
			}
			// Write and rename: concurrent test binaries write the same bytes.
			tmp := fmt.Sprintf("%s.tmp-%d", dst, os.Getpid())
			if err := os.WriteFile(tmp, data, 0o644); err != nil {
				return nil, fmt.Errorf("cache CRDs: %w", err)
			}
			if err := os.Rename(tmp, dst); err != nil {
				os.Remove(tmp)
				return nil, fmt.Errorf("cache CRDs: %w", err)
			}
			logf("fetched %s from %s@%s", f, m.Module, FluxVersion)
		}
	}
	return files, nil
}

// fluxDownloadModule runs `go mod download -json` outside any module and returns
// the module's directory in the module cache.
func fluxDownloadModule(ctx context.Context, path, version string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", path+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res struct{ Dir, Error string }
	jsonErr := json.Unmarshal(stdout.Bytes(), &res)
	if runErr != nil || jsonErr != nil || res.Error != "" || res.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %v %s %s", path, version, errors.Join(runErr, jsonErr), res.Error, bytes.TrimSpace(stderr.Bytes()))
	}
	return res.Dir, nil
}

// Flux is a source-controller and a kustomize-controller running against a
// kubetest cluster.
type Flux struct {
	// Namespace is the controllers' RUNTIME_NAMESPACE (FluxNamespace).
	Namespace string
	// Shard is this Flux's value of FluxShardLabel: it reconciles only the
	// GitRepositories and Kustomizations that carry it.
	Shard string
	// StorageAddr is source-controller's artifact server (host:port), which
	// kustomize-controller downloads the artifacts from.
	StorageAddr string
	// Wait is spec.wait of the Kustomizations that AddApp creates (false
	// unless set before AddApp); see AddApp.
	Wait bool

	c     *kubetest.Cluster
	procs []*childproc.Proc
}

var fluxSeq atomic.Int64

// StartFlux starts source-controller and kustomize-controller against the
// cluster, installing every Flux CRD they watch first, and waits until both
// answer on their health endpoints. They run with KUBECONFIG=c.Kubeconfig
// (a system:masters token), RUNTIME_NAMESPACE=flux-system,
// --watch-all-namespaces and --watch-label-selector FluxShardLabel=f.Shard,
// leader election off, all addresses on free loopback ports and artifacts in
// a t.TempDir(). Their logs go to files in a t.TempDir() and are printed,
// tails only, if the test fails; the controllers are stopped (their process
// groups killed) when the test ends, whatever the outcome.
//
// The first run on a machine builds the controllers (see PrepareFlux).
func StartFlux(t testing.TB, c *kubetest.Cluster) *Flux {
	t.Helper()
	ctx := context.Background()
	begin := time.Now()
	bins, crds, err := prepareFlux(ctx, t.Logf)
	if err != nil {
		t.Fatalf("flux: %v", err)
	}
	built := time.Now()
	n, err := fluxInstallCRDs(ctx, c, crds)
	if err != nil {
		t.Fatalf("flux: %v", err)
	}
	if err := fluxEnsureNamespace(ctx, c, FluxNamespace); err != nil {
		t.Fatalf("flux: %v", err)
	}
	installed := time.Now()

	f := &Flux{
		Namespace: FluxNamespace,
		Shard:     fmt.Sprintf("e2e-%d-%d", os.Getpid(), fluxSeq.Add(1)),
		c:         c,
	}
	t.Cleanup(func() {
		if t.Failed() {
			f.logTails(t.Logf)
		}
		f.stop()
	})
	ports, err := fluxFreePorts(5)
	if err != nil {
		t.Fatalf("flux: %v", err)
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	f.StorageAddr = addr(0)
	dir := t.TempDir()
	tmp, storage := filepath.Join(dir, "tmp"), filepath.Join(dir, "storage")
	for _, d := range []string{tmp, storage} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("flux: %v", err)
		}
	}
	env := append(os.Environ(),
		"KUBECONFIG="+c.Kubeconfig,
		"RUNTIME_NAMESPACE="+f.Namespace,
		"TMPDIR="+tmp, // kustomize-controller builds in temporary directories
	)
	common := []string{
		"--watch-all-namespaces=true",
		"--watch-label-selector=" + FluxShardLabel + "=" + f.Shard,
		"--enable-leader-election=false",
		"--log-encoding=console",
		"--events-addr=",
	}
	specs := []struct {
		name, bin, health string
		args              []string
	}{
		{"source-controller", bins[0], addr(1), []string{
			"--storage-path=" + storage,
			"--storage-addr=" + f.StorageAddr,
			"--storage-adv-addr=" + f.StorageAddr,
			"--health-addr=" + addr(1),
			"--metrics-addr=" + addr(2),
		}},
		{"kustomize-controller", bins[1], addr(3), []string{
			"--health-addr=" + addr(3),
			"--metrics-addr=" + addr(4),
			"--no-remote-bases=true",
		}},
	}
	for _, s := range specs {
		p, err := childproc.Start(s.name, s.bin, append(append([]string{}, common...), s.args...), env, filepath.Join(dir, s.name+".log"))
		if err != nil {
			t.Fatalf("flux: %v", err)
		}
		f.procs = append(f.procs, p)
	}
	for i, s := range specs {
		if err := waitReady(ctx, f.procs[i], "http://"+s.health+"/readyz", 60*time.Second); err != nil {
			t.Fatalf("flux: %v", err)
		}
	}
	done := time.Now()
	t.Logf("flux %s: source-controller and kustomize-controller up in %s (binaries %s, %d CRDs %s, start %s), shard %s",
		FluxVersion, done.Sub(begin).Round(10*time.Millisecond), built.Sub(begin).Round(10*time.Millisecond),
		n, installed.Sub(built).Round(10*time.Millisecond), done.Sub(installed).Round(10*time.Millisecond), f.Shard)
	return f
}

// AddApp makes Flux apply the directory path of the git repository at gitURL
// (branch main): in namespace ns (created if missing) it creates a Secret
// <repoName>-auth with the basic-auth credentials user and pass, a
// GitRepository repoName unless one is already there, and a Kustomization
// name on ./<path>, both from the recipes docs/recipes/flux/*.yaml
// (FluxRecipe: branch main, prune: true, no targetNamespace, as the recipes
// have them). All three carry the Flux's shard label.
//
// spec.wait is f.Wait, false by default, instead of the recipe's true
// (AddRecipeApp keeps the recipe's). With wait: false the Kustomization
// is Ready once its objects are applied (and pruned); with wait: true
// kustomize-controller then checks the health of every object it applied,
// by kstatus, for up to spec.timeout (the recipe's 5m): on a cluster started
// WithControllers a Deployment is healthy once the deployment controller
// reports it rolled out over kwok's Ready pods, and fails early once its
// progress deadline passes; without the controllers nothing writes its
// status and the Kustomization fails with HealthCheckFailed after the
// timeout.
//
// The Kustomization applies with kustomize-controller's own identity (the
// cluster's system:masters token): no service account is involved.
func (f *Flux) AddApp(t testing.TB, ns, repoName, gitURL, user, pass, name, path string) {
	t.Helper()
	if err := f.addApp(context.Background(), ns, repoName, gitURL, user, pass, name, path, &f.Wait); err != nil {
		t.Fatalf("flux: add app %s: %v", name, err)
	}
}

// AddRecipeApp is AddApp with the Kustomization's spec.wait as the recipe
// has it, whatever f.Wait says.
func (f *Flux) AddRecipeApp(t testing.TB, ns, repoName, gitURL, user, pass, name, path string) {
	t.Helper()
	if err := f.addApp(context.Background(), ns, repoName, gitURL, user, pass, name, path, nil); err != nil {
		t.Fatalf("flux: add app %s: %v", name, err)
	}
}

func (f *Flux) addApp(ctx context.Context, ns, repoName, gitURL, user, pass, name, path string, wait *bool) error {
	repo, ks, err := FluxRecipe(ns, repoName, gitURL, name, path)
	if err != nil {
		return err
	}
	if err := fluxEnsureNamespace(ctx, f.c, ns); err != nil {
		return err
	}
	labels := map[string]any{FluxShardLabel: f.Shard}
	secretName := repoName + "-auth"
	secret := fluxObj("v1", "Secret", ns, secretName, labels)
	secret.Object["type"] = "Opaque"
	secret.Object["data"] = map[string]any{
		"username": base64.StdEncoding.EncodeToString([]byte(user)),
		"password": base64.StdEncoding.EncodeToString([]byte(pass)),
	}
	if err := f.apply(ctx, fluxSecretGVR, secret); err != nil {
		return err
	}

	existing, err := f.c.Dynamic.Resource(fluxGitRepositoryGVR).Namespace(ns).Get(ctx, repoName, metav1.GetOptions{})
	switch {
	case err == nil:
		// Shared by the apps of one repo; it must be ours and the same repo.
		if shard := existing.GetLabels()[FluxShardLabel]; shard != f.Shard {
			return fmt.Errorf("GitRepository %s/%s has %s=%q, not this Flux's %q: another Flux owns it", ns, repoName, FluxShardLabel, shard, f.Shard)
		}
		if url, _, _ := unstructured.NestedString(existing.Object, "spec", "url"); url != gitURL {
			return fmt.Errorf("GitRepository %s/%s already exists for %s, not %s", ns, repoName, url, gitURL)
		}
	case apierrors.IsNotFound(err):
		repo.SetLabels(map[string]string{FluxShardLabel: f.Shard})
		if err := f.apply(ctx, fluxGitRepositoryGVR, repo); err != nil {
			return err
		}
	default:
		return fmt.Errorf("get GitRepository %s/%s: %w", ns, repoName, err)
	}

	ks.SetLabels(map[string]string{FluxShardLabel: f.Shard})
	if wait != nil {
		if err := unstructured.SetNestedField(ks.Object, *wait, "spec", "wait"); err != nil {
			return err
		}
	}
	return f.apply(ctx, fluxKustomizationGVR, ks)
}

// Kustomization is bgrender's waiter on the Kustomization name in ns.
func (f *Flux) Kustomization(ns, name string) *wait.FluxKustomization {
	return &wait.FluxKustomization{Client: f.c.Dynamic, Namespace: ns, Kustomization: name}
}

func fluxObj(apiVersion, kind, ns, name string, labels map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion,
		"kind":       kind,
		"metadata":   map[string]any{"namespace": ns, "name": name, "labels": labels},
	}}
}

func (f *Flux) apply(ctx context.Context, gvr schema.GroupVersionResource, o *unstructured.Unstructured) error {
	_, err := f.c.Dynamic.Resource(gvr).Namespace(o.GetNamespace()).
		Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: fluxFieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

func fluxEnsureNamespace(ctx context.Context, c *kubetest.Cluster, name string) error {
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
	}}
	_, err := c.Dynamic.Resource(fluxNamespaceGVR).Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// fluxInstallCRDs applies the CRDs in files (kubetest's field manager, so that
// the ones kubetest installed are not contested) and waits until the API
// server serves them.
func fluxInstallCRDs(ctx context.Context, c *kubetest.Cluster, files []string) (int, error) {
	var names []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return 0, fmt.Errorf("read CRDs: %w", err)
		}
		objs, err := c.ApplyYAML(ctx, data)
		if err != nil {
			return 0, fmt.Errorf("install CRDs from %s: %w", file, err)
		}
		for _, o := range objs {
			names = append(names, o.GetName())
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, name := range names {
		for {
			crd, err := c.Dynamic.Resource(fluxCRDGVR).Get(ctx, name, metav1.GetOptions{})
			if err == nil && fluxEstablished(crd) {
				break
			}
			select {
			case <-ctx.Done():
				return 0, fmt.Errorf("CRD %s not established: %w (last error: %v)", name, ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return len(names), nil
}

func fluxEstablished(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, ci := range conds {
		if cm, _ := ci.(map[string]any); cm["type"] == "Established" && cm["status"] == "True" {
			return true
		}
	}
	return false
}

// waitReady polls url until it answers 200, the process exits or the time
// is up.
func waitReady(ctx context.Context, p *childproc.Proc, url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := (&http.Client{Transport: httptransport.New()}).Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, body)
		} else {
			last = err.Error()
		}
		select {
		case <-p.Done():
			return fmt.Errorf("%s exited (%v) before it was ready; its log %s ends:\n%s", p.Name, p.Err(), p.Log, p.LogTail(3000))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s after %s (last answer: %s); its log %s ends:\n%s", p.Name, url, limit, last, p.Log, p.LogTail(3000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop stops the controllers, the last started first. SIGKILL follows
// SIGTERM after 5s: controller-runtime would otherwise wait up to 30s for
// reconciles in flight.
func (f *Flux) stop() {
	for i := len(f.procs) - 1; i >= 0; i-- {
		f.procs[i].Stop(5 * time.Second)
	}
}

func (f *Flux) logTails(logf func(string, ...any)) {
	for _, p := range f.procs {
		logf("--- end of %s log (%s) ---\n%s", p.Name, p.Log, p.LogTail(6000))
	}
}

// fluxFreePorts asks the kernel for n distinct free loopback ports. Another
// process could take one before it is used; the start then fails loudly.
func fluxFreePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func fluxIsFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
