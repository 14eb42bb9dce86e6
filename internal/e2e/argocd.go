package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/bgrender/bgrender/internal/childproc"
	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/internal/kubetest"
)

// ArgoCDVersion is the github.com/argoproj/argo-cd/v2 version that
// internal/tools/argocd/go.mod requires; the cached binary and the cached
// install manifest are keyed by it.
const ArgoCDVersion = "v2.14.21"

// KustomizeVersion is the sigs.k8s.io/kustomize/kustomize/v5 version that
// internal/tools/kustomize/go.mod requires: the kustomize CLI that Argo CD's
// repo-server runs.
const KustomizeVersion = "v5.4.3"

// Environment variables that, when they name a file, are used instead of
// the cached builds.
const (
	EnvArgoCD    = "BGRENDER_ARGOCD"
	EnvKustomize = "BGRENDER_KUSTOMIZE"
)

// ArgoCDNamespace is where StartArgoCD installs Argo CD and where its
// Applications live.
const ArgoCDNamespace = "argocd"

const argoModule = "github.com/argoproj/argo-cd/v2"

var (
	argoCDTool = kubetest.Tool{
		Name: "argocd", Version: ArgoCDVersion, VersionModule: argoModule,
		Module: "argocd", Package: argoModule + "/cmd",
		LDFlags: "-s -w -X " + argoModule + "/common.version=" + strings.TrimPrefix(ArgoCDVersion, "v"),
		// As REAL-LOOP.md built it. The tools module is tidy, so this
		// only lets go fill in go.sum should a later Go want more.
		Env:         []string{"GOFLAGS=-mod=mod -buildvcs=false"},
		EnvOverride: EnvArgoCD,
	}
	kustomizeTool = kubetest.Tool{
		Name: "kustomize", Version: KustomizeVersion, VersionModule: "sigs.k8s.io/kustomize/kustomize/v5",
		Module: "kustomize", Package: "sigs.k8s.io/kustomize/kustomize/v5",
		LDFlags:     "-s -w",
		EnvOverride: EnvKustomize,
	}
)

// argoCDTools are the programs StartArgoCD runs.
type argoCDTools struct {
	argocd, kustomize, redis, manifest string
}

// PrepareArgoCD builds and caches what StartArgoCD needs (the argocd
// multi-call binary, ~4-6 minutes on 2 cores; the kustomize CLI; Argo CD's
// install manifest) and checks that redis-server is installed, saying on logf
// what it did. Running it before `go test` keeps the builds out of the
// tests' time.
func PrepareArgoCD(ctx context.Context, logf func(string, ...any)) error {
	tools, err := prepareArgoCD(ctx, logf)
	if err != nil {
		return err
	}
	logf("argocd: %s", tools.argocd)
	logf("kustomize: %s", tools.kustomize)
	logf("redis-server: %s", tools.redis)
	logf("Argo CD install manifest: %s", tools.manifest)
	return nil
}

func prepareArgoCD(ctx context.Context, logf func(string, ...any)) (argoCDTools, error) {
	var t argoCDTools
	var err error
	if t.redis, err = exec.LookPath("redis-server"); err != nil {
		return t, fmt.Errorf("redis-server is not on PATH (install it with `apt-get install -y redis-server`): %w", err)
	}
	if t.argocd, err = kubetest.BuildTool(ctx, logf, argoCDTool); err != nil {
		return t, err
	}
	if t.kustomize, err = kubetest.BuildTool(ctx, logf, kustomizeTool); err != nil {
		return t, err
	}
	if t.manifest, err = argoInstallManifest(ctx, logf); err != nil {
		return t, err
	}
	return t, nil
}

