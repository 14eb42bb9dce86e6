package gitops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// Sizes of the generated env repo. Override them with BGRENDER_BENCH_APPS
// and BGRENDER_BENCH_COMMITS (the measurement used 1,000 apps and
// 10,000 commits; generating that takes about a minute):
//
//	BGRENDER_BENCH_COMMITS=10000 go test -run '^$' -bench . ./pkg/gitops
const (
	benchApps    = 1000
	benchCommits = 2000
)

func benchSize(b *testing.B, env string, def int) int {
	b.Helper()
	if v := os.Getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive integer", env, v)
		}
		return n
	}
	return def
}

func benchRepo(b *testing.B) (dir string, apps int, name string) {
	b.Helper()
	apps = benchSize(b, "BGRENDER_BENCH_APPS", benchApps)
	commits := benchSize(b, "BGRENDER_BENCH_COMMITS", benchCommits)
	dir = filepath.Join(b.TempDir(), "env.git")
	gitops.GenEnvRepo(b, dir, apps, commits)
	return dir, apps, fmt.Sprintf("apps=%d/commits=%d", apps, commits)
}

// BenchmarkApplyURL measures one transition against a file:// remote: Open,
// read the app's files, Apply (commit and compare-and-swap push), Close.
func BenchmarkApplyURL(b *testing.B) {
	dir, apps, name := benchRepo(b)
	url := gitopstest.FileURL(dir)
	seq := 0
	b.Run(name, func(b *testing.B) { benchTransitions(b, url, apps, &seq) })
}

// BenchmarkApplyHTTP is the same over smart HTTP (the in-process test
// server) with a depth-1 in-memory clone: it includes the server's work of
// packing the whole head tree for every clone.
func BenchmarkApplyHTTP(b *testing.B) {
	dir, apps, name := benchRepo(b)
	url := gitopstest.ServeHTTP(b, dir, "", "")
	seq := 0
	b.Run(name, func(b *testing.B) { benchTransitions(b, url, apps, &seq) })
}

// benchTransitions runs b.N transitions; seq numbers them across the runs
// of one benchmark, so that every one changes something.
func benchTransitions(b *testing.B, url string, apps int, seq *int) {
	ctx := context.Background()
	author := gitops.Signature{Name: "bench", Email: "bench@example.com", When: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	o := gitops.Options{Repo: url, Push: true}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		*seq++
		i := *seq
		app := gitops.BenchApp(i * 7 % apps)
		r, err := gitops.Open(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		files, err := r.ReadDir(ctx, app)
		if err != nil || len(files) != 5 {
			b.Fatalf("ReadDir(%s) = %d files, %v", app, len(files), err)
		}
		files["bgrender-state.yaml"] = []byte(fmt.Sprintf("app: %s\nversion: bench-%d\n", app, i))
		files["overlays/blue/deployment.yaml"] = []byte(fmt.Sprintf("image: %s:bench-%d\n", app, i))
		res, err := r.Apply(ctx, gitops.Change{
			Dir:     app,
			Files:   files,
			Replace: []string{"."},
			Message: gitops.FormatMessage(app+": bench", "", []gitops.Trailer{{Key: "Bgrender-App", Value: app}}),
			Author:  author,
		})
		if err != nil || !res.Pushed {
			b.Fatalf("Apply = %+v, %v", res, err)
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
