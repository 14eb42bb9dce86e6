package kubetest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/bgrender/bgrender/internal/kubetest"
)

// TestExampleAppStates gives every state of the example apps' cycles
// (testdata/apps/*/states, which cmd/bgrender's TestBringYourOwnApp and
// TestInMeshBackend keep equal to what bgrender commits) to the real
// kube-apiserver as a server-side dry run with strict field validation:
// each object must be one the API server takes.
func TestExampleAppStates(t *testing.T) {
	t.Parallel()
	c := kubetest.Shared(t)
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "apps", "*", "states", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 14 {
		t.Fatalf("%d states in testdata/apps/*/states, want the 7 of each example app", len(paths))
	}
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(filepath.Dir(p))) + "/" + strings.TrimSuffix(filepath.Base(p), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.DryRunYAML(context.Background(), data); err != nil {
				t.Errorf("the API server refuses %s:\n%v", p, err)
			}
		})
	}
}

// TestDryRunRefuses shows that the dry run above can fail: the shapes that
// bgrender once made and the API server refuses.
func TestDryRunRefuses(t *testing.T) {
	t.Parallel()
	c := kubetest.Shared(t)
	deployment := func(container string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata: {name: shapes, namespace: default}
spec:
  selector: {matchLabels: {app: shapes}}
  template:
    metadata: {labels: {app: shapes}}
    spec:
      containers:
` + container
	}
	for name, tc := range map[string]struct{ yaml, want string }{
		"two probe handlers": {deployment(`      - name: web
        image: nginx
        readinessProbe:
          exec: {command: ["true"]}
          httpGet: {path: /, port: 80}
`), "may not specify more than 1 handler type"},
		"two containers of one name": {deployment(`      - {name: web, image: nginx}
      - {name: web, image: nginx}
`), "duplicate entries for key"},
		"unknown field": {deployment(`      - {name: web, image: nginx, imagePullPolicyy: Always}
`), "field not declared in schema"},
		"wrong type": {`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: shapes, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: shapes}
  maxReplicas: "three"
`, "maxReplicas"},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.DryRunYAML(context.Background(), []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one with %q", err, tc.want)
			}
		})
	}
}

// TestGoldenBuilds gives every golden build of pkg/render (testdata/render)
// to the real kube-apiserver, with the Istio and Gateway API CRDs (their CEL
// rules included), as a server-side dry run with strict field validation.
// An HTTPRoute must also come back as it went: bgrender writes every field
// the CRD defaults, or Argo CD and Flux would see the live route differ
// from git.
func TestGoldenBuilds(t *testing.T) {
	t.Parallel()
	c := kubetest.Shared(t)
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "render", "*", "build.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 20 {
		t.Fatalf("%d golden builds, want the Istio and the Gateway API cases", len(paths))
	}
	// The namespace of the namespace-and-hosts case.
	c.Apply(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop-prod}\n")
	routes := 0
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p)), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.DryRunYAML(context.Background(), data); err != nil {
				t.Fatalf("the API server refuses %s:\n%v", p, err)
			}
			for _, doc := range strings.Split(string(data), "\n---\n") {
				if !strings.Contains(doc, "kind: HTTPRoute") {
					continue
				}
				routes++
				var obj map[string]any
				if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
					t.Fatal(err)
				}
				u := &unstructured.Unstructured{Object: obj}
				got, err := c.Dynamic.Resource(httpRoutesGVR).Namespace(u.GetNamespace()).Apply(context.Background(), u.GetName(), u,
					metav1.ApplyOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "bgrender-test", Force: true})
				if err != nil {
					t.Fatal(err)
				}
				sent, _ := json.Marshal(obj["spec"])
				back, _ := json.Marshal(got.Object["spec"])
				if string(sent) != string(back) {
					t.Errorf("the API server defaults the HTTPRoute %s:\n sent %v\n  got %v", u.GetName(), obj["spec"], got.Object["spec"])
				}
			}
		})
	}
	t.Cleanup(func() {
		if routes == 0 && !t.Failed() {
			t.Errorf("no golden build has an HTTPRoute")
		}
	})
}

var httpRoutesGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