// argoInstallManifest returns the cached copy of Argo CD's
// manifests/install.yaml, taking it from the module cache first (through the
// Go module proxy) if needed.
func argoInstallManifest(ctx context.Context, logf func(string, ...any)) (string, error) {
	root, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache directory: %w", err)
	}
	dir := filepath.Join(root, "bgrender-tools", "manifests", strings.ReplaceAll(argoModule, "/", "_")+"@"+ArgoCDVersion)
	dst := filepath.Join(dir, "install.yaml")
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", argoModule+"@"+ArgoCDVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res struct{ Dir, Error string }
	_ = json.Unmarshal(stdout.Bytes(), &res)
	if runErr != nil || res.Error != "" || res.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s %s %v", argoModule, ArgoCDVersion, res.Error, strings.TrimSpace(stderr.String()), runErr)
	}
	data, err := os.ReadFile(filepath.Join(res.Dir, "manifests", "install.yaml"))
	if err != nil {
		return "", fmt.Errorf("read Argo CD's install manifest: %w", err)
	}
	// Write and rename, so that concurrent test binaries never read half a file.
	tmp := fmt.Sprintf("%s.tmp-%d", dst, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return "", fmt.Errorf("cache Argo CD's install manifest: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("cache Argo CD's install manifest: %w", err)
	}
	logf("fetched manifests/install.yaml from %s@%s", argoModule, ArgoCDVersion)
	return dst, nil
}

// ArgoCD is a running Argo CD: redis, repo-server, application-controller
// and server (plain HTTP), on loopback, managing the cluster it was started
// on as its in-cluster destination https://kubernetes.default.svc.
type ArgoCD struct {
	// URL is the server's base URL (http://127.0.0.1:PORT).
	URL string
	// Token is a bearer token of the admin user.
	Token string

	cluster *kubetest.Cluster
	hc      *http.Client
	procs   []*childproc.Proc // in start order

	// What StartApplicationSetController needs from start.
	dir, bin, repoAddr string
	env                []string
}

// StartArgoCD installs Argo CD in namespace argocd of c and starts it for the
// test: Argo CD's install.yaml is server-side applied for its CRDs,
// ConfigMaps, Secrets and RBAC (its Deployments never run), then redis, the
// repo-server (with the kustomize CLI on its PATH), the
// application-controller and the server run as local processes on free
// loopback ports, with ARGOCD_FAKE_IN_CLUSTER=true and
// KUBECONFIG=c.Kubeconfig. It waits until
// each answers, logs in as admin and keeps the token. Everything is stopped
// (process groups, SIGTERM then SIGKILL) when the test ends, whatever the
// outcome, and the end of each log is printed if the test failed.
//
// Start one Argo CD per cluster at a time: they would share namespace argocd.
// The first run on a machine builds Argo CD (minutes); see PrepareArgoCD.
func StartArgoCD(t testing.TB, c *kubetest.Cluster) *ArgoCD {
	t.Helper()
	ctx := context.Background()
	begin := time.Now()
	tools, err := prepareArgoCD(ctx, t.Logf)
	if err != nil {
		t.Fatalf("argocd: %v", err)
	}
	toolsReady := time.Now()

	// A short directory: the repo-server's askpass socket lives in it and
	// Unix socket paths are limited to ~100 bytes.
	removeStaleArgoDirs()
	dir, err := os.MkdirTemp("", fmt.Sprintf("argocd-%d-", os.Getpid()))
	if err != nil {
		t.Fatalf("argocd: %v", err)
	}
	a := &ArgoCD{cluster: c, hc: &http.Client{Timeout: 60 * time.Second, Transport: httptransport.New()}}
	t.Cleanup(func() {
		if t.Failed() {
			a.logTails(t.Logf)
		}
		a.stop()
		os.RemoveAll(dir)
	})
	if err := a.start(ctx, t.Logf, tools, dir); err != nil {
		t.Fatalf("argocd: %v", err)
	}
	t.Logf("argocd: %s ready in %s (tools %s, Argo CD %s)", a.URL,
		time.Since(begin).Round(10*time.Millisecond), toolsReady.Sub(begin).Round(10*time.Millisecond),
		time.Since(toolsReady).Round(10*time.Millisecond))
	return a
}

