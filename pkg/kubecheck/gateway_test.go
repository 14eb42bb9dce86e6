package kubecheck_test

import (
	"reflect"
	"testing"

	"github.com/bgrender/bgrender/pkg/kubecheck"
)

// TestGatewayClaims: each host of each server is one claim, keyed by the
// selector, the host without its namespace prefix, and the port.
func TestGatewayClaims(t *testing.T) {
	built := `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: web, namespace: shop}
spec:
  selector: {istio: ingressgateway, zone: b}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*", "shop/web.example.com"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [web.example.com]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: not-istio}
spec: {}
`
	got := kubecheck.GatewayClaims([]byte(built))
	want := []kubecheck.GatewayClaim{
		{Selector: "istio=ingressgateway,zone=b", Host: "*", Port: 80, Gateway: "shop/web"},
		{Selector: "istio=ingressgateway,zone=b", Host: "web.example.com", Port: 80, Gateway: "shop/web"},
		{Selector: "istio=ingressgateway,zone=b", Host: "web.example.com", Port: 443, Gateway: "shop/web"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("claims:\n%+v\nwant\n%+v", got, want)
	}
	if s := got[0].String(); s != "host * on port 80 of the ingress gateway istio=ingressgateway,zone=b" {
		t.Fatalf("String() = %q", s)
	}
}
