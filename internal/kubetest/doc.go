// Package kubetest runs a real Kubernetes API server for tests: etcd (the
// Debian package etcd-server) and a kube-apiserver built from k8s.io/kubernetes
// in the tools module internal/tools/kubeapiserver, on loopback ports, with
// token authentication and the CustomResourceDefinitions of the controllers
// bgrender waits for (Argo CD's Application, Flux's Kustomization and
// GitRepository, Istio's networking CRDs) installed from their own modules.
//
// Nothing runs controllers: a test plays the controller by writing status
// with [Cluster.SetStatus], so the objects, their schemas, the status
// subresource and the API errors are real while the verdict stays in the
// test's hands.
//
// Start here: [Start] gives a test its own cluster, stopped when the test
// ends. A package whose tests share one cluster calls [Main] from TestMain and
// [Shared] from each test. [Prepare] (also `go run ./internal/kubetest/cmd/prepare`)
// builds and caches the binary and the CRDs up front, so that CI pays the
// ~3.5 minute build outside the tests' time limits.
//
// The binary and the CRD files are cached under
// ${XDG_CACHE_HOME:-$HOME/.cache}/bgrender-tools/, keyed by version. The
// environment variable BGRENDER_KUBE_APISERVER names a kube-apiserver binary
// to use instead of the cached build.
package kubetest
