package kubetest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
