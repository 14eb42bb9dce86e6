package smoke_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/smoke"
)

// decode reads a Spec the way config.Parse reads bgrender.yaml: kyaml's
// decoder with unknown fields refused.
func decode(t *testing.T, data string) (smoke.Spec, error) {
	t.Helper()
	var doc struct {
		Verify smoke.Spec `yaml:"verify"`
	}
	dec := yaml.NewDecoder(strings.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&doc)
	return doc.Verify, err
}

const fullSpec = `verify:
  timeout: 1m30s
  identity:
    path: /version
    jsonField: build.release
    value: release
    timeout: 2s
    retries: 8
  checks:
  - name: health
    path: /healthz
    timeout: 500ms
    retries: 0
  - name: create
    method: POST
    path: /api/items?dry=1
    headers:
      content-type: application/json
      x-note: "a: b\t# not yaml"
    body: '{"name":"x"}'
    expect:
      status: 201
      bodyContains: created
      bodyRegex: '"id":\s*"[a-z0-9]+"'
      json:
      - field: items.0.id
        equals: "1.0"
`

func TestParseSpecYAML(t *testing.T) {
	spec, err := decode(t, fullSpec)
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	zero, eight := 0, 8
	want := smoke.Spec{
		Timeout: smoke.D(90 * time.Second),
		Identity: smoke.Identity{
			Path: "/version", JSONField: "build.release", Value: "release", Timeout: smoke.D(2 * time.Second), Retries: &eight,
		},
		Checks: []smoke.Check{
			{Name: "health", Path: "/healthz", Timeout: smoke.D(500 * time.Millisecond), Retries: &zero},
			{
				Name: "create", Method: "POST", Path: "/api/items?dry=1",
				Headers: map[string]string{"content-type": "application/json", "x-note": "a: b\t# not yaml"},
				Body:    `{"name":"x"}`,
				Expect: smoke.Expect{Status: 201, BodyContains: "created", BodyRegex: `"id":\s*"[a-z0-9]+"`,
					JSON: []smoke.JSONExpect{{Field: "items.0.id", Equals: "1.0"}}},
			},
		},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("decoded:\n%+v\nwant:\n%+v", spec, want)
	}

	// Marshal and decode again: durations are written as strings, explicit
	// zero retries survive, and the bytes are stable.
	out := marshal(t, spec)
	for _, s := range []string{"timeout: 1m30s", "timeout: 500ms", "retries: 0", `equals: "1.0"`} {
		if !strings.Contains(out, s) {
			t.Errorf("marshalled spec lacks %q:\n%s", s, out)
		}
	}
	again, err := decode(t, out)
	if err != nil {
		t.Fatalf("decode marshalled: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(again, spec) {
		t.Errorf("round trip changed the spec:\n%+v", again)
	}
	if out2 := marshal(t, again); out2 != out {
		t.Errorf("round trip not stable:\n%s---\n%s", out, out2)
	}
}

func marshal(t *testing.T, spec smoke.Spec) string {
	t.Helper()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(struct {
		Verify smoke.Spec `yaml:"verify"`
	}{spec}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestParseSpecYAMLErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown field", "verify:\n  checks:\n  - path: /\n    expected: {status: 200}\n", "line 4: field expected not found"},
		{"duration without unit", "verify:\n  timeout: 5\n", `line 2: "5" is not a duration; write it with a unit`},
		{"negative duration", "verify:\n  checks:\n  - path: /\n    timeout: -1s\n", "must not be negative"},
		{"duration as a list", "verify:\n  timeout: [5s]\n", "line 2: want a duration"},
		{"status not a number", "verify:\n  checks:\n  - path: /\n    expect: {status: ok}\n", "line 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode(t, tc.yaml)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestEmptySpecMarshalsToNothing(t *testing.T) {
	spec, err := decode(t, "verify: {}\n")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Configured() || spec.Validate() != nil {
		t.Fatalf("empty spec: configured %v, validate %v", spec.Configured(), spec.Validate())
	}
	if out := marshal(t, spec.WithDefaults()); out != "verify: {}\n" {
		t.Errorf("empty spec with defaults marshals to %q", out)
	}
}

func TestValidate(t *testing.T) {
	ok := smoke.Identity{Header: "x-app-version"}
	check := func(c smoke.Check) smoke.Spec { return smoke.Spec{Identity: ok, Checks: []smoke.Check{{Path: "/"}, c}} }
	neg := -1
	tests := []struct {
		name  string
		spec  smoke.Spec
		field string // "" = valid
		msg   string
	}{
		{name: "zero spec", spec: smoke.Spec{}},
		{name: "identity only", spec: smoke.Spec{Identity: ok}},
		{name: "minimal", spec: smoke.Spec{Identity: ok, Checks: []smoke.Check{{Path: "/healthz"}}}},
		{name: "checks without identity", spec: smoke.Spec{Checks: []smoke.Check{{Path: "/"}}}, field: "verify.identity", msg: "set header"},
		{name: "identity path without source", spec: smoke.Spec{Identity: smoke.Identity{Path: "/version"}}, field: "verify.identity"},
		{name: "both sources", spec: smoke.Spec{Identity: smoke.Identity{Header: "x", JSONField: "v"}}, field: "verify.identity", msg: "not both"},
		{name: "bad header name", spec: smoke.Spec{Identity: smoke.Identity{Header: "x version"}}, field: "verify.identity.header"},
		{name: "bad json field", spec: smoke.Spec{Identity: smoke.Identity{JSONField: "build..release"}}, field: "verify.identity.jsonField", msg: "empty segment"},
		{name: "bad value", spec: smoke.Spec{Identity: smoke.Identity{Header: "x", Value: "sha"}}, field: "verify.identity.value", msg: `"sha" must be "version" or "release"`},
		{name: "bad identity path", spec: smoke.Spec{Identity: smoke.Identity{Header: "x", Path: "version"}}, field: "verify.identity.path"},
		{name: "negative identity retries", spec: smoke.Spec{Identity: smoke.Identity{Header: "x", Retries: &neg}}, field: "verify.identity.retries"},
		{name: "negative timeout", spec: smoke.Spec{Identity: ok, Timeout: smoke.D(-time.Second)}, field: "verify.timeout"},
		{name: "missing path", spec: check(smoke.Check{Name: "x"}), field: "verify.checks[1].path", msg: "required"},
		{name: "relative path", spec: check(smoke.Check{Path: "healthz"}), field: "verify.checks[1].path"},
		{name: "path with space", spec: check(smoke.Check{Path: "/a b"}), field: "verify.checks[1].path"},
		{name: "path with fragment", spec: check(smoke.Check{Path: "/a#b"}), field: "verify.checks[1].path"},
		{name: "path with newline", spec: check(smoke.Check{Path: "/a\r\nHost: evil"}), field: "verify.checks[1].path"},
		{name: "bad percent escape", spec: check(smoke.Check{Path: "/a%zz"}), field: "verify.checks[1].path"},
		{name: "path with query", spec: check(smoke.Check{Path: "/a?b=c&d=%20"})},
		{name: "lowercase method", spec: check(smoke.Check{Path: "/", Method: "get"}), field: "verify.checks[1].method"},
		{name: "unknown method", spec: check(smoke.Check{Path: "/", Method: "TRACE"}), field: "verify.checks[1].method"},
		{name: "cookie header", spec: check(smoke.Check{Path: "/", Headers: map[string]string{"cookie": "a=b"}}), field: `verify.checks[1].headers["cookie"]`, msg: "bgrender sets the test route's cookie"},
		{name: "host header", spec: check(smoke.Check{Path: "/", Headers: map[string]string{"HOST": "x"}}), field: `verify.checks[1].headers["HOST"]`, msg: "gateway host"},
		{name: "header value injection", spec: check(smoke.Check{Path: "/", Headers: map[string]string{"x-a": "1\r\nCookie: test=true"}}), field: `verify.checks[1].headers["x-a"]`, msg: "control characters"},
		{name: "bad header name in check", spec: check(smoke.Check{Path: "/", Headers: map[string]string{"x a": "1"}}), field: `verify.checks[1].headers["x a"]`},
		{name: "status too high", spec: check(smoke.Check{Path: "/", Expect: smoke.Expect{Status: 42}}), field: "verify.checks[1].expect.status", msg: "42 is not an HTTP status code"},
		{name: "bad regex", spec: check(smoke.Check{Path: "/", Expect: smoke.Expect{BodyRegex: "(a"}}), field: "verify.checks[1].expect.bodyRegex"},
		{name: "lookbehind is not RE2", spec: check(smoke.Check{Path: "/", Expect: smoke.Expect{BodyRegex: "(?<=a)b"}}), field: "verify.checks[1].expect.bodyRegex"},
		{name: "empty json field", spec: check(smoke.Check{Path: "/", Expect: smoke.Expect{JSON: []smoke.JSONExpect{{Field: "a"}, {Equals: "x"}}}}), field: "verify.checks[1].expect.json[1].field"},
		{name: "negative retries", spec: check(smoke.Check{Path: "/", Retries: &neg}), field: "verify.checks[1].retries"},
		{name: "negative check timeout", spec: check(smoke.Check{Path: "/", Timeout: smoke.D(-1)}), field: "verify.checks[1].timeout"},
		{name: "HEAD with body checks", spec: check(smoke.Check{Path: "/", Method: "HEAD", Expect: smoke.Expect{BodyContains: "x"}}), field: "verify.checks[1].expect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if err := tc.spec.WithDefaults().Validate(); err != nil {
					t.Fatalf("Validate with defaults: %v", err)
				}
				return
			}
			var fe *smoke.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a *FieldError", err)
			}
			if fe.Field != tc.field || !strings.HasPrefix(err.Error(), tc.field+": ") || !strings.Contains(fe.Message, tc.msg) {
				t.Errorf("Validate = %q (field %q), want field %q and a message containing %q", err, fe.Field, tc.field, tc.msg)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	three := 3
	in := smoke.Spec{
		Identity: smoke.Identity{Header: "x-app-version"},
		Checks: []smoke.Check{
			{Method: "POST", Path: "/orders", Headers: map[string]string{"a": "b"}},
			{Path: "/healthz", Retries: &three},
		},
	}
	got := in.WithDefaults()
	if got.Timeout.Duration != 2*time.Minute || got.Identity.Value != "version" || got.Identity.Path != "/healthz" ||
		got.Identity.Timeout.Duration != 5*time.Second || *got.Identity.Retries != 5 {
		t.Errorf("spec defaults: %+v", got)
	}
	c := got.Checks[0]
	if c.Name != "POST /orders" || c.Method != "POST" || c.Expect.Status != 200 || c.Timeout.Duration != 5*time.Second || *c.Retries != 3 {
		t.Errorf("check defaults: %+v", c)
	}
	if got.Checks[1].Name != "GET /healthz" {
		t.Errorf("second check: %+v", got.Checks[1])
	}
	// Idempotent, and no sharing with the input.
	if again := got.WithDefaults(); !reflect.DeepEqual(again, got) {
		t.Errorf("WithDefaults is not idempotent:\n%+v\n%+v", got, again)
	}
	got.Checks[0].Headers["a"] = "changed"
	*got.Checks[1].Retries = 9
	if in.Checks[0].Headers["a"] != "b" || three != 3 || in.Checks[0].Method != "POST" || in.Timeout.Duration != 0 {
		t.Error("WithDefaults shares state with its input")
	}
	if p := (smoke.Spec{Identity: smoke.Identity{Header: "x"}}).WithDefaults().Identity.Path; p != "/" {
		t.Errorf("identity path without checks = %q, want /", p)
	}
}

func TestDurationText(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {500 * time.Millisecond, "500ms"}, {5 * time.Second, "5s"}, {2 * time.Minute, "2m"},
		{90 * time.Second, "1m30s"}, {time.Hour, "1h"}, {time.Hour + time.Minute, "1h1m"}, {1500 * time.Millisecond, "1.5s"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			d := smoke.D(tc.d)
			if got := d.String(); got != tc.want {
				t.Errorf("String = %q, want %q", got, tc.want)
			}
			b, err := json.Marshal(d)
			if err != nil || string(b) != `"`+tc.want+`"` {
				t.Fatalf("MarshalJSON = %s, %v", b, err)
			}
			var back smoke.Duration
			if err := json.Unmarshal(b, &back); err != nil || back != d {
				t.Errorf("UnmarshalJSON(%s) = %v, %v", b, back, err)
			}
		})
	}
}