func (a *ArgoCD) start(ctx context.Context, logf func(string, ...any), tools argoCDTools, dir string) error {
	c := a.cluster
	begin := time.Now()
	if err := installArgoCD(ctx, c, tools.manifest); err != nil {
		return err
	}
	installed := time.Now()

	// The argocd binary acts by the name it runs under; git runs it as
	// "argocd" (GIT_ASKPASS) for the repo-server's credentials.
	bin := filepath.Join(dir, "bin")
	tmp := filepath.Join(dir, "tmp")
	home := filepath.Join(dir, "home")
	for _, d := range []string{bin, tmp, home, filepath.Join(dir, "tls"), filepath.Join(dir, "ssh"), filepath.Join(dir, "gnupg")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	for _, name := range []string{"argocd", "argocd-repo-server", "argocd-application-controller", "argocd-server", "argocd-applicationset-controller"} {
		if err := os.Symlink(tools.argocd, filepath.Join(bin, name)); err != nil {
			return err
		}
	}
	if err := os.Symlink(tools.kustomize, filepath.Join(bin, "kustomize")); err != nil {
		return err
	}
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+c.Kubeconfig,
		"ARGOCD_FAKE_IN_CLUSTER=true",
		"ARGOCD_GPG_ENABLED=false", // else the repo-server dies looking for /app/config/gpg/keys
		"ARGOCD_GNUPGHOME="+filepath.Join(dir, "gnupg"),
		"ARGOCD_TLS_DATA_PATH="+filepath.Join(dir, "tls"),
		"ARGOCD_SSH_DATA_PATH="+filepath.Join(dir, "ssh"),
		"ARGOCD_ASK_PASS_SOCK="+filepath.Join(dir, "askpass.sock"),
		"TMPDIR="+tmp, // the repo-server's checkouts
		"HOME="+home,  // no ~/.gitconfig of the machine's user
		"GIT_CONFIG_NOSYSTEM=1",
	)

	ports, err := argoFreePorts(6)
	if err != nil {
		return err
	}
	redisPort, repoPort, repoMetrics, ctrlMetrics, serverPort, serverMetrics := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	redisAddr := "127.0.0.1:" + strconv.Itoa(redisPort)
	repoAddr := "127.0.0.1:" + strconv.Itoa(repoPort)
	a.dir, a.bin, a.repoAddr, a.env = dir, bin, repoAddr, env
	start := func(name, bin string, args ...string) (*childproc.Proc, error) {
		p, err := childproc.Start(name, bin, args, env, filepath.Join(dir, name+".log"))
		if err != nil {
			return nil, err
		}
		a.procs = append(a.procs, p)
		return p, nil
	}

	redis, err := start("redis-server", tools.redis,
		"--port", strconv.Itoa(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no")
	if err != nil {
		return err
	}
	if err := argoWaitRedis(ctx, redis, redisAddr, 30*time.Second); err != nil {
		return err
	}
	redisReady := time.Now()

	repo, err := start("argocd-repo-server", filepath.Join(bin, "argocd-repo-server"),
		"--address", "127.0.0.1", "--port", strconv.Itoa(repoPort),
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(repoMetrics),
		"--redis", redisAddr, "--disable-tls")
	if err != nil {
		return err
	}
	// The controller's metrics server (and so its health check) listens on
	// 0.0.0.0: Argo CD has no flag for its address.
	ctrl, err := start("argocd-application-controller", filepath.Join(bin, "argocd-application-controller"),
		"--kubeconfig", c.Kubeconfig, "--namespace", ArgoCDNamespace,
		"--repo-server", repoAddr, "--repo-server-plaintext", "--redis", redisAddr,
		"--metrics-port", strconv.Itoa(ctrlMetrics))
	if err != nil {
		return err
	}
	server, err := start("argocd-server", filepath.Join(bin, "argocd-server"),
		"--kubeconfig", c.Kubeconfig, "--namespace", ArgoCDNamespace, "--insecure",
		"--address", "127.0.0.1", "--port", strconv.Itoa(serverPort),
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(serverMetrics),
		"--repo-server", repoAddr, "--repo-server-plaintext", "--redis", redisAddr,
		"--staticassets", filepath.Join(dir, "static"))
	if err != nil {
		return err
	}
	a.URL = "http://127.0.0.1:" + strconv.Itoa(serverPort)
	for _, w := range []struct {
		p   *childproc.Proc
		url string
	}{
		{repo, fmt.Sprintf("http://127.0.0.1:%d/healthz?full=true", repoMetrics)},
		{ctrl, fmt.Sprintf("http://127.0.0.1:%d/healthz", ctrlMetrics)},
		{server, a.URL + "/healthz?full=true"},
	} {
		if err := waitArgoHTTP(ctx, w.p, w.url, 90*time.Second); err != nil {
			return err
		}
	}
	up := time.Now()
	if err := a.login(ctx, server); err != nil {
		return err
	}
	logf("argocd: installed in %s, redis %s, repo-server+controller+server up %s, login %s",
		installed.Sub(begin).Round(10*time.Millisecond), redisReady.Sub(installed).Round(10*time.Millisecond),
		up.Sub(redisReady).Round(10*time.Millisecond), time.Since(up).Round(10*time.Millisecond))
	return nil
}

// installArgoCD creates namespace argocd and server-side applies the
// install manifest's objects, namespaced ones in argocd. Its Deployments
// and StatefulSet never run (nothing here runs pods); the processes that
// StartArgoCD starts play them.
func installArgoCD(ctx context.Context, c *kubetest.Cluster, manifest string) error {
	data, err := os.ReadFile(manifest)
	if err != nil {
		return err
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ArgoCDNamespace},
	}}
	objs := []*unstructured.Unstructured{ns}
	dec := yamlutil.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("decode %s: %w", manifest, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	var crds []string
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			mapper.Reset()
			mapping, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			return fmt.Errorf("install Argo CD: %s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		ri := c.Dynamic.Resource(mapping.Resource)
		var applyErr error
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			obj.SetNamespace(ArgoCDNamespace)
			_, applyErr = ri.Namespace(ArgoCDNamespace).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "bgrender-e2e", Force: true})
		} else {
			_, applyErr = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "bgrender-e2e", Force: true})
		}
		if applyErr != nil {
			return fmt.Errorf("install Argo CD: apply %s %s: %w", gvk.Kind, obj.GetName(), applyErr)
		}
		if gvk.Kind == "CustomResourceDefinition" {
			crds = append(crds, obj.GetName())
		}
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, name := range crds {
		if err := argoPollUntil(ctx, 60*time.Second, func() (bool, error) {
			crd, err := c.Dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, ci := range conds {
				if cm, _ := ci.(map[string]any); cm["type"] == "Established" && cm["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		}); err != nil {
			return fmt.Errorf("install Argo CD: CRD %s not established: %w", name, err)
		}
	}
	return nil
}

// login reads the admin password that the server put in Secret
// argocd-initial-admin-secret and trades it for a token (POST
// /api/v1/session, which wants Content-Type: application/json).
func (a *ArgoCD) login(ctx context.Context, server *childproc.Proc) error {
	secrets := a.cluster.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace(ArgoCDNamespace)
	var password string
	err := argoPollUntil(ctx, 60*time.Second, func() (bool, error) {
		if server.Exited() {
			return false, fmt.Errorf("argocd-server exited (%v); its log %s ends:\n%s", server.Err(), server.Log, server.LogTail(4000))
		}
		s, err := secrets.Get(ctx, "argocd-initial-admin-secret", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		enc, _, _ := unstructured.NestedString(s.Object, "data", "password")
		pw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(pw) == 0 {
			return false, nil
		}
		password = string(pw)
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("read the admin password from Secret %s/argocd-initial-admin-secret: %w", ArgoCDNamespace, err)
	}
	var out struct{ Token string }
	if err := a.call(ctx, http.MethodPost, "/api/v1/session", map[string]string{"username": "admin", "password": password}, &out); err != nil {
		return fmt.Errorf("log in as admin: %w", err)
	}
	if out.Token == "" {
		return errors.New("log in as admin: no token in the answer")
	}
	a.Token = out.Token
	return nil
}

// AddRepo registers the git repository url with basic-auth credentials
// through the API (POST /api/v1/repositories), which stores them in a
// repository Secret in namespace argocd. Argo CD checks the credentials
// first (git ls-remote through the repo-server), so wrong ones fail here.
func (a *ArgoCD) AddRepo(t testing.TB, url, user, pass string) {
	t.Helper()
	body := map[string]string{"type": "git", "repo": url, "username": user, "password": pass}
	if err := a.call(context.Background(), http.MethodPost, "/api/v1/repositories?upsert=true", body, nil); err != nil {
		t.Fatalf("argocd: add repo %s: %v", url, err)
	}
}

// AddApp creates the Application name in namespace argocd (through the
// Kubernetes API, as a GitOps user would) from the recipe
// docs/recipes/argocd/application.yaml (ArgoApplicationRecipe): the
// directory path of repoURL at branch main, destination namespace of the
// in-cluster API server; as the recipe has it, project default, automated
// sync with prune and self-heal, the namespace created if missing. It
// returns once the Argo CD server knows the app, so that a wait can start at
// once.
func (a *ArgoCD) AddApp(t testing.TB, name, repoURL, path, namespace string) {
	t.Helper()
	app, err := ArgoApplicationRecipe(name, repoURL, path, namespace)
	if err != nil {
		t.Fatalf("argocd: %v", err)
	}
	// As the recipe has it: Argo CD prunes with foreground deletion, which
	// the garbage collector of the cluster's kube-controller-manager
	// completes (kubetest.WithControllers).
	a.CreateApp(t, app)
}

// argoApplicationsGVR is Argo CD's Application resource.
var argoApplicationsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// CreateApp creates the Application app (in namespace argocd) through the
// Kubernetes API and returns once the Argo CD server knows it.
func (a *ArgoCD) CreateApp(t testing.TB, app *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	name := app.GetName()
	if _, err := a.cluster.Dynamic.Resource(argoApplicationsGVR).Namespace(ArgoCDNamespace).Create(ctx, app, metav1.CreateOptions{}); err != nil {
		t.Fatalf("argocd: create Application %s: %v", name, err)
	}
	// Argo CD answers 403, not 404, for an app it does not know (yet).
	var last error
	if err := argoPollUntil(ctx, 30*time.Second, func() (bool, error) {
		last = a.call(ctx, http.MethodGet, "/api/v1/applications/"+url.PathEscape(name), nil, nil)
		return last == nil, nil
	}); err != nil {
		t.Fatalf("argocd: the server does not know Application %s: %v (last answer: %v)", name, err, last)
	}
}

// call sends a JSON request to the Argo CD server with the token, if any,
// and decodes the answer into out (unless nil). Errors never hold the token.
func (a *ArgoCD) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, strings.SplitN(path, "?", 2)[0], resp.Status, argoTail(string(data), 2000))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return nil
}

func (a *ArgoCD) stop() {
	for i := len(a.procs) - 1; i >= 0; i-- {
		a.procs[i].Stop(10 * time.Second)
	}
}

func (a *ArgoCD) logTails(logf func(string, ...any)) {
	for _, p := range a.procs {
		logf("--- end of %s log (%s) ---\n%s", p.Name, p.Log, p.LogTail(4000))
	}
}

// removeStaleArgoDirs removes the directories of test processes that died
// before their cleanups ran (killed by -timeout, say): argocd-<pid>-* whose
// pid is gone.
func removeStaleArgoDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "argocd-*-*"))
	for _, d := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), "argocd-"), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// waitArgoHTTP polls url until it answers 200, the process exits or the time
