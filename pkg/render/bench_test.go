package render

import "testing"

// Run with: go test ./pkg/render/ -run '^$' -bench . -benchmem
func BenchmarkOverlays(b *testing.B) {
	tc := caseNamed(b, "second-deploy")
	files, s := appFilesState(b, tc.cfg, tc.s)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Render(tc.cfg, files, s, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	tc := caseNamed(b, "second-deploy")
	files := appFiles(b, tc.cfg, tc.s)
	var builder Builder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := builder.BuildFiles(files); err != nil {
			b.Fatal(err)
		}
	}
}
