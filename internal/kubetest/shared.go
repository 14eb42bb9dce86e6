package kubetest

import (
	"context"
	"os"
	"runtime/debug"
	"sync"
	"testing"
)

var shared struct {
	mu      sync.Mutex
	main    bool
	started bool
	c       *Cluster
	err     error
}

// Main runs the package's tests (m.Run) and then stops the cluster that
// Shared started, if any. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }
//
// If the test binary dies before Main returns (a panic, a -timeout), the
// processes die with it; only their temporary directory is left behind.
func Main(m *testing.M) int {
	// etcd, the kube-apiserver and the tests allocate much and keep
	// little: unless GOGC is set, collect garbage less often (the children
	// inherit it).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
		os.Setenv("GOGC", "400")
	}
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c != nil {
		shared.c.Stop()
	}
	return code
}

// Shared returns the package's one cluster with DefaultCRDs, starting it on
// first use, so that tests that don't need it don't pay for it. Tests that
// share it should each work in their own namespace ([Cluster.Namespace]). A
// failed start fails every test that asks.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.main {
		t.Fatal("kubetest.Shared: the package's TestMain must call kubetest.Main(m)")
	}
	if !shared.started {
		shared.started = true
		shared.c, shared.err = New(context.Background(), t.Logf)
	}
	if shared.err != nil {
		t.Fatalf("kubetest: %v", shared.err)
	}
	return shared.c
}
