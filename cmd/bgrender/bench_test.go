package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
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
	})
}

// benchEnvRepo makes a bare repo with n copies of one real app (init, then
// a deploy), each renamed, in one commit.
func benchEnvRepo(b *testing.B, n int) string {
	b.Helper()
	_, one := gitopstest.NewRemote(b, "main")
	mustBG(b, 0, "--repo", one, "--app", "app", "init", "--name", "tmplapp", "--image", "ghcr.io/acme/tmplapp")
	mustBG(b, 0, "--repo", one, "--app", "app", "deploy", "--version", "v1")
	tmpl := gitopstest.Files(b, one, "main", "app")
	files := map[string][]byte{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("app%04d", i)
		for p, c := range tmpl {
			files["apps/"+name+"/"+p] = []byte(strings.ReplaceAll(c, "tmplapp", name))
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
