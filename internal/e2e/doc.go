// Package e2e runs bgrender against a real GitOps loop on one machine: a git
// server over HTTP with basic auth (git http-backend), etcd and a
// token-authenticated kube-apiserver (internal/kubetest), Argo CD
// (application-controller, repo-server, server, with redis and the kustomize
// CLI) and Flux (source-controller, kustomize-controller), all built from
// their Go modules in tools modules under internal/tools and cached by
// version, and started on loopback by the tests, which stop them on every
// exit path.
//
// What cannot run here is stood in for, as little as possible:
//
//   - No kubelet, scheduler, container runtime or deployment controller:
//     Traffic writes the status they would write on each Deployment that
//     exists in the API server (observedGeneration, replicas, ready and
//     available replicas, the Available condition), so Argo CD and Flux
//     health checks see a rolled-out Deployment.
//   - No pods: for each Deployment in the API server, Traffic runs one local
//     process of a tiny HTTP app (pkg/smoke/smoketest.App) serving that
//     Deployment's image tag as its version and its bgrender.io/release label.
//   - No Envoy or istiod: Traffic's gateway routes each request by the
//     VirtualService and DestinationRule it reads from the API server (the
//     cookie rule first, then the default rule; a subset must exist in the
//     DestinationRule and select a Deployment's pods, else 503), and its
//     mesh caller (Traffic.MeshURL, a pod's sidecar calling the Service by
//     name) by the VirtualService bound to "mesh"; with none, its calls go
//     to every color in turn, as through the Service.
//
// The tests are behind the build tag e2e: go test -tags e2e ./internal/e2e/.
package e2e
