package render

import "testing"

func TestDiff(t *testing.T) {
	old := Files{
		"kustomization.yaml":           []byte("a\nb\nc\n"),
		"overlays/blue/patch.yaml":     []byte("x\n"),
		"overlays/virtualservice.yaml": []byte("1\n2\n3\n4\n5\n6\n7\n8\n9\n"),
		"same.yaml":                    []byte("same\n"),
	}
	tests := []struct {
		name   string
		prefix string
		old    Files
		new    Files
		want   string
	}{
		{name: "equal", old: old, new: old, want: ""},
		{name: "both empty", want: ""},
		{
			name: "added", prefix: "apps/myapp", old: Files{}, new: Files{"overlays/green/patch.yaml": []byte("y\nz\n")},
			want: "--- /dev/null\n+++ b/apps/myapp/overlays/green/patch.yaml\n@@ -0,0 +1,2 @@\n+y\n+z\n",
		},
		{
			name: "removed", prefix: "apps/myapp", old: Files{"overlays/blue/patch.yaml": []byte("x\n")}, new: nil,
			want: "--- a/apps/myapp/overlays/blue/patch.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n",
		},
		{
			name: "changed with context", old: old,
			new: Files{
				"kustomization.yaml":           []byte("a\nb\nc\n"),
				"overlays/blue/patch.yaml":     []byte("x\n"),
				"overlays/virtualservice.yaml": []byte("1\n2\n3\n4\nfive\n6\n7\n8\n9\n"),
				"same.yaml":                    []byte("same\n"),
			},
			want: "--- a/overlays/virtualservice.yaml\n+++ b/overlays/virtualservice.yaml\n" +
				"@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
		},
		{
			name: "sorted paths", prefix: "p",
			old: Files{"b.yaml": []byte("1\n"), "a.yaml": []byte("1\n")},
			new: Files{"b.yaml": []byte("2\n"), "c.yaml": []byte("3\n")},
			want: "--- a/p/a.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-1\n" +
				"--- a/p/b.yaml\n+++ b/p/b.yaml\n@@ -1 +1 @@\n-1\n+2\n" +
				"--- /dev/null\n+++ b/p/c.yaml\n@@ -0,0 +1 @@\n+3\n",
		},
		{
			name: "missing final newline", old: Files{"f": []byte("a\nb")}, new: Files{"f": []byte("a\nb\n")},
			want: "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n",
		},
		{
			name: "added empty file", old: Files{}, new: Files{"f": nil},
			want: "--- /dev/null\n+++ b/f\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Diff(tc.prefix, tc.old, tc.new); got != tc.want {
				t.Errorf("Diff:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