// is up.
func waitArgoHTTP(ctx context.Context, p *childproc.Proc, url string, limit time.Duration) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	var last string
	err := argoPollUntil(ctx, limit, func() (bool, error) {
		resp, err := hc.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true, nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, argoTail(string(body), 1000))
		} else {
			last = err.Error()
		}
		if p.Exited() {
			return false, fmt.Errorf("%s exited (%v) before it was ready; its log %s ends:\n%s", p.Name, p.Err(), p.Log, p.LogTail(4000))
		}
		return false, nil
	})
	if err != nil && !p.Exited() {
		return fmt.Errorf("%s not ready at %s: %w (last answer: %s); its log %s ends:\n%s", p.Name, url, err, last, p.Log, p.LogTail(4000))
	}
	return err
}

// argoWaitRedis waits until redis answers PING.
func argoWaitRedis(ctx context.Context, p *childproc.Proc, addr string, limit time.Duration) error {
	var last error
	err := argoPollUntil(ctx, limit, func() (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("redis-server exited (%v); its log %s ends:\n%s", p.Err(), p.Log, p.LogTail(4000))
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			last = err
			return false, nil
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Write([]byte("PING\r\n")); err != nil {
			last = err
			return false, nil
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+PONG") {
			last = fmt.Errorf("answer %q: %v", line, err)
			return false, nil
		}
		return true, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("redis-server at %s: %w (last: %v)", addr, err, last)
	}
	return err
}

// argoPollUntil calls f every 100ms until it returns true or an error, or the
// limit passes.
func argoPollUntil(ctx context.Context, limit time.Duration, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		ok, err := f()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not done after %s: %w", limit, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// argoFreePorts asks the kernel for n distinct free loopback ports. Another
// process could take one before it is used; the start then fails loudly.
func argoFreePorts(n int) ([]int, error) {
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

func argoTail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
