package kubetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/bgrender/bgrender/internal/childproc"
	"github.com/bgrender/bgrender/internal/httptransport"
)

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	// Kubeconfig is the path of a kubeconfig file (context "kubetest") that
	// reaches the API server with Token, verifying its TLS certificate.
	Kubeconfig string
	Config     *rest.Config
	Dynamic    dynamic.Interface
	// Token is a bearer token of a user in group system:masters.
	Token string

	dir       string
	ownsDir   bool
	procs     []*childproc.Proc // in start order
	discovery discovery.DiscoveryInterface
	nsSeq     atomic.Int64
	stopOnce  sync.Once
	stopErr   error

	mu         sync.Mutex
	discovered map[schema.GroupVersion][]resourceInfo
}

// Option changes what Start sets up.
type Option func(*options)

type options struct {
	crds          []string
	crdFiles      []string
	apiServerArgs []string
	controllers   bool
	logf          func(string, ...any)
}

// WithCRDs replaces DefaultCRDs by the named CRDs from the cached CRD files
// (Argo CD's Application, Flux's Kustomization and GitRepository, Istio's 15).
// WithCRDs() with no names installs none of them.
func WithCRDs(names ...string) Option {
	return func(o *options) { o.crds = append([]string{}, names...) }
}

// WithCRDFiles also installs every CRD in the given YAML files.
func WithCRDFiles(paths ...string) Option {
	return func(o *options) { o.crdFiles = append(o.crdFiles, paths...) }
}

// WithAPIServerArgs adds flags to kube-apiserver's command line; a later flag
// overrides an earlier one, so they can change the defaults.
func WithAPIServerArgs(args ...string) Option {
	return func(o *options) { o.apiServerArgs = append(o.apiServerArgs, args...) }
}

// Start starts a cluster for the test and stops it, killing the process
// groups, when the test and its subtests are done, whatever the outcome. It
// fails the test if the cluster cannot start (e.g. etcd is not installed).
// The first run on a machine builds kube-apiserver (minutes); later runs start
// in seconds, reported with t.Logf.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	dir := t.TempDir()
	c := &Cluster{dir: dir}
	t.Cleanup(func() {
		if t.Failed() {
			c.logTails(t.Logf)
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	})
	o := options{crds: DefaultCRDs, logf: t.Logf}
	for _, opt := range opts {
		opt(&o)
	}
	if err := c.start(context.Background(), o); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	return c
}

// New starts a cluster that is not tied to a test, for TestMain and tools;
// the caller must call Stop. logf (may be nil) hears progress and timings.
func New(ctx context.Context, logf func(string, ...any), opts ...Option) (*Cluster, error) {
	removeStaleDirs()
	dir, err := os.MkdirTemp("", fmt.Sprintf("kubetest-%d-", os.Getpid()))
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, ownsDir: true}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	o := options{crds: DefaultCRDs, logf: logf}
	for _, opt := range opts {
		opt(&o)
	}
	if err := c.start(ctx, o); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Stop stops kube-apiserver and etcd (SIGTERM to their process groups, then
// SIGKILL) and removes the data directory if New made it. It is safe to call
// more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		for i := len(c.procs) - 1; i >= 0; i-- {
			c.procs[i].Stop(10 * time.Second)
		}
		if c.ownsDir {
			c.stopErr = os.RemoveAll(c.dir)
		}
	})
	return c.stopErr
}

