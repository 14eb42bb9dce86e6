// Package render turns an app's configuration (pkg/config) and release state
// (pkg/state) into the kustomize files of its app directory, and checks the
// result with an in-process kustomize build.
//
// Everything here is pure and deterministic: no printing, no clock, no
// randomness, no files. The same config and state give the same bytes, and
// every YAML document is built as a kyaml node tree, so values such as a
// version "1.0" or a header value "a: b" stay strings and cannot inject
// structure.
//
// # App directory layout
//
// Paths are relative to the app dir and slash-separated (see Files).
//
//	bgrender.yaml                 config, pkg/config
//	bgrender-state.yaml           state, pkg/state
//	kustomization.yaml            bgrender's: namespace, resources [base, overlays]
//	base/                         the user's, scaffolded once by Scaffold
//	  kustomization.yaml          resources [service.yaml, gateway.yaml]
//	  service.yaml                Service <app>, selector app=<app>
//	  gateway.yaml                Istio Gateway
//	  deployment/                 the Deployment template, not in base's resources:
//	    kustomization.yaml        only the color overlays include it
//	    deployment.yaml
//	overlays/                     bgrender's, regenerated wholesale by Overlays
//	  kustomization.yaml          resources: existing colors, then the DR and VS
//	  <color>/kustomization.yaml  ../../base/deployment, nameSuffix -<color>, labels
//	  <color>/deployment-patch.yaml  image <image>:<version>, port, readinessProbe
//	  destinationrule.yaml        DestinationRule <app>-blue-green: a subset per color
//	  virtualservice.yaml         VirtualService <app>-blue-green: test rule, default rule
//
// Each color's Deployment is <app>-<color>. Its selector and pod labels carry
// app and color; the pod labels also carry bgrender.io/release and version,
// which stay out of the selector because selectors are immutable. The
// VirtualService routes requests that match the test selector (a cookie, via
// CookieRegex, or an exact header) to the release under test, then everything
// else to the active release. Before the first promotion there is no default
// rule; with no release at all there is no VirtualService or DestinationRule
// and overlays/kustomization.yaml has no resources.
//
// # Where to start
//
// Overlays renders the bgrender-owned files for a state; Owned tells which
// paths those are, so a caller can delete stale ones before writing. Scaffold
// renders base/ for `bgrender init`. Diff shows what a transition changes.
// Builder.Build and Builder.BuildFiles run kustomize (krusty, no plugins, no
// helm, root-only loading) behind one process-wide mutex.
// Env-repo content is untrusted: BuildFiles measures the files with vet, and
// every build first refuses (*RemoteError) any value kustomize would fetch or
// clone, in every field it loads from, and runs with kustomize's HTTP client
// refusing every request (see netguard.go). CheckRouting checks the built YAML for broken routing
// (a route to a color without a Deployment, a subset that selects nothing, a
// default rule that shadows later rules, an image without a tag).
package render
