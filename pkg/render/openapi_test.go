package render

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// A Deployment with a sidecar, and a strategic merge patch of its app
// container's image: with the built-in schema the containers merge by
// name, and the sidecar stays.
var sidecarApp = map[string]string{
	"kustomization.yaml": "resources: [deployment.yaml]\npatches:\n- path: patch.yaml\n",
	"deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  template:
    spec:
      containers:
      - {name: app, image: shop:1}
      - {name: proxy, image: envoy:1}
`,
	"patch.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  template:
    spec:
      containers:
      - {name: app, image: shop:2}
`,
}

// customSchemaApp sets its own OpenAPI schema, in which a Deployment's
// containers are an atomic list: its patches replace the list whole.
var customSchemaApp = map[string]string{
	"kustomization.yaml": "resources: [deployment.yaml]\npatches:\n- path: patch.yaml\nopenapi:\n  path: schema.json\n",
	"deployment.yaml":    sidecarApp["deployment.yaml"],
	"patch.yaml":         sidecarApp["patch.yaml"],
	"schema.json": `{"definitions": {"io.k8s.api.apps.v1.Deployment": {
  "type": "object",
  "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}],
  "properties": {"spec": {"type": "object", "properties": {"template": {"type": "object", "properties": {"spec": {"type": "object", "properties": {
    "containers": {"type": "array", "x-kubernetes-list-type": "atomic", "items": {"type": "object"}}}}}}}}}}}}`,
}

func buildMap(t *testing.T, b *Builder, files map[string]string) []byte {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	for p, c := range files {
		if err := fsys.WriteFile("/"+p, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := b.Build(fsys, "/")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenAPISchemaStaysWithItsBuild: an app dir's kustomization may set
// its own OpenAPI schema, which kustomize keeps for the whole process; it
// shapes that build only, never the next app's (check --all builds every
// app of a pull request in one process, one app's author's schema must
// not change what another app's build gives), alone or at once.
func TestOpenAPISchemaStaysWithItsBuild(t *testing.T) {
	var b Builder
	alone := buildMap(t, &b, sidecarApp)
	if !bytes.Contains(alone, []byte("envoy:1")) || !bytes.Contains(alone, []byte("shop:2")) {
		t.Fatalf("with the built-in schema the containers merge:\n%s", alone)
	}
	custom := buildMap(t, &b, customSchemaApp)
	if bytes.Contains(custom, []byte("envoy:1")) {
		t.Fatalf("the custom schema's atomic list did not replace the containers, so this test proves nothing:\n%s", custom)
	}
	if after := buildMap(t, &b, sidecarApp); !bytes.Equal(after, alone) {
		t.Fatalf("after a build with its own schema, another app's build changed:\n%s\nwant:\n%s", after, alone)
	}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		files := sidecarApp
		want := alone
		if i%4 == 0 {
			files, want = customSchemaApp, custom
		}
		wg.Go(func() {
			fsys := filesys.MakeFsInMemory()
			for p, c := range files {
				fsys.WriteFile("/"+p, []byte(c))
			}
			out, err := b.Build(fsys, "/")
			if err != nil || !bytes.Equal(out, want) {
				t.Errorf("build %d at once with others: %v\n%s", i, err, strings.TrimSpace(string(out)))
			}
		})
	}
	wg.Wait()
}
