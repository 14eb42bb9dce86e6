// Package e2e runs bgrender against a real GitOps loop on one machine: a git
// server over HTTP with basic auth (git http-backend), etcd and a
// token-authenticated kube-apiserver (internal/kubetest), Argo CD
// (application-controller, repo-server, server, with redis and the kustomize
// CLI) and Flux (source-controller, kustomize-controller), all built from
// their Go modules in tools modules under internal/tools and cached by
// version, and started on loopback by the tests, which stop them on every
// exit path.
//
// Below the API server the cluster is real too, but for the kubelets: the
// kube-controller-manager and kube-scheduler run, and kwok plays the
// kubelets of a fake node (kubetest.WithControllers), so Deployments roll
// out through ReplicaSets, a stuck rollout exceeds its progress deadline,
// Jobs finish through their pods and foreground deletion completes, by the
// controllers' own logic. The health Argo CD and Flux report, and that
// bgrender waits on, is theirs.
//
// What cannot run here is stood in for, as little as possible:
//
//   - No container runtime: kwok makes a scheduled pod Running and Ready
//     (or never Ready, when annotated kubetest.bgrender.dev/ready: "false"),
//     and ends a Job's pod with exit code 0, or 1 when a container's command
//     has the argument kubetest-exit-1 (or the pod's annotation
//     kubetest.bgrender.dev/exit-code says so): a hook passes or fails by the
//     Job controller's own conditions. There are no container logs.
//     For each color with a Ready pod, Traffic runs one local process of a
//     tiny HTTP app (pkg/smoke/smoketest.App) serving that pod's image tag
//     as its version and its bgrender.io/release label.
//   - No Envoy or istiod, no network path from the gateway to the pods:
//     Traffic's gateway routes each request by the VirtualService and
//     DestinationRule it reads from the API server (the cookie rule first,
//     then the default rule; a subset must exist in the DestinationRule and
//     select a Ready pod, else 503), and its mesh caller (Traffic.MeshURL, a
//     pod's sidecar calling the Service by name) by the VirtualService bound
//     to "mesh"; with none, its calls go to every color in turn, as through
//     the Service.
//   - No Gateway API implementation: for an app routed with Gateway API,
//     Traffic also plays the Gateway API controller. It routes the gateway
//     by the HTTPRoute <app>-blue-green and the mesh caller by
//     <app>-blue-green-mesh (GAMMA), each backend Service to the color its
//     selector selects, and it writes each route's status.parents as such a
//     controller does: Accepted when the parent Gateway exists, has the
//     listener and allows routes from the route's namespace (allowedRoutes
//     from Same, All, or a Selector's matchLabels), ResolvedRefs when
//     every backend Service exists, at the route's generation. A route no
//     parent accepts programs nothing.
//   - No Prometheus service discovery: the stand-in pods count their
//     requests and 5xx answers (smoketest.App, /metrics), and Traffic
//     serves all of them on one scrape target (Traffic.MetricsTarget) that
//     the real Prometheus of internal/promtest scrapes every second.
//
// Every test starts the cluster WithControllers, and none writes a
// Deployment's or a Job's status: the controllers do.
//
// The tests are behind the build tag e2e: go test -tags e2e ./internal/e2e/.
package e2e
