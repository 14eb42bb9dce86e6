package render

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// listener is a loopback HTTP server that counts the connections it
// accepts: the stand-in for an internal service or a cloud metadata
// endpoint that a hostile kustomization points at.
type listener struct {
	url   string
	conns atomic.Int64
}

func newListener(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{url: "http://" + ln.Addr().String()}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaked\ndata:\n  secret: AKIAEXAMPLE\n")
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				l.conns.Add(1)
			}
		},
	}
	// One connection per request, so that every fetch counts.
	srv.SetKeepAlivesEnabled(false)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return l
}

const kustHeader = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n"

// TestNoFieldFetches: every kustomization field that kustomize loads from
// is refused before the build when it holds a URL, naming the file and the
// field, and no connection reaches the listener.
func TestNoFieldFetches(t *testing.T) {
	l := newListener(t)
	u := l.url + "/x.yaml"
	tests := []struct {
		name  string
		files Files
		file  string // the file named in the error
		field string
	}{
		{"resources", Files{"kustomization.yaml": kust("resources:\n- " + u + "\n")}, "kustomization.yaml", "resources[0]"},
		{"components", Files{"kustomization.yaml": kust("components:\n- " + u + "\n")}, "kustomization.yaml", "components[0]"},
		{"bases", Files{"kustomization.yaml": kust("bases:\n- " + u + "\n")}, "kustomization.yaml", "bases[0]"},
		{"openapi.path", Files{"kustomization.yaml": kust("openapi:\n  path: " + u + "\nresources:\n- cm.yaml\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "openapi.path"},
		{"configurations", Files{"kustomization.yaml": kust("configurations:\n- " + u + "\nresources:\n- cm.yaml\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "configurations[0]"},
		{"crds", Files{"kustomization.yaml": kust("crds:\n- " + u + "\nresources:\n- cm.yaml\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "crds[0]"},
		{"patches[].path", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\npatches:\n- path: " + u + "\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "patches[0].path"},
		{"patchesJson6902[].path", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\npatchesJson6902:\n- target: {version: v1, kind: ConfigMap, name: c}\n  path: " + u + "\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "patchesJson6902[0].path"},
		{"patchesStrategicMerge", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\npatchesStrategicMerge:\n- " + u + "\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "patchesStrategicMerge[0]"},
		{"replacements[].path", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\nreplacements:\n- path: " + u + "\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "replacements[0].path"},
		{"transformers", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\ntransformers:\n- " + u + "\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "transformers[0]"},
		{"validators", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\nvalidators:\n- " + u + "\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "validators[0]"},
		{"generators", Files{"kustomization.yaml": kust("generators:\n- " + u + "\n")}, "kustomization.yaml", "generators[0]"},
		{"configMapGenerator.files", Files{"kustomization.yaml": kust("configMapGenerator:\n- name: g\n  files:\n  - " + u + "\n")}, "kustomization.yaml", "configMapGenerator[0].files[0]"},
		{"configMapGenerator.files key=url", Files{"kustomization.yaml": kust("configMapGenerator:\n- name: g\n  files:\n  - leak=" + u + "\n")}, "kustomization.yaml", "configMapGenerator[0].files[0]"},
		{"configMapGenerator.envs", Files{"kustomization.yaml": kust("configMapGenerator:\n- name: g\n  envs:\n  - " + u + "\n")}, "kustomization.yaml", "configMapGenerator[0].envs[0]"},
		{"configMapGenerator.env", Files{"kustomization.yaml": kust("configMapGenerator:\n- name: g\n  env: " + u + "\n")}, "kustomization.yaml", "configMapGenerator[0].env"},
		{"secretGenerator.files", Files{"kustomization.yaml": kust("secretGenerator:\n- name: g\n  files:\n  - " + u + "\n")}, "kustomization.yaml", "secretGenerator[0].files[0]"},
		{"helmCharts.valuesFile", Files{"kustomization.yaml": kust("helmCharts:\n- name: x\n  valuesFile: " + u + "\n")}, "kustomization.yaml", "helmCharts[0].valuesFile"},
		{"inline transformer", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata:\n    name: p\n  path: " + u + "\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "transformers[0].path"},
		{"one-line inline transformer", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\ntransformers:\n- '{apiVersion: builtin, kind: ReplacementTransformer, metadata: {name: r}, replacements: [{path: " + u + "}]}'\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "transformers[0].replacements[0].path"},
		{"transformer config file", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\ntransformers:\n- t.yaml\n"), "cm.yaml": []byte(cm), "t.yaml": []byte("apiVersion: builtin\nkind: PatchStrategicMergeTransformer\nmetadata:\n  name: p\npaths:\n- " + u + "\n")}, "t.yaml", "paths[0]"},
		{"generator config file", Files{"kustomization.yaml": kust("generators:\n- g.yaml\n"), "g.yaml": []byte("apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: g\nfiles:\n- " + u + "\n")}, "g.yaml", "files[0]"},
		{"nested base", Files{"kustomization.yaml": kust("resources:\n- base\n"), "base/kustomization.yaml": kust("resources:\n- cm.yaml\nreplacements:\n- path: " + u + "\n"), "base/cm.yaml": []byte(cm)}, "base/kustomization.yaml", "replacements[0].path"},
		{"upper-case scheme", Files{"kustomization.yaml": kust("resources:\n- cm.yaml\npatches:\n- path: HTTP" + strings.TrimPrefix(u, "http") + "\n"), "cm.yaml": []byte(cm)}, "kustomization.yaml", "patches[0].path"},
		{"git remote shadowed by a local dir", Files{"kustomization.yaml": kust("resources:\n- github.com/org/repo\n"), "github.com/org/repo/kustomization.yaml": kust("resources: []\n")}, "kustomization.yaml", "resources[0]"},
		{"scp-like remote", Files{"kustomization.yaml": kust("resources:\n- git@127.0.0.1:org/repo\n")}, "kustomization.yaml", "resources[0]"},
		{"go-getter prefix", Files{"kustomization.yaml": kust("resources:\n- git::" + u + "\n")}, "kustomization.yaml", "resources[0]"},
	}
	var b Builder
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.BuildFiles(tc.files)
			var re *RemoteError
			if !errors.As(err, &re) || !errors.Is(err, ErrRemoteResource) {
				t.Fatalf("want a *RemoteError, got %v", err)
			}
			if re.File != tc.file || re.Field != tc.field {
				t.Errorf("refused %s %s, want %s %s (%v)", re.File, re.Field, tc.file, tc.field, err)
			}
			if n := l.conns.Load(); n != 0 {
				t.Fatalf("%d connection(s) reached the listener", n)
			}
		})
	}
}

// TestLocalValuesStillBuild: the vetting refuses no ordinary kustomization:
// local files in every field, field specs named path, and URLs in values
// that kustomize does not load (literals, an inline patch's content).
func TestLocalValuesStillBuild(t *testing.T) {
	files := Files{
		"kustomization.yaml": kust(`resources:
- cm.yaml
configMapGenerator:
- name: g
  files:
  - app.properties
  - renamed=app.properties
  envs:
  - app.env
  literals:
  - UPSTREAM=https://api.example.com/v1
patches:
- path: patch.yaml
- patch: |-
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: c
    data:
      url: https://example.com
labels:
- pairs: {team: web}
  fields:
  - path: metadata/annotations
    kind: ConfigMap
    create: true
`),
		"cm.yaml":        []byte(cm),
		"app.properties": []byte("a=b\n"),
		"app.env":        []byte("X=https://example.com\n"),
		"patch.yaml":     []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  p: q\n"),
	}
	var b Builder
	out, err := b.BuildFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"UPSTREAM: https://api.example.com/v1", "url: https://example.com", "X: https://example.com", "p: q"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
}

// TestLoaderOffline: even with the vetting skipped, kustomize's loader cannot
// fetch during a build; outside builds http.DefaultTransport works again.
func TestLoaderOffline(t *testing.T) {
	l := newListener(t)
	fsys := filesys.MakeFsInMemory()
	if err := fsys.WriteFile("/kustomization.yaml", kust(fmt.Sprintf("configMapGenerator:\n- name: g\n  files:\n  - %s/x\n", l.url))); err != nil {
		t.Fatal(err)
	}
	var err error
	offline(func() { _, err = krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, "/") })
	if !errors.Is(err, ErrNetworkInBuild) && (err == nil || !strings.Contains(err.Error(), ErrNetworkInBuild.Error())) {
		t.Fatalf("want the build's fetch refused, got %v", err)
	}
	if n := l.conns.Load(); n != 0 {
		t.Fatalf("%d connection(s) reached the listener during a build", n)
	}
	resp, err := http.Get(l.url + "/after")
	if err != nil {
		t.Fatalf("outside a build http.DefaultTransport must work: %v", err)
	}
	resp.Body.Close()
	if l.conns.Load() == 0 {
		t.Fatal("the request outside a build did not reach the listener")
	}
}

func kust(body string) []byte { return []byte(kustHeader + body) }
