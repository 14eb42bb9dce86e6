package kubecheck_test

import (
	"reflect"
	"testing"

	"github.com/bgrender/bgrender/pkg/kubecheck"
)

// TestRouteClaims: each hostname of a route, on each Gateway parent, for
// each match's path, is one claim; a mesh parent (a Service) claims nothing.
func TestRouteClaims(t *testing.T) {
	built := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web-blue-green}
spec:
  parentRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: shared, namespace: infra, sectionName: https}
  - {name: local}
  hostnames: [web.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}, headers: [{name: Cookie, type: RegularExpression, value: x}]}]
    backendRefs: [{name: web-green, port: 80}]
  - matches: [{path: {type: Exact, value: /api}}]
    backendRefs: [{name: web-blue, port: 80}]
  - backendRefs: [{name: web-blue, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web-blue-green-mesh, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: web}]
  rules: [{backendRefs: [{name: web-blue, port: 80}]}]
`
	got := kubecheck.RouteClaims([]byte(built), "shop")
	want := []kubecheck.RouteClaim{
		{Parent: "infra/shared listener https", Host: "web.example.com", Path: "Exact /api", Route: "shop/web-blue-green"},
		{Parent: "shop/local", Host: "web.example.com", Path: "Exact /api", Route: "shop/web-blue-green"},
		{Parent: "infra/shared listener https", Host: "web.example.com", Path: "PathPrefix /", Route: "shop/web-blue-green"},
		{Parent: "shop/local", Host: "web.example.com", Path: "PathPrefix /", Route: "shop/web-blue-green"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("claims:\n%+v\nwant\n%+v", got, want)
	}
	if s := got[2].String(); s != "hostname web.example.com, path PathPrefix / on Gateway infra/shared listener https" {
		t.Fatalf("String() = %q", s)
	}
}
