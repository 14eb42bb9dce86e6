package smoke_test

import "testing"

// FuzzSpecYAML: decoding and validating a verify section never panics; a
// valid spec stays valid with defaults and round-trips through YAML.
func FuzzSpecYAML(f *testing.F) {
	f.Add([]byte(fullSpec))
	f.Add([]byte("verify:\n  identity: {header: x-app-version}\n  checks:\n  - path: /\n"))
	f.Add([]byte("verify:\n  timeout: 1h\n  identity: {jsonField: a.0.b, value: release}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := decode(t, string(data))
		if err != nil || spec.Validate() != nil {
			return
		}
		if err := spec.WithDefaults().Validate(); err != nil {
			t.Fatalf("valid spec is invalid with defaults: %v", err)
		}
		out := marshal(t, spec)
		again, err := decode(t, out)
		if err != nil {
			t.Fatalf("marshalled spec does not decode: %v\n%s", err, out)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("marshalled spec is invalid: %v\n%s", err, out)
		}
		if out2 := marshal(t, again); out2 != out {
			t.Fatalf("round trip not stable:\n%s---\n%s", out, out2)
		}
	})
}
