package config

import (
	"strings"
	"testing"
)

func TestDefaultRoundTrip(t *testing.T) {
	c := Default("myapp", "ghcr.io/acme/myapp")
	data, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("bgrender.yaml", data)
	if err != nil {
		t.Fatalf("parse of default config: %v\n%s", err, data)
	}
	again, _ := Marshal(got)
	if string(again) != string(data) {
		t.Fatalf("round trip changed bytes:\n%s\n---\n%s", data, again)
	}
	if got.Port != 3000 || got.ReadinessPath != "/ready" || got.Namespace != "default" ||
		got.Gateway.Name != "myapp-gateway" || got.Gateway.Hosts[0] != "*" ||
		got.TestRoute.Cookie.Name != "test" || got.TestRoute.Cookie.Value != "true" ||
		got.Istio.APIVersion != "networking.istio.io/v1" {
		t.Fatalf("defaults not applied: %+v", got)
	}
}

func TestParseMinimalAppliesDefaults(t *testing.T) {
	c, err := Parse("b.yaml", []byte("apiVersion: bgrender.io/v1alpha1\nkind: App\napp: shop\nimage: registry.local:5000/team/shop\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.Name != "shop-gateway" || c.Port != 3000 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	base := "apiVersion: bgrender.io/v1alpha1\nkind: App\napp: myapp\nimage: ghcr.io/acme/myapp\n"
	tests := map[string]struct {
		extra string
		app   string
		want  string
	}{
		"unknown field":      {extra: "colour: blue\n", want: "line 5"},
		"syntax":             {extra: "port: [\n", want: "line"},
		"bad app name":       {app: "My_App", want: "app:"},
		"image with tag":     {extra: "", want: "image", app: "tag"},
		"bad port":           {extra: "port: 70000\n", want: "port 70000"},
		"port not a number":  {extra: "port: x\n", want: "line 5"},
		"bad readiness path": {extra: "readinessPath: ready\n", want: "readinessPath"},
		"newline in path":    {extra: "readinessPath: \"/a\\nb: c\"\n", want: "readinessPath"},
		"bad namespace":      {extra: "namespace: Prod\n", want: "namespace"},
		"bad host":           {extra: "gateway:\n  hosts: [\"a b\"]\n", want: "gateway.hosts[0]"},
		"bad gateway":        {extra: "gateway:\n  name: \"{x}\"\n", want: "gateway.name"},
		"cookie with ;":      {extra: "testRoute:\n  cookie: {name: test, value: \"a;b\"}\n", want: "testRoute.cookie.value"},
		"cookie bad name":    {extra: "testRoute:\n  cookie: {name: \"a b\", value: x}\n", want: "testRoute.cookie.name"},
		"both selectors":     {extra: "testRoute:\n  cookie: {name: a, value: b}\n  header: {name: x-test, value: b}\n", want: "either cookie or header"},
		"uppercase header":   {extra: "testRoute:\n  header: {name: X-Test, value: b}\n", want: "testRoute.header.name"},
		"istio api version":  {extra: "istio:\n  apiVersion: apps/v1\n", want: "istio.apiVersion"},
		"wrong kind":         {extra: "", app: "kind", want: "kind"},
		"bad provided":       {extra: "provided:\n  secrets: [db, \"../x\"]\n", want: "provided.secrets[1]"},
		"bad container":      {extra: "container: Web_1\n", want: "container"},
		"bad standby":        {extra: "standby:\n  replicas: -1\n", want: "standby.replicas"},
		"bad bind":           {extra: "istio:\n  bind: sidecar\n", want: "istio.bind"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			doc := base + tc.extra
			switch tc.app {
			case "tag":
				doc = strings.Replace(doc, "ghcr.io/acme/myapp", "ghcr.io/acme/myapp:v1", 1)
			case "kind":
				doc = strings.Replace(doc, "kind: App", "kind: Other", 1)
			case "":
			default:
				doc = strings.Replace(doc, "app: myapp", "app: "+tc.app, 1)
			}
			_, err := Parse("apps/x/bgrender.yaml", []byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "apps/x/bgrender.yaml: ") {
				t.Fatalf("error = %v; want it to name the file and %q", err, tc.want)
			}
		})
	}
}

func TestValidateImage(t *testing.T) {
	for _, ok := range []string{"myapp", "ghcr.io/acme/myapp", "localhost:5000/a/b", "docker.io/library/nginx", "a/b_c/d-e.f"} {
		if err := ValidateImage(ok); err != nil {
			t.Errorf("ValidateImage(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "MyApp", "ghcr.io/acme/myapp:v1", "ghcr.io/acme/myapp@sha256:abc", "a//b", "a b", "a\nb: c", "-a"} {
		if err := ValidateImage(bad); err == nil {
			t.Errorf("ValidateImage(%q) accepted", bad)
		}
	}
}

func TestWaitSection(t *testing.T) {
	base := "apiVersion: bgrender.io/v1alpha1\nkind: App\napp: myapp\nimage: ghcr.io/acme/myapp\n"
	c, err := Parse("b.yaml", []byte(base+"wait:\n  controller: argocd\n  server: https://argocd.example.com\n  cooldown: 5s\n"))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Wait.WithDefaults(c.App)
	if w.Name != "myapp" || w.Namespace != "argocd" || w.Cooldown.Seconds() != 5 || w.Timeout.Minutes() != 10 || w.StuckDeletion.Minutes() != 5 {
		t.Fatalf("wait defaults: %+v", w)
	}
	never, err := Parse("b.yaml", []byte(base+"wait:\n  controller: argocd-kube\n  stuckDeletion: -1s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := never.Wait.WithDefaults(never.App); w.StuckDeletion.Duration >= 0 {
		t.Fatalf("stuckDeletion -1s (never) became %s", w.StuckDeletion)
	}
	if f := (Wait{Controller: ControllerFlux}).WithDefaults("x"); f.Namespace != "flux-system" {
		t.Fatalf("flux namespace default: %+v", f)
	}
	out, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Parse("again.yaml", out); err != nil || again.Wait.Cooldown != c.Wait.Cooldown {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
	for name, tc := range map[string]struct{ extra, want string }{
		"unknown controller": {"wait:\n  controller: spinnaker\n", "wait.controller"},
		"argocd no server":   {"wait:\n  controller: argocd\n", "wait.server"},
		"server with creds":  {"wait:\n  controller: argocd\n  server: https://admin:pw@argocd\n", "wait.server"},
		"bad duration":       {"wait:\n  controller: flux\n  timeout: soon\n", "duration"},
		"bad name":           {"wait:\n  controller: flux\n  name: My_App\n", "wait.name"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("b.yaml", []byte(base+tc.extra))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "pw@") {
				t.Fatalf("credentials echoed: %v", err)
			}
		})
	}
}

func TestEnvRefusesCredentials(t *testing.T) {
	base := "apiVersion: bgrender.io/v1alpha1\nkind: App\napp: myapp\nimage: ghcr.io/acme/myapp\n"
	c, err := Parse("b.yaml", []byte(base+"secretEnv: true\nenv:\n- name: NODE_ENV\n  value: production\n- name: DB_HOST\n  value: db.internal\n"))
	if err != nil || !c.SecretEnv || len(c.Env) != 2 {
		t.Fatalf("literal env with a secret reference: %+v %v", c, err)
	}
	for name, tc := range map[string]struct{ env, want string }{
		"password":  {"- name: DB_PASSWORD\n  value: hunter2\n", "env[0] DB_PASSWORD: looks like a credential"},
		"token":     {"- name: GITHUB_TOKEN\n  value: x\n", "GITHUB_TOKEN: looks like a credential"},
		"api key":   {"- name: STRIPE_API_KEY\n  value: x\n", "STRIPE_API_KEY"},
		"secret":    {"- name: jwtSecret\n  value: x\n", "jwtSecret"},
		"bad name":  {"- name: 1ABC\n  value: x\n", "env[0].name"},
		"injection": {"- name: \"A\\n  value: x\"\n  value: x\n", "env[0].name"},
		"set twice": {"- name: A\n  value: x\n- name: A\n  value: y\n", "env[1].name \"A\": set twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("b.yaml", []byte(base+"env:\n"+tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Fatal("the refused value was echoed")
			}
		})
	}
}

// TestUnknownFieldSuggestion: a misspelt field is named with the nearest
// known one of its section; a field far from any lists what the section has.
func TestUnknownFieldSuggestion(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"apiVersion: bgrender.io/v1alpha1\nkind: App\napp: a\nimgae: ghcr.io/a\n", `bgrender.yaml: line 4: unknown field "imgae" (did you mean "image"?)`},
		{"apiVersion: bgrender.io/v1alpha1\nkind: App\napp: a\nimage: ghcr.io/a\nwait:\n  controler: flux\n", `line 6: unknown field "controler" (did you mean "controller"?)`},
		{"apiVersion: bgrender.io/v1alpha1\nkind: App\napp: a\nimage: ghcr.io/a\nverify:\n  checks:\n  - name: x\n    paht: /x\n", `line 8: unknown field "paht" (did you mean "path"?)`},
		{"apiVersion: bgrender.io/v1alpha1\nkind: App\napp: a\nimage: ghcr.io/a\ngateway:\n  zzzzzzzz: 1\n", `unknown field "zzzzzzzz" (known here: hosts, name)`},
	} {
		_, err := Parse("bgrender.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse = %v, want %q", err, tc.want)
		}
	}
}
