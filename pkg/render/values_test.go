package render

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
)

// TestValuesStayData renders values that YAML would read as numbers, booleans,
// nulls or structure, and checks that they come back as the same strings from
// the rendered files and from the kustomize build.
func TestValuesStayData(t *testing.T) {
	tests := []struct {
		name    string
		version string
		cookie  *config.Cookie
		header  *config.Header
	}{
		{name: "float version", version: "1.0", cookie: &config.Cookie{Name: "test", Value: "true"}},
		{name: "version losing a zero as a float", version: "1.10", cookie: &config.Cookie{Name: "c", Value: "a:b"}},
		{name: "exponent version", version: "1e3", cookie: &config.Cookie{Name: "c", Value: "~"}},
		{name: "yaml 1.1 int version", version: "1_000", cookie: &config.Cookie{Name: "on", Value: "null"}},
		{name: "octal version", version: "0755", cookie: &config.Cookie{Name: "c", Value: "{a:b}"}},
		{name: "bool version", version: "true", cookie: &config.Cookie{Name: "c", Value: "[1]"}},
		{name: "yaml 1.1 bool version", version: "on", cookie: &config.Cookie{Name: "c", Value: "&anchor"}},
		{name: "hex version", version: "0x1F", cookie: &config.Cookie{Name: "c", Value: "*alias"}},
		{name: "header value int", version: "2", header: &config.Header{Name: "x-test", Value: "1"}},
		{name: "header name and value bools", version: "no", header: &config.Header{Name: "yes", Value: "off"}},
		{name: "header name int", version: "3", header: &config.Header{Name: "123", Value: "null"}},
		{name: "header value structure", version: "v1", header: &config.Header{Name: "x-test", Value: "a: b # c"}},
		{name: "header value flow", version: "v1", header: &config.Header{Name: "x-test", Value: "{x: [y]}, - z"}},
		{name: "header value quotes", version: "v1", header: &config.Header{Name: "x-test", Value: `'"\n"'`}},
	}
	var b Builder
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.TestRoute = config.Test{Cookie: tc.cookie, Header: tc.header}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("test config is invalid: %v", err)
			}
			s := steps(t, "myapp", deploy(tc.version, "r-aaaaaaaa"))
			files := appFiles(t, cfg, s)

			// The rendered files, read back.
			labels := readYAML(t, files["overlays/blue/kustomization.yaml"])
			if got := lookup(labels, "labels", "[includeTemplates=true]", "pairs", LabelVersion); got.YNode().Tag != yaml.NodeTagString || got.YNode().Value != tc.version {
				t.Errorf("version label in kustomization is %s %q, want string %q", got.YNode().Tag, got.YNode().Value, tc.version)
			}
			checkSelector(t, cfg, readYAML(t, files["overlays/virtualservice.yaml"]))

			// The build, read back.
			built, err := b.BuildFiles(files)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			var vs, d *yaml.RNode
			for _, doc := range strings.Split(string(built), "\n---\n") {
				n := readYAML(t, []byte(doc))
				switch n.GetKind() {
				case "VirtualService":
					vs = n
				case "Deployment":
					d = n
				}
			}
			if vs == nil || d == nil {
				t.Fatalf("build lacks the VirtualService or Deployment:\n%s", built)
			}
			checkSelector(t, cfg, vs)
			for _, p := range [][]string{{"metadata", "labels", LabelVersion}, {"spec", "template", "metadata", "labels", LabelVersion}} {
				if got := lookup(d, p...); got.YNode().Tag != yaml.NodeTagString || got.YNode().Value != tc.version {
					t.Errorf("built Deployment %v is %s %q, want string %q", p, got.YNode().Tag, got.YNode().Value, tc.version)
				}
			}
			if got := yaml.GetValue(lookup(d, "spec", "template", "spec", "containers", "[name=myapp]", "image")); got != cfg.Image+":"+tc.version {
				t.Errorf("image %q", got)
			}
			if errs := CheckRouting(cfg, built); errs != nil {
				t.Errorf("CheckRouting: %v", errs)
			}
		})
	}
}

// readYAML parses one document, resolving implicit tags so that a number
// reads back as !!int and a quoted string as !!str.
func readYAML(t *testing.T, data []byte) *yaml.RNode {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatalf("parse: %v\n%s", err, data)
	}
	return yaml.NewRNode(n.Content[0])
}

// checkSelector checks the VirtualService's test match holds the selector as
// strings, keys included.
func checkSelector(t *testing.T, cfg config.Config, vs *yaml.RNode) {
	t.Helper()
	headers := lookup(vs, "spec", "http", "[name=myapp-test]", "match", "[=]", "headers")
	if headers == nil || len(headers.Content()) != 2 {
		t.Fatalf("test match headers: %v", headers)
	}
	key, val := headers.Content()[0], headers.Content()[1]
	wantKey, wantKind, wantValue := "cookie", "regex", ""
	if c := cfg.TestRoute.Cookie; c != nil {
		wantValue = CookieRegex(c.Name, c.Value)
	} else {
		wantKey, wantKind, wantValue = cfg.TestRoute.Header.Name, "exact", cfg.TestRoute.Header.Value
	}
	if key.Tag != yaml.NodeTagString || key.Value != wantKey {
		t.Errorf("header key %s %q, want string %q", key.Tag, key.Value, wantKey)
	}
	got := lookup(yaml.NewRNode(val), wantKind)
	if got == nil || got.YNode().Tag != yaml.NodeTagString || got.YNode().Value != wantValue {
		t.Errorf("header %s: %v, want string %q", wantKind, got, wantValue)
	}
}

func TestOverlaysRefusesBadInput(t *testing.T) {
	valid := defaultConfig()
	live := steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote)
	tests := []struct {
		name string
		cfg  func(*config.Config)
		s    state.State
		want string
	}{
		{name: "other app", s: steps(t, "other", deploy("v1", "r-aaaaaaaa")), want: `state is for app "other", config for app "myapp"`},
		{name: "invalid config", cfg: func(c *config.Config) { c.Port = 0 }, s: live, want: "port"},
		{name: "no test route", cfg: func(c *config.Config) { c.TestRoute = config.Test{} }, s: live, want: "testRoute"},
		{name: "invalid state", s: func() state.State {
			s := live
			s.Active = &state.Release{ID: "r1", Version: "v 1", Color: state.Blue}
			return s
		}(), want: "version"},
		{name: "zero state", s: state.State{}, want: "state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			files, err := Overlays(cfg, tc.s, nil, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "render overlays") {
				t.Fatalf("Overlays error = %v, want one saying what it rendered and mentioning %q", err, tc.want)
			}
			if files != nil {
				t.Errorf("files on error: %v", files)
			}
		})
	}
}

func TestScaffoldRefusesBadConfig(t *testing.T) {
	cfg := defaultConfig()
	cfg.Image = "ghcr.io/acme/myapp:v1"
	if _, err := Scaffold(cfg); err == nil || !strings.Contains(err.Error(), "scaffold base: config: image") {
		t.Fatalf("Scaffold error = %v", err)
	}
}
