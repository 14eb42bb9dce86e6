package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/bgrender/bgrender/internal/benchrepo"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/vet"
)

// BenchmarkCheckAll runs `check --all` in-process on an env repo of 1,000
// real bgrender apps (BGRENDER_BENCH_APPS overrides), each with a release
// under test: every app is read, vetted, rendered, diffed and built.
//
//	go test ./cmd/bgrender -run '^$' -bench CheckAll -benchtime 3x
func BenchmarkCheckAll(b *testing.B) {
	apps := 1000
	if v := os.Getenv("BGRENDER_BENCH_APPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("BGRENDER_BENCH_APPS=%q", v)
		}
		apps = n
	}
	url := benchEnvRepo(b, apps)
	b.Run(fmt.Sprintf("apps=%d", apps), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := bg(b, "--repo", url, "check", "--all")
			if r.code != 0 {
				b.Fatalf("check --all: exit %d\n%s%s", r.code, r.stdout[:min(len(r.stdout), 2000)], r.stderr)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*apps), "ms/app")
	})
	// The baseline in the same run: the kustomize builds alone, one after
	// another, of the same app dirs (check --all builds each once, on every
	// core, and reads, renders and judges them besides).
	b.Run(fmt.Sprintf("apps=%d/kustomize-builds-only", apps), func(b *testing.B) {
		r, err := gitops.Open(context.Background(), gitops.Options{Repo: url, ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		dirs, err := r.FindDirs(context.Background(), "bgrender.yaml")
		if err != nil {
			b.Fatal(err)
		}
		var all []render.Files
		for _, d := range dirs {
			files, err := release.ReadDir(context.Background(), r, d, vet.DefaultLimits())
			if err != nil {
				b.Fatal(err)
			}
			all = append(all, files)
		}
		var builder render.Builder
		b.ResetTimer()
		for b.Loop() {
			for _, files := range all {
				if _, err := builder.BuildVetted(files); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*apps), "ms/app")
	})
}

// benchEnvRepo makes a bare repo of n real apps (benchrepo.App: each with
// an active release) in one commit.
func benchEnvRepo(b *testing.B, n int) string {
	b.Helper()
	files := map[string][]byte{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("app%04d", i)
		app, err := benchrepo.App(name)
		if err != nil {
			b.Fatal(err)
		}
		for p, c := range app {
			files["apps/"+name+"/"+p] = c
		}
	}
	_, url := gitopstest.NewRemote(b, "main")
	r, err := gitops.Open(context.Background(), gitops.Options{Repo: url, Push: true})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Apply(context.Background(), gitops.Change{Dir: ".", Files: files, Message: "apps\n", Author: gitopstest.Author()}); err != nil {
		b.Fatal(err)
	}
	return url
}
