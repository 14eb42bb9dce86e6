package main

import (
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestCycleGatewayAPI drives the cycle of an app routed with Gateway API
// through the CLI against a bare remote: after each transition the build at
// the remote has a Service per deployed color and the HTTPRoute's rules
// lead to the right ones, and check passes.
func TestCycleGatewayAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp", "--routing", "gateway-api",
		"--parent", "infra/shared", "--section", "https", "--host", "myapp.example.com")
	force := []string{"--force", "--reason", "smoke tests passed in job 812"}
	for i, s := range []struct {
		args     []string
		services []string // colors with a Service
		rules    []string // "test->color" or "default->color"
	}{
		{[]string{"deploy", "--version", "v1"}, []string{"blue"}, []string{"test->blue"}},
		{append([]string{"promote"}, force...), []string{"blue"}, []string{"default->blue"}},
		{[]string{"deploy", "--version", "v2"}, []string{"blue", "green"}, []string{"test->green", "default->blue"}},
		{append([]string{"promote"}, force...), []string{"blue", "green"}, []string{"default->green"}},
		{[]string{"rollback"}, []string{"blue", "green"}, []string{"default->blue"}},
		{[]string{"decommission"}, []string{"blue"}, []string{"default->blue"}},
		{[]string{"deploy", "--version", "v3"}, []string{"blue", "green"}, []string{"test->green", "default->blue"}},
		{[]string{"abort"}, []string{"blue"}, []string{"default->blue"}},
	} {
		e.run(0, s.args...)
		objs := e.built()
		var services []string
		for _, c := range []string{"blue", "green"} {
			if svc := objs["Service/myapp-"+c]; svc != nil {
				services = append(services, c)
				if got := field(t, svc, "spec.selector.color"); got != c {
					t.Errorf("step %d %v: Service myapp-%s selects color %s", i, s.args, c, got)
				}
			}
		}
		if !slices.Equal(services, s.services) {
			t.Errorf("step %d %v: Services for %v, want %v", i, s.args, services, s.services)
		}
		route := objs["HTTPRoute/myapp-blue-green"]
		if route == nil {
			t.Fatalf("step %d %v: no HTTPRoute", i, s.args)
		}
		if objs["VirtualService/myapp-blue-green"] != nil || objs["DestinationRule/myapp-blue-green"] != nil || objs["Gateway/myapp-gateway"] != nil {
			t.Errorf("step %d: a gateway-api app's build has Istio objects", i)
		}
		if got := field(t, route, "spec.parentRefs[0].namespace") + "/" + field(t, route, "spec.parentRefs[0].name"); got != "infra/shared" {
			t.Errorf("step %d: parent %s", i, got)
		}
		rules, _ := route.Pipe(yaml.Lookup("spec", "rules"))
		items, _ := rules.Elements()
		var got []string
		for _, r := range items {
			kind := "default"
			if h, _ := r.Pipe(yaml.Lookup("matches", "[=]", "headers")); h != nil {
				kind = "test"
			}
			got = append(got, kind+"->"+strings.TrimPrefix(field(t, r, "backendRefs[0].name"), "myapp-"))
		}
		if !slices.Equal(got, s.rules) {
			t.Errorf("step %d %v: rules %v, want %v", i, s.args, got, s.rules)
		}
		if out := e.run(0, "check"); !strings.Contains(out.stdout, "ok") {
			t.Errorf("step %d: check: %s", i, out.stdout)
		}
	}
}

func TestInitGatewayAPIUsage(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no parent":        {[]string{"--routing", "gateway-api"}, "--routing gateway-api needs --parent"},
		"parent for istio": {[]string{"--parent", "shared"}, "--parent, --section and --parent-port are for --routing gateway-api"},
		"unknown router":   {[]string{"--routing", "nginx"}, `--routing "nginx"`},
		"bad parent":       {[]string{"--routing", "gateway-api", "--parent", "infra/Shared"}, `gatewayAPI.parentRefs[0].name "Shared"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "apps/myapp")
			before := len(e.log())
			r := e.run(2, append([]string{"init", "--name", "myapp", "--image", "ghcr.io/acme/myapp"}, tc.args...)...)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tc.want)
			}
			if len(e.log()) != before {
				t.Errorf("a refused init committed")
			}
		})
	}
}
