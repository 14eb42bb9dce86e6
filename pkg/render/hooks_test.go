package render

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
)

// TestHookJobInheritsTheColor: the Job of a hook run for the release under
// test refers to that color's own ConfigMaps, Secrets and ServiceAccount
// (suffixed as the color's kustomization suffixes them) and to the shared
// ones as they are, and the real kustomize build holds exactly one Job.
func TestHookJobInheritsTheColor(t *testing.T) {
	cfg := config.Default("myapp", "ghcr.io/acme/myapp")
	cfg.Hooks = []config.Hook{{Name: "migrate", When: config.HookAfterDeploy, Command: []string{"npm", "run", "migrate"}}}
	files, err := Scaffold(cfg)
	if err != nil {
		t.Fatal(err)
	}
	files["per-color/kustomization.yaml"] = []byte("resources: [deployment.yaml, config.yaml]\n")
	files["per-color/config.yaml"] = []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {LOG_LEVEL: info}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner}
`)
	files["per-color/deployment.yaml"] = []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: myapp}
spec:
  selector: {matchLabels: {app: myapp}}
  template:
    metadata: {labels: {app: myapp}}
    spec:
      serviceAccountName: runner
      imagePullSecrets: [{name: regcred}]
      containers:
      - name: myapp
        image: ghcr.io/acme/myapp
        envFrom: [{configMapRef: {name: app-config}}]
        env:
        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
        - {name: RUNNER, value: runner}
        volumeMounts: [{name: conf, mountPath: /etc/app}]
      volumes: [{name: conf, configMap: {name: app-config}}]
`)
	s := steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), func(s state.State) (state.State, error) { return state.RunHook(s, "migrate") })
	owned, _, err := Render(cfg, files, state.New("myapp"), s)
	if err != nil {
		t.Fatal(err)
	}
	for p, b := range owned {
		files[p] = b
	}
	var b Builder
	built, err := b.BuildFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := kio.FromBytes(built)
	if err != nil {
		t.Fatal(err)
	}
	var job *yaml.RNode
	for _, n := range nodes {
		if n.GetKind() == "Job" {
			if job != nil {
				t.Fatalf("two Jobs in the build")
			}
			job = n
		}
	}
	if job == nil || job.GetName() != "myapp-migrate-r-aaaaaaaa" {
		t.Fatalf("Job %v, want myapp-migrate-r-aaaaaaaa", job)
	}
	for path, want := range map[string]string{
		"spec.template.spec.serviceAccountName":                                                           "runner-blue",
		"spec.template.spec.imagePullSecrets.[name=regcred].name":                                         "regcred",
		"spec.template.spec.containers.[name=migrate].envFrom.[=].configMapRef.name":                      "app-config-blue",
		"spec.template.spec.containers.[name=migrate].env.[name=DB_PASSWORD].valueFrom.secretKeyRef.name": "db",
		"spec.template.spec.containers.[name=migrate].env.[name=RUNNER].value":                            "runner",
		"spec.template.spec.volumes.[name=conf].configMap.name":                                           "app-config-blue",
		"spec.template.spec.containers.[name=migrate].image":                                              "ghcr.io/acme/myapp:v1",
	} {
		if got := value(t, job, strings.Split(path, ".")...); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	// The names the Job refers to are the build's.
	names := map[string]bool{}
	for _, n := range nodes {
		names[n.GetKind()+"/"+n.GetName()] = true
	}
	for _, want := range []string{"ConfigMap/app-config-blue", "ServiceAccount/runner-blue"} {
		if !names[want] {
			t.Errorf("the build has no %s for the Job to use", want)
		}
	}

	files["per-color/kustomization.yaml"] = []byte("resources: [deployment.yaml]\nconfigMapGenerator: [{name: app-config, literals: [A=1]}]\n")
	if _, _, err := Render(cfg, files, state.New("myapp"), s); err == nil || !strings.Contains(err.Error(), "configMapGenerator") {
		t.Errorf("a template with generators: %v", err)
	}
}

func TestHookJobName(t *testing.T) {
	if got := HookJobName("shop", "migrate", "r-3f9a2c1d0e", 1); got != "shop-migrate-r-3f9a2c1d0e" {
		t.Errorf("first run: %s", got)
	}
	if got := HookJobName("shop", "migrate", "r-3f9a2c1d0e", 2); got != "shop-migrate-r-3f9a2c1d0e-2" {
		t.Errorf("second run: %s", got)
	}
	app, hook := strings.Repeat("a", 30), strings.Repeat("m", 21) // 52: the longest config allows
	long := HookJobName(app, hook, "r-3f9a2c1d0e", 12)
	if len(long) > 63 || !strings.HasPrefix(long, app+"-"+hook+"-") || long == HookJobName(app, hook, "r-3f9a2c1d0e", 13) {
		t.Errorf("long names: %s (%d), must fit 63 and differ per run", long, len(long))
	}
}
