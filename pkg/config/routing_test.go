package config

import (
	"strings"
	"testing"
)

func TestGatewayAPIConfig(t *testing.T) {
	base := "apiVersion: bgrender.io/v1alpha1\nkind: App\napp: myapp\nimage: ghcr.io/acme/myapp\n"
	good := base + "routing: gateway-api\ngatewayAPI:\n  parentRefs:\n  - {name: shared, namespace: infra, sectionName: https, port: 443}\n  hostnames: [myapp.example.com]\n"
	c, err := Parse("b.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if !c.GatewayAPIRouted() || c.GatewayAPI.Bind != BindGateway || c.Gateway.Name != "" || c.Istio != (Istio{}) {
		t.Fatalf("defaults: %+v", c)
	}
	if got := c.Hosts(); len(got) != 1 || got[0] != "myapp.example.com" {
		t.Errorf("Hosts() = %v", got)
	}
	out, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Parse("again.yaml", out); err != nil || again.GatewayAPI.ParentRefs[0] != c.GatewayAPI.ParentRefs[0] {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "istio:") || strings.Contains(string(out), "\ngateway:") {
		t.Errorf("a gateway-api config writes Istio's fields:\n%s", out)
	}
	if istio, _ := Marshal(Default("myapp", "ghcr.io/acme/myapp")); strings.Contains(string(istio), "routing") || strings.Contains(string(istio), "gatewayAPI") {
		t.Errorf("an Istio config writes routing fields:\n%s", istio)
	}

	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown router":   {base + "routing: linkerd\n", `routing "linkerd": must be istio or gateway-api`},
		"no parent":        {base + "routing: gateway-api\n", "gatewayAPI.parentRefs: name the Gateway"},
		"bad parent name":  {base + "routing: gateway-api\ngatewayAPI:\n  parentRefs: [{name: Shared}]\n", `gatewayAPI.parentRefs[0].name "Shared"`},
		"bad namespace":    {base + "routing: gateway-api\ngatewayAPI:\n  parentRefs: [{name: gw, namespace: a.b}]\n", `gatewayAPI.parentRefs[0].namespace "a.b"`},
		"bad port":         {base + "routing: gateway-api\ngatewayAPI:\n  parentRefs: [{name: gw, port: 70000}]\n", "gatewayAPI.parentRefs[0].port 70000"},
		"same parent":      {base + "routing: gateway-api\ngatewayAPI:\n  parentRefs: [{name: gw}, {name: gw}]\n", "gatewayAPI.parentRefs[1]: the same parent twice"},
		"lone star":        {base + "routing: gateway-api\ngatewayAPI:\n  parentRefs: [{name: gw}]\n  hostnames: ['*']\n", `gatewayAPI.hostnames[0] "*"`},
		"bad bind":         {base + "routing: gateway-api\ngatewayAPI:\n  bind: edge\n", `gatewayAPI.bind "edge"`},
		"istio gateway":    {base + "routing: gateway-api\ngateway: {name: gw}\ngatewayAPI:\n  parentRefs: [{name: gw}]\n", "gateway: is the Istio Gateway"},
		"istio section":    {base + "routing: gateway-api\nistio: {bind: mesh}\ngatewayAPI:\n  bind: mesh\n", "istio: only with routing: istio"},
		"gatewayAPI alone": {base + "gatewayAPI:\n  parentRefs: [{name: gw}]\n", "gatewayAPI: only with routing: gateway-api"},
		"no class":         {base + "routing: gateway-api\ngatewayAPI:\n  gateway: {listeners: [{name: http, port: 80, protocol: HTTP}]}\n", "gatewayAPI.gateway.gatewayClassName"},
		"https no cert":    {base + "routing: gateway-api\ngatewayAPI:\n  gateway: {gatewayClassName: eg, listeners: [{name: https, port: 443, protocol: HTTPS}]}\n", "gatewayAPI.gateway.listeners[0].certificateSecret"},
		"bad protocol":     {base + "routing: gateway-api\ngatewayAPI:\n  gateway: {gatewayClassName: eg, listeners: [{name: tcp, port: 9, protocol: TCP}]}\n", `gatewayAPI.gateway.listeners[0].protocol "TCP"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("b.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	t.Run("mesh alone needs no parent", func(t *testing.T) {
		if _, err := Parse("b.yaml", []byte(base+"routing: gateway-api\ngatewayAPI:\n  bind: mesh\n")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a scaffolded Gateway is the parent", func(t *testing.T) {
		c, err := Parse("b.yaml", []byte(base+"routing: gateway-api\ngatewayAPI:\n  gateway: {gatewayClassName: eg, listeners: [{name: http, port: 80, protocol: HTTP}]}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if p := c.Parents(); len(p) != 1 || p[0].Name != "myapp-gateway" {
			t.Fatalf("Parents() = %+v", p)
		}
	})
}