func (c *Cluster) start(ctx context.Context, o options) error {
	begin := time.Now()
	etcdBin, err := etcdBinary()
	if err != nil {
		return err
	}
	apiBin, err := apiServerBinary(ctx, o.logf)
	if err != nil {
		return err
	}
	var files []string
	if len(o.crds) > 0 {
		if files, err = crdFiles(ctx, o.logf); err != nil {
			return err
		}
	}
	toolsReady := time.Now()

	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	etcd, err := childproc.Start("etcd", etcdBin, []string{
		"--name=kubetest",
		"--data-dir=" + filepath.Join(c.dir, "etcd"),
		"--listen-client-urls=" + etcdURL,
		"--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=kubetest=" + peerURL,
		"--logger=zap",
		"--log-outputs=stderr",
	}, nil, filepath.Join(c.dir, "etcd.log"))
	if err != nil {
		return err
	}
	c.procs = append(c.procs, etcd)
	if err := waitHTTP(ctx, etcd, &http.Client{Transport: httptransport.New()}, etcdURL+"/health", "", 30*time.Second); err != nil {
		return err
	}
	etcdReady := time.Now()

	certDir := filepath.Join(c.dir, "pki")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	p, err := newPKI(certDir)
	if err != nil {
		return fmt.Errorf("make certificates and keys: %w", err)
	}
	host := "https://127.0.0.1:" + strconv.Itoa(ports[2])
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(ports[2]),
		"--cert-dir=" + certDir,
		"--tls-cert-file=" + p.ServingCert,
		"--tls-private-key-file=" + p.ServingKey,
		"--token-auth-file=" + p.TokenAuthFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + p.SAKey,
		"--service-account-signing-key-file=" + p.SAKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=1",
	}
	if o.controllers {
		// Streaming list-watches need etcd's watch progress requests, which
		// Debian's etcd 3.4 lacks; kwok's client-go (v0.36) would ask for
		// them, see its watches fail and learn of pods seconds late. With
		// WatchList off, the server refuses the request and every client
		// lists and watches the classic way.
		args = append(args, "--feature-gates=WatchList=false")
	}
	args = append(args, o.apiServerArgs...)
	api, err := childproc.Start("kube-apiserver", apiBin, args, nil, filepath.Join(c.dir, "kube-apiserver.log"))
	if err != nil {
		return err
	}
	c.procs = append(c.procs, api)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CAPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if err := waitHTTP(ctx, api, hc, host+"/readyz", p.Token, 90*time.Second); err != nil {
		return err
	}
	apiReady := time.Now()

	c.Token = p.Token
	c.Config = &rest.Config{
		Host:            host,
		BearerToken:     p.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: p.CAPEM},
		QPS:             200,
		Burst:           400,
		UserAgent:       "kubetest",
	}
	if c.Dynamic, err = dynamic.NewForConfig(c.Config); err != nil {
		return err
	}
	if c.discovery, err = discovery.NewDiscoveryClientForConfig(c.Config); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: p.CAPEM}
	kc.AuthInfos["kubetest"] = &clientcmdapi.AuthInfo{Token: p.Token}
	kc.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "kubetest", Namespace: "default"}
	kc.CurrentContext = "kubetest"
	if err := clientcmd.WriteToFile(*kc, c.Kubeconfig); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}

	n, err := c.installCRDs(ctx, files, o.crds, o.crdFiles)
	if err != nil {
		return err
	}
	crdsReady := time.Now()
	if o.controllers {
		if err := c.startControllers(ctx, o, p); err != nil {
			return err
		}
		o.logf("kubetest: kube-controller-manager, kube-scheduler and kwok ready in %s", time.Since(crdsReady).Round(10*time.Millisecond))
	}
	done := time.Now()
	o.logf("kubetest: cluster at %s ready in %s (tools %s, etcd %s, kube-apiserver %s, %d CRDs %s)",
		host, done.Sub(begin).Round(10*time.Millisecond),
		toolsReady.Sub(begin).Round(10*time.Millisecond),
		etcdReady.Sub(toolsReady).Round(10*time.Millisecond),
		apiReady.Sub(etcdReady).Round(10*time.Millisecond),
		n, crdsReady.Sub(apiReady).Round(10*time.Millisecond))
	return nil
}

// removeStaleDirs removes the data directories that New made in processes
// that died before they could (a test binary killed by -timeout, say):
// kubetest-<pid>-* whose pid is gone.
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "kubetest-*-*"))
	for _, d := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), "kubetest-"), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// logTails writes the end of each process's log.
func (c *Cluster) logTails(logf func(string, ...any)) {
	for _, p := range c.procs {
		logf("--- end of %s log (%s) ---\n%s", p.Name, p.Log, p.LogTail(3000))
	}
}

// waitHTTP polls url until it answers 200, the process exits or the time is up.
func waitHTTP(ctx context.Context, p *childproc.Proc, hc *http.Client, url, token string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, tail(string(body), 1000))
		} else {
			last = err.Error()
		}
		if p.Exited() {
			return fmt.Errorf("%s exited (%v) before it was ready; its log %s ends:\n%s", p.Name, p.Err(), p.Log, p.LogTail(3000))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s after %s (last answer: %s); its log %s ends:\n%s", p.Name, url, limit, last, p.Log, p.LogTail(3000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePorts asks the kernel for n distinct free loopback ports. Another
// process could take one before we use it; the start then fails loudly.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// sanitize turns a test name into a DNS label fragment.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	for strings.Contains(out, "--") {
		out = strings.ReplaceAll(out, "--", "-")
	}
	return out
}

var errNoMapping = errors.New("no resource for kind")
