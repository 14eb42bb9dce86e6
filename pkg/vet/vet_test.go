package vet_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/vet"
)

// aliasBomb is the classic "billion laughs" in YAML: 785 bytes that expand
// to 9^9 scalars.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&b, "  %s: &%s [", n, n)
		for i := 0; i < 9; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
		prev = n
	}
	return b.String()
}

func limitOf(t *testing.T, err error) *vet.LimitError {
	t.Helper()
	var le *vet.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("want a *vet.LimitError, got %v", err)
	}
	return le
}

func TestYAMLLimits(t *testing.T) {
	l := vet.DefaultLimits()
	deep := strings.Repeat("[", 150) + strings.Repeat("]", 150)
	var bigMap strings.Builder
	bigMap.WriteString("data:\n")
	for i := 0; i < 5001; i++ {
		fmt.Fprintf(&bigMap, "  k%d: v\n", i)
	}
	var merged strings.Builder
	merged.WriteString("base: &base\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&merged, "  k%d: v\n", i)
	}
	merged.WriteString("other: &other\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&merged, "  o%d: v\n", i)
	}
	merged.WriteString("both:\n  <<: [*base, *other]\n")
	var docs strings.Builder
	for i := 0; i < 1001; i++ {
		fmt.Fprintf(&docs, "---\nkind: ConfigMap\nmetadata: {name: c%d}\n", i)
	}
	for _, tc := range []struct {
		name, data string
		limit      vet.Limit
	}{
		{"alias bomb", aliasBomb(), vet.LimitNodes},
		{"deep nesting", deep, vet.LimitDepth},
		{"deep through an alias", "a: &a " + strings.Repeat("[", 60) + strings.Repeat("]", 60) + "\nb: " + strings.Repeat("[", 50) + "*a" + strings.Repeat("]", 50) + "\n", vet.LimitDepth},
		{"big mapping", bigMap.String(), vet.LimitEntries},
		{"big mapping by merge keys", merged.String(), vet.LimitEntries},
		{"many documents", docs.String(), vet.LimitDocuments},
		{"big file", "a: " + strings.Repeat("x", 2<<20) + "\n", vet.LimitFileBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			le := limitOf(t, vet.YAML("base/x.yaml", []byte(tc.data), l))
			if le.Limit != tc.limit || le.File != "base/x.yaml" {
				t.Fatalf("got %+v, want limit %q on base/x.yaml", le, tc.limit)
			}
			if !strings.HasPrefix(le.Error(), "base/x.yaml: ") {
				t.Errorf("message does not start with the file: %s", le)
			}
		})
	}
}

func TestAliasCycle(t *testing.T) {
	// yaml.v3 parses it into a cyclic node graph; expanding it would never
	// end (kustomize's de-anchoring recurses until the stack overflows).
	err := vet.YAML("x.yaml", []byte("a: &a\n  b: *a\n"), vet.DefaultLimits())
	if !errors.Is(err, vet.ErrAliasCycle) || !strings.HasPrefix(err.Error(), "x.yaml: line 1: ") {
		t.Fatalf("want ErrAliasCycle naming the file and line, got %v", err)
	}
}

func TestWithinLimits(t *testing.T) {
	l := vet.DefaultLimits()
	ok := map[string]string{
		"aliases used sparingly": "defaults: &d {cpu: 100m}\nrequests: *d\nlimits: *d\n",
		"merge keys":             "base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n",
		"5000 keys": func() string {
			var b strings.Builder
			for i := 0; i < 5000; i++ {
				fmt.Fprintf(&b, "k%d: v\n", i)
			}
			return b.String()
		}(),
		"99 levels":       strings.Repeat("[", 99) + strings.Repeat("]", 99),
		"not YAML at all": "\t\x00{[: nope",
		"empty documents": "---\n---\n",
	}
	for name, data := range ok {
		t.Run(name, func(t *testing.T) {
			if err := vet.YAML("f.yaml", []byte(data), l); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFilesDirLimits(t *testing.T) {
	l := vet.Limits{DirBytes: 100, Documents: 3}
	files := map[string][]byte{
		"a.yaml": []byte("---\na: 1\n---\nb: 2\n"),
		"b.yaml": []byte("---\nc: 3\n---\nd: " + strings.Repeat("x", 80) + "\n"),
	}
	errs := vet.Files(files, l)
	if len(errs) != 2 {
		t.Fatalf("want the dir size and documents errors, got %v", errs)
	}
	if le := limitOf(t, errs[0]); le.Limit != vet.LimitDirBytes {
		t.Errorf("first error %v, want the dir size", le)
	}
	if le := limitOf(t, errs[1]); le.Limit != vet.LimitDocuments || le.Value != 4 {
		t.Errorf("second error %v, want 4 documents", le)
	}
	if errs := vet.Files(files, vet.Limits{}); errs != nil {
		t.Errorf("zero limits are no limits, got %v", errs)
	}
}

// TestAliasBombBounded: the bomb is refused without expanding it. The bound
// on memory is what the test measures (allocations are deterministic, unlike
// time on a busy machine); a counter that expanded the aliases would
// allocate gigabytes.
func TestAliasBombBounded(t *testing.T) {
	data := []byte(aliasBomb())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := vet.YAML("base/service.yaml", data, vet.DefaultLimits())
	runtime.ReadMemStats(&after)
	limitOf(t, err)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("refusing a %d-byte alias bomb allocated %d bytes", len(data), alloc)
	}
	// Raising the node limit far enough still measures it without expanding.
	l := vet.DefaultLimits()
	l.Nodes = 1 << 40
	if err := vet.YAML("base/service.yaml", data, l); err != nil {
		t.Fatalf("a bomb within a raised limit: %v", err)
	}
}

func BenchmarkYAMLOrdinary(b *testing.B) {
	data := []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
spec:
  template:
    spec:
      containers:
      - name: podinfod
        image: ghcr.io/stefanprodan/podinfo:6.7.0
        envFrom:
        - configMapRef: {name: podinfo-config}
        readinessProbe:
          exec: {command: [podcli, check, http, localhost:9898/readyz]}
        resources:
          limits: {cpu: 2000m, memory: 512Mi}
          requests: {cpu: 100m, memory: 64Mi}
`)
	l := vet.DefaultLimits()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := vet.YAML("d.yaml", data, l); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMergeChainBounded: merge keys that double a mapping at every level
// are counted without doubling the work, even with the node limit lifted.
func TestMergeChainBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("m0: &m0 {a: 1, b: 2}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "m%d: &m%d\n  <<: [*m%d, *m%d]\n  k%d: v\n", i, i, i-1, i-1, i)
	}
	l := vet.DefaultLimits()
	l.Nodes, l.Entries, l.Depth = 1<<62, 1<<62, 1000
	if err := vet.YAML("merge.yaml", []byte(b.String()), l); err != nil {
		t.Fatalf("a merge chain within lifted limits: %v", err)
	}
	le := limitOf(t, vet.YAML("merge.yaml", []byte(b.String()), vet.DefaultLimits()))
	if le.Limit != vet.LimitNodes && le.Limit != vet.LimitEntries {
		t.Fatalf("got %v", le)
	}
}
