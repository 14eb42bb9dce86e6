// Package kubetest runs a real Kubernetes API server for tests: etcd (the
// Debian package etcd-server) and a kube-apiserver built from k8s.io/kubernetes
// in the tools module internal/tools/kubeapiserver, on loopback ports, with
// token authentication and the CustomResourceDefinitions of the controllers
// bgrender waits for (Argo CD's Application, Flux's Kustomization and
// GitRepository, Istio's networking CRDs) installed from their own modules.
//
// By default nothing runs controllers: a test plays the controller by
// writing status with [Cluster.SetStatus], so the objects, their schemas,
// the status subresource and the API errors are real while the verdict
// stays in the test's hands. With [WithControllers] the cluster also runs
// the real kube-controller-manager and kube-scheduler (from the same
// tools module) and kwok (internal/tools/kwok), which plays the kubelets of
// a fake node by the stages in stages.yaml: Deployments roll out through
// ReplicaSets, Jobs complete or fail through their pods and foreground
// deletion completes by the controllers' own logic. What is still stood in
// for is the container runtime: a pod's readiness is what its annotations
// say, not what a process does (kubetest.bgrender.dev/ready: "false" keeps
// it unready), and a Job's pod exits 0 unless its annotation
// kubetest.bgrender.dev/exit-code or an argument "kubetest-exit-1" of a
// container's command says otherwise. kwok keeps no container logs.
//
// Start here: [Start] gives a test its own cluster, stopped when the test
// ends. A package whose tests share one cluster calls [Main] from TestMain and
// [Shared] from each test. [Prepare] (also `go run ./internal/kubetest/cmd/prepare`)
// builds and caches the binary and the CRDs up front, so that CI pays the
// ~3.5 minute build outside the tests' time limits.
//
// The binary and the CRD files are cached under
// ${XDG_CACHE_HOME:-$HOME/.cache}/bgrender-tools/, keyed by version. The
// environment variables BGRENDER_KUBE_APISERVER, BGRENDER_KUBE_CONTROLLER_MANAGER,
// BGRENDER_KUBE_SCHEDULER and BGRENDER_KWOK name binaries to use instead of
// the cached builds.
package kubetest
