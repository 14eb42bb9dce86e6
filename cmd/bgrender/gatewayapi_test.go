package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
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

// TestCheckAllRouteConflict: two apps whose HTTPRoutes match the same
// hostname and path on the same Gateway listener fight over those requests;
// check --all names both, each passing on its own, and an app on its own
// hostname does not conflict.
func TestCheckAllRouteConflict(t *testing.T) {
	t.Parallel()
	a := newEnv(t, "apps/a")
	gw := []string{"--routing", "gateway-api", "--parent", "infra/shared", "--section", "https"}
	a.run(0, append([]string{"init", "--name", "a", "--image", "ghcr.io/acme/a", "--host", "shop.example.com"}, gw...)...)
	a.run(0, "deploy", "--version", "v1", "--no-wait")
	b := newEnvOn(t, a.url, "apps/b")
	b.run(0, append([]string{"init", "--name", "b", "--image", "ghcr.io/acme/b", "--host", "shop.example.com", "--namespace", "team-b"}, gw...)...)
	b.run(0, "deploy", "--version", "v1", "--no-wait")
	c := newEnvOn(t, a.url, "apps/c")
	c.run(0, append([]string{"init", "--name", "c", "--image", "ghcr.io/acme/c", "--host", "c.example.com"}, gw...)...)
	c.run(0, "deploy", "--version", "v1", "--no-wait")
	for _, dir := range []string{"apps/a", "apps/b", "apps/c"} {
		mustBG(t, 0, "--repo", a.url, "--app", dir, "check")
	}
	r := mustBG(t, 1, "--repo", a.url, "-o", "json", "check", "--all")
	var out struct {
		Apps []struct {
			Dir      string   `json:"dir"`
			Findings []string `json:"findings"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Apps) != 3 {
		t.Fatalf("apps: %s", r.stdout)
	}
	want := map[string]string{"apps/a": "apps/b", "apps/b": "apps/a"}
	for _, app := range out.Apps {
		f := strings.Join(app.Findings, "\n")
		other, conflicted := want[app.Dir]
		switch {
		case conflicted && !strings.Contains(f, "its HTTPRoute claims hostname shop.example.com, path PathPrefix / on Gateway infra/shared listener https, as the HTTPRoute of "+other):
			t.Errorf("%s: findings %q", app.Dir, f)
		case !conflicted && f != "":
			t.Errorf("%s, on its own hostname: findings %q", app.Dir, f)
		}
	}
}

// TestAdoptGatewayAPI takes over testdata's podinfo (HPA, PDB, ConfigMap,
// two Service ports) routed by Gateway API: while the adopted Deployment
// serves, the default rule goes to a Service selecting its pods
// (podinfo-adopted); after the first promote and decommission, it is gone
// and the rules lead to the colors' Services, on the app Service's first
// port.
func TestAdoptGatewayAPI(t *testing.T) {
	t.Parallel()
	_, url := gitopstest.NewRemote(t, "main")
	seedPlainApp(t, url, "podinfo")
	e := newEnvOn(t, url, "apps/podinfo")
	e.run(0, "init", "--adopt", "--name", "podinfo", "--image", "ghcr.io/stefanprodan/podinfo", "--container", "podinfod",
		"--routing", "gateway-api", "--parent", "infra/shared", "--host", "podinfo.example.com")
	backends := func() []string {
		t.Helper()
		route := e.built()["HTTPRoute/podinfo-blue-green"]
		if route == nil {
			return nil
		}
		var out []string
		for i := 0; ; i++ {
			n, err := route.Pipe(yaml.Lookup("spec", "rules", fmt.Sprint(i), "backendRefs", "0"))
			if err != nil || n == nil {
				return out
			}
			port, _ := n.Pipe(yaml.Lookup("port"))
			out = append(out, field(t, n, "name")+":"+yaml.GetValue(port))
		}
	}
	e.run(0, "deploy", "--version", "6.7.1", "--no-wait")
	if got, want := backends(), []string{"podinfo-blue:9898", "podinfo-adopted:9898"}; !slices.Equal(got, want) {
		t.Fatalf("while adopted: backends %v, want %v", got, want)
	}
	if sel := field(t, e.built()["Service/podinfo-adopted"], "spec.selector.color"); sel != "adopted" {
		t.Fatalf("podinfo-adopted selects color %q", sel)
	}
	e.run(0, "promote", "--force", "--reason", "first release")
	e.run(0, "decommission")
	if got, want := backends(), []string{"podinfo-blue:9898"}; !slices.Equal(got, want) {
		t.Fatalf("after decommission: backends %v, want %v", got, want)
	}
	if e.built()["Service/podinfo-adopted"] != nil {
		t.Errorf("the adopted workload's Service outlives it")
	}
	e.run(0, "deploy", "--version", "6.7.2", "--no-wait")
	mustBG(t, 0, "--repo", url, "check", "--all")
}
