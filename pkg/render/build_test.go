package render

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func TestBuildOnDiskMatchesBuildFiles(t *testing.T) {
	tc := caseNamed(t, "second-deploy")
	files := appFiles(t, tc.cfg, tc.s)
	dir := t.TempDir()
	for p, data := range files {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b Builder
	onDisk, err := b.Build(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	inMemory, err := b.BuildFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, inMemory) {
		t.Errorf("on-disk build differs from the in-memory build:\n%s", Diff("", Files{"build": inMemory}, Files{"build": onDisk}))
	}
}

func TestBuildErrors(t *testing.T) {
	kust := func(body string) string {
		return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + body
	}
	tests := []struct {
		name  string
		files Files
		dir   string // built with Build on an in-memory copy; "" means BuildFiles
		want  string
	}{
		{name: "no kustomization", files: Files{"x.yaml": []byte("a: b\n")}, want: "kustomize build /"},
		{
			name:  "file outside the root",
			dir:   "/app",
			files: Files{"app/kustomization.yaml": []byte(kust("resources:\n- ../secret.yaml\n")), "secret.yaml": []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n")},
			want:  "security",
		},
		{name: "remote missing resource", files: Files{"kustomization.yaml": []byte(kust("resources:\n- nope\n"))}, want: "nope"},
		{
			name:  "exec plugin",
			files: Files{"kustomization.yaml": []byte(kust("generators:\n- gen.yaml\n")), "gen.yaml": []byte("apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: g\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/true\n")},
			want:  "plugin",
		},
		{
			name:  "remote base",
			files: Files{"kustomization.yaml": []byte(kust("resources:\n- github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v1.0.6\n"))},
			want:  "remote",
		},
		{
			name: "remote file in a nested base",
			files: Files{
				"kustomization.yaml":      []byte(kust("resources:\n- base\n")),
				"base/kustomization.yaml": []byte(kust("resources:\n- https://example.com/x.yaml\n")),
			},
			want: "base/kustomization.yaml: resources[0] \"https://example.com/x.yaml\"",
		},
		{
			name:  "remote component",
			files: Files{"kustomization.yaml": []byte(kust("components:\n- git@github.com:org/repo.git\n"))},
			want:  "remote",
		},
		{
			name:  "helm",
			files: Files{"kustomization.yaml": []byte(kust("helmCharts:\n- name: x\n  repo: https://example.com\n"))},
			want:  "helm",
		},
	}
	var b Builder
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.dir == "" {
				_, err = b.BuildFiles(tc.files)
			} else {
				fsys := filesys.MakeFsInMemory()
				for p, data := range tc.files {
					if err := fsys.WriteFile("/"+p, data); err != nil {
						t.Fatal(err)
					}
				}
				_, err = b.Build(fsys, tc.dir)
			}
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), tc.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tc.want)
			}
			if remote := strings.HasPrefix(tc.name, "remote"); remote != errors.Is(err, ErrRemoteResource) {
				t.Errorf("errors.Is(%v, ErrRemoteResource) = %v, want %v", err, !remote, remote)
			}
		})
	}
}

// panickyFS is a file system whose reads panic, standing in for a kustomize bug.
type panickyFS struct{ filesys.FileSystem }

func (panickyFS) ReadFile(string) ([]byte, error) { panic("boom") }

func TestBuildRecoversPanics(t *testing.T) {
	fsys := filesys.MakeFsInMemory()
	if err := fsys.WriteFile("/kustomization.yaml", []byte("resources: []\n")); err != nil {
		t.Fatal(err)
	}
	var b Builder
	_, err := b.Build(panickyFS{fsys}, "/")
	if err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("error = %v, want a recovered panic", err)
	}
	// The mutex was released: the Builder still works.
	if _, err := b.Build(fsys, "/"); err != nil {
		t.Fatalf("build after a panic: %v", err)
	}
}

func TestBuildConcurrent(t *testing.T) {
	var b Builder
	all := cases(t)
	want := make([][]byte, len(all))
	for i, tc := range all {
		out, err := b.BuildFiles(appFiles(t, tc.cfg, tc.s))
		if err != nil {
			t.Fatal(err)
		}
		want[i] = out
	}
	var wg sync.WaitGroup
	for i, tc := range all {
		files := appFiles(t, tc.cfg, tc.s)
		wg.Go(func() {
			out, err := b.BuildFiles(files)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				return
			}
			if !bytes.Equal(out, want[i]) {
				t.Errorf("%s: concurrent build differs", tc.name)
			}
		})
	}
	wg.Wait()
}
