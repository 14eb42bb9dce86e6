package kubecheck_test

import (
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/kubecheck"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web-blue}
spec:
  selector: {matchLabels: {app: web, color: blue}}
  template:
    metadata: {labels: {app: web, color: blue}}
    spec:
      containers:
      - name: web
        image: web:1
        ports: [{containerPort: 8080}]
        envFrom: [{configMapRef: {name: web-config-blue}}]
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
`

// TestCheck: each broken shape the API server or the cluster would refuse
// is one finding naming the object and the problem; the sound app has none.
func TestCheck(t *testing.T) {
	cm := "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config-blue}\n"
	for _, tc := range []struct {
		name, yaml string
		opts       kubecheck.Options
		want       string
	}{
		{"sound", deployment + cm, kubecheck.Options{}, ""},
		{"two probe handlers", strings.Replace(deployment, "readinessProbe: {httpGet: {path: /ready, port: 8080}}", "readinessProbe: {httpGet: {path: /ready, port: 8080}, exec: {command: [\"true\"]}}", 1) + cm, kubecheck.Options{},
			`Deployment/web-blue: container "web": readinessProbe has 2 handlers (exec, httpGet): it must have exactly one`},
		{"two containers, one name", strings.Replace(deployment, "      - name: web\n", "      - name: web\n        image: x:1\n      - name: web\n", 1) + cm, kubecheck.Options{},
			`container "web": the name is used twice`},
		{"two containers, one port", strings.Replace(deployment, "      containers:\n", "      containers:\n      - name: sidecar\n        image: s:1\n        ports: [{containerPort: 8080}]\n", 1) + cm, kubecheck.Options{},
			`containers "sidecar" and "web" both bind port 8080/TCP`},
		{"unknown field", strings.Replace(deployment, "  selector:", "  replica: 2\n  selector:", 1) + cm, kubecheck.Options{},
			`Deployment/web-blue: the API server would refuse it: unknown field "replica"`},
		{"wrong type", strings.Replace(deployment, "  selector:", "  replicas: two\n  selector:", 1) + cm, kubecheck.Options{},
			`Deployment/web-blue: the API server would refuse it:`},
		{"undeclared ConfigMap", deployment, kubecheck.Options{},
			`container "web" envFrom refers to ConfigMap web-config-blue, which the app does not declare`},
		{"a ConfigMap provided outside git", deployment, kubecheck.Options{ConfigMaps: []string{"web-config-blue"}}, ""},
		{"HPA of a missing Deployment", deployment + cm + "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  maxReplicas: 3\n", kubecheck.Options{},
			"HorizontalPodAutoscaler/web: scaleTargetRef names Deployment web, which the app does not have"},
		{"PDB over both colors", deployment + "---\n" + strings.ReplaceAll(deployment, "blue", "green") + cm + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config-green}\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: web}}\n", kubecheck.Options{},
			"PodDisruptionBudget/web: selects the pods of web-blue and web-green"},
		{"the release's container is gone", deployment + cm, kubecheck.Options{Images: []kubecheck.Image{{Deployment: "web-blue", Container: "podinfod", App: "web", Tag: "1"}}},
			`Deployment/web-blue: no container "podinfod" gets the release's image (tag 1); its containers are web`},
		{"the image went into another container", strings.Replace(deployment, "      containers:\n", "      containers:\n      - name: shipper\n        image: web:2\n", 1) + cm, kubecheck.Options{Images: []kubecheck.Image{{Deployment: "web-blue", Container: "", App: "shipper", Tag: "2"}}},
			""},
		{"the container runs an older tag", deployment + cm, kubecheck.Options{Images: []kubecheck.Image{{Deployment: "web-blue", App: "web", Tag: "2"}}},
			`container "web" runs web:1, but the release is 2`},
		{"a per-color ConfigMap no pod uses", strings.Replace(deployment, "        envFrom: [{configMapRef: {name: web-config-blue}}]\n", "", 1) + cm, kubecheck.Options{},
			"ConfigMap/web-config-blue: no pod of blue refers to it"},
		{"a PDB selecting every pod", deployment + cm + "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web-blue}\nspec:\n  minAvailable: 1\n  selector: {}\n", kubecheck.Options{},
			"PodDisruptionBudget/web-blue: the empty selector selects every pod"},
		{"a PDB by expression", deployment + cm + "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web-blue}\nspec:\n  minAvailable: 1\n  selector: {matchExpressions: [{key: color, operator: In, values: [blue]}]}\n", kubecheck.Options{},
			""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range kubecheck.Check([]byte(tc.yaml), tc.opts) {
				got = append(got, f.Error())
			}
			all := strings.Join(got, "\n")
			if tc.want == "" && len(got) != 0 || tc.want != "" && !strings.Contains(all, tc.want) {
				t.Fatalf("findings:\n%s\nwant %q", all, tc.want)
			}
		})
	}
}

func TestSharedConfig(t *testing.T) {
	built := []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: ca-bundle}
data: {ca.crt: x}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config-blue}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-blue}
spec:
  selector: {matchLabels: {app: web, color: blue}}
  template:
    metadata: {labels: {app: web, color: blue}}
    spec:
      containers:
      - name: web
        image: web:1
        envFrom: [{configMapRef: {name: web-config-blue}}]
      volumes:
      - {name: ca, configMap: {name: ca-bundle}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-green}
spec:
  selector: {matchLabels: {app: web, color: green}}
  template:
    metadata: {labels: {app: web, color: green}}
    spec:
      containers:
      - name: web
        image: web:2
        env: [{name: CA, valueFrom: {configMapKeyRef: {name: ca-bundle, key: ca.crt}}}]
`)
	got := kubecheck.SharedConfig(built)
	if len(got) != 1 || !strings.HasPrefix(got[0], "ConfigMap/ca-bundle (in base/) is read by the pods of blue and green") {
		t.Fatalf("SharedConfig = %q", got)
	}
}
