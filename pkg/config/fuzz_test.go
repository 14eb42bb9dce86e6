package config

import (
	"strings"
	"testing"
)

// FuzzParse: the config parser never panics, and what it accepts round-trips.
func FuzzParse(f *testing.F) {
	def, err := Marshal(Default("myapp", "ghcr.io/acme/myapp"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	f.Add([]byte("apiVersion: bgrender.io/v1alpha1\nkind: App\napp: x\nimage: a/b\ntestRoute:\n  header: {name: x-test, value: '1'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		out, err := Marshal(c)
		if err != nil {
			t.Fatalf("accepted config does not marshal: %v", err)
		}
		again, err := Parse("again.yaml", out)
		if err != nil {
			t.Fatalf("marshalled config does not parse: %v\n%s", err, out)
		}
		if out2, _ := Marshal(again); string(out2) != string(out) {
			t.Fatalf("round trip not stable:\n%s\n---\n%s", out, out2)
		}
	})
}

// FuzzValidateImage: the image-repository check never panics, and what it
// accepts can carry no tag, digest, whitespace or YAML structure.
func FuzzValidateImage(f *testing.F) {
	for _, s := range []string{"ghcr.io/acme/myapp", "localhost:5000/a/b", "a", "a@sha256:00", "a:b", "A/b", "a\nb: c", "&a", "{a}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, image string) {
		if ValidateImage(image) != nil {
			return
		}
		if strings.ContainsAny(image, "@ \t\r\n{}[]&*!|>'\"%#,") || strings.HasSuffix(image, ":") {
			t.Fatalf("ValidateImage accepted %q", image)
		}
		if i := strings.LastIndex(image, ":"); i > 0 && !strings.Contains(image[i:], "/") {
			t.Fatalf("ValidateImage accepted a tag: %q", image)
		}
	})
}
