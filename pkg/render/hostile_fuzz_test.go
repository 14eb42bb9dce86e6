package render

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// decodeTree turns fuzz input into an app dir: files separated by lines
// "=== PATH"; a path is kept only if it is a plain relative one (the app
// dir's files come from a git tree, where paths are that).
func decodeTree(data []byte) Files {
	files := Files{}
	for _, chunk := range bytes.Split(data, []byte("=== "))[1:] {
		name, content, _ := bytes.Cut(chunk, []byte("\n"))
		p := string(name)
		if !plainPath.MatchString(p) || strings.Contains(p, "..") || len(files) >= 16 {
			continue
		}
		files[p] = content
	}
	return files
}

var plainPath = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,3}$`)

// FuzzHostileAppDir builds hostile app dirs the way check does: measured
// with vet, then built. Whatever the content, no connection reaches a
// loopback listener (every URL in the seeds points at it), no git process
// runs (a git on PATH that would leave a mark), nothing is written to the
// temporary directory kustomize would clone into, and one input allocates at
// most 256 MiB. (The wall-clock bound is only a hang guard.)
func FuzzHostileAppDir(f *testing.F) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	var conns atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\n")
	}), ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}}
	srv.SetKeepAlivesEnabled(false)
	go srv.Serve(ln)
	defer srv.Close()
	u := "http://" + ln.Addr().String()

	// A git that leaves a mark, first on PATH; and a temporary dir to watch.
	bin, tmp := f.TempDir(), f.TempDir()
	mark := filepath.Join(bin, "git-ran")
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte("#!/bin/sh\ntouch "+mark+"\nexit 1\n"), 0o755); err != nil {
		f.Fatal(err)
	}
	oldPath, oldTmp := os.Getenv("PATH"), os.Getenv("TMPDIR")
	os.Setenv("PATH", bin+string(os.PathListSeparator)+oldPath)
	os.Setenv("TMPDIR", tmp)
	f.Cleanup(func() { os.Setenv("PATH", oldPath); os.Setenv("TMPDIR", oldTmp) })

	k := "=== kustomization.yaml\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
	cm := "=== cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n"
	for _, s := range []string{
		k + "resources:\n- cm.yaml\n" + cm,
		k + "resources:\n- " + u + "/x.yaml\n",
		k + "resources:\n- github.com/org/repo\n=== github.com/org/repo/kustomization.yaml\nresources: []\n",
		k + "resources:\n- git@127.0.0.1:org/repo\n",
		k + "resources:\n- cm.yaml\nreplacements:\n- path: " + u + "/r\n" + cm,
		k + "configMapGenerator:\n- name: g\n  files:\n  - leak=" + u + "/s\n",
		k + "resources:\n- cm.yaml\ntransformers:\n- t.yaml\n" + cm + "=== t.yaml\napiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: " + u + "/p\n",
		k + "resources:\n- cm.yaml\ntransformers:\n- '{apiVersion: builtin, kind: PatchStrategicMergeTransformer, metadata: {name: p}, paths: [" + u + "/p]}'\n" + cm,
		k + "openapi:\n  path: " + u + "/o\nresources:\n- cm.yaml\n" + cm,
		k + "resources:\n- base\n=== base/kustomization.yaml\nresources:\n- cm.yaml\ncrds:\n- " + u + "/c\n=== base/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
		k + "resources:\n- cm.yaml\n=== cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
		k + "resources:\n- cm.yaml\n=== cm.yaml\na: &a\n  b: *a\n",
		k + "generators:\n- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata:\n    name: g\n  envs:\n  - " + u + "/e\n",
		k + "helmCharts:\n- name: x\n  repo: " + u + "\n  valuesFile: " + u + "/v\n",
	} {
		f.Add([]byte(s))
	}
	var b Builder
	f.Fuzz(func(t *testing.T, data []byte) {
		files := decodeTree(data)
		if len(files) == 0 {
			return
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _ = b.BuildFiles(files)
		runtime.ReadMemStats(&after)
		if n := conns.Load(); n != 0 {
			t.Fatalf("%d connection(s) reached the listener", n)
		}
		if _, err := os.Stat(mark); err == nil {
			t.Fatal("kustomize ran git")
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Fatalf("the build wrote to the temporary directory: %v", ents)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
			t.Fatalf("one build allocated %d MiB", alloc>>20)
		}
	})
}
