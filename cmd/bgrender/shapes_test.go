package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// podinfoBothColors adopts testdata/apps/podinfo and leaves 6.7.1 live in
// blue and 6.7.2 under test in green.
func podinfoBothColors(t *testing.T) *env {
	t.Helper()
	_, url := gitopstest.NewRemote(t, "main")
	seedPlainApp(t, url, "podinfo")
	e := newEnvOn(t, url, "apps/podinfo")
	e.run(0, "init", "--adopt", "--name", "podinfo", "--image", "ghcr.io/stefanprodan/podinfo", "--container", "podinfod")
	e.run(0, "deploy", "--version", "6.7.1", "--no-wait")
	e.run(0, "promote", "--force", "--reason", "first release")
	e.run(0, "decommission") // the Deployment podinfo ran before adoption
	e.run(0, "deploy", "--version", "6.7.2", "--no-wait")
	mustBG(t, 0, "--repo", url, "check", "--all")
	return e
}

// edit rewrites one file of the app dir on the remote, replacing old with
// new (old must be there), or adds the file when old is empty.
func edit(t *testing.T, e *env, file, old, new string) {
	t.Helper()
	e.edits(t, "edit "+file, fileEdit{file, old, new})
}

// fileEdit replaces old with new in file of the app dir; an empty old adds
// the file with new as its content.
type fileEdit struct{ file, old, new string }

// edits makes the edits in one commit on the remote's main, as a person
// would by hand; an old text that is not there fails the test, so an edit
// never silently changes nothing.
func (e *env) edits(t *testing.T, message string, edits ...fileEdit) {
	t.Helper()
	files := gitopstest.Files(t, e.url, "main", e.app)
	out := map[string]string{}
	for _, ed := range edits {
		body := ed.new
		if ed.old != "" {
			if !strings.Contains(files[ed.file], ed.old) {
				t.Fatalf("%s lacks %q:\n%s", ed.file, ed.old, files[ed.file])
			}
			body = strings.Replace(files[ed.file], ed.old, ed.new, 1)
		}
		out[e.app+"/"+ed.file] = body
	}
	gitopstest.Seed(t, e.url, "main", out, message)
}

const snapshotDeployment = "overlays/blue/snapshot/template/deployment.yaml"

// TestCheckFindsBrokenShapes: each shape that earlier bgrender made, or
// that a hand edit makes, of an app as teams have them (issue 11's list)
// fails check, and the finding names the object and the problem. Each case
// starts from a sound podinfo with both colors deployed.
func TestCheckFindsBrokenShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		breakIt func(t *testing.T, e *env)
		want    []string
	}{
		{"the image went into a new container", func(t *testing.T, e *env) {
			edit(t, e, "overlays/blue/snapshot/workload-patch.yaml", "- name: podinfod", "- name: podinfo")
		}, []string{
			`Deployment/podinfo-blue: container "podinfod" runs ghcr.io/stefanprodan/podinfo:6.7.0, but the release is 6.7.1`,
			"overlays/blue/snapshot/workload-patch.yaml changed by hand since commit",
		}},
		{"two containers bind one port", func(t *testing.T, e *env) {
			edit(t, e, snapshotDeployment, "      - name: log-shipper\n", "      - name: podinfo\n        image: ghcr.io/stefanprodan/podinfo:6.7.1\n        ports: [{containerPort: 9898}]\n      - name: log-shipper\n")
		}, []string{`Deployment/podinfo-blue: containers "podinfod" and "podinfo" both bind port 9898/TCP`}},
		{"a readiness probe with two handlers", func(t *testing.T, e *env) {
			edit(t, e, snapshotDeployment, "        readinessProbe:\n", "        readinessProbe:\n          httpGet: {path: /readyz, port: 9898}\n")
		}, []string{`Deployment/podinfo-blue: container "podinfod": readinessProbe has 2 handlers (exec, httpGet): it must have exactly one`}},
		{"envFrom lost its ConfigMap", func(t *testing.T, e *env) {
			edit(t, e, snapshotDeployment, "        envFrom:\n        - configMapRef:\n            name: podinfo-config\n", "")
		}, []string{"ConfigMap/podinfo-config-blue: no pod of blue refers to it"}},
		{"a ConfigMap the pods use is missing", func(t *testing.T, e *env) {
			edit(t, e, snapshotDeployment, "            name: podinfo-config\n", "            name: podinfo-settings\n")
		}, []string{`Deployment/podinfo-blue: container "podinfod" envFrom refers to ConfigMap podinfo-settings, which the app does not declare`}},
		{"an HPA in base", func(t *testing.T, e *env) {
			edit(t, e, "base/kustomization.yaml", "- gateway.yaml\n", "- gateway.yaml\n- hpa.yaml\n")
			edit(t, e, "base/hpa.yaml", "", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: podinfo\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n  minReplicas: 2\n  maxReplicas: 4\n")
		}, []string{"HorizontalPodAutoscaler/podinfo: scaleTargetRef names Deployment podinfo, which the app does not have"}},
		{"a PDB in base", func(t *testing.T, e *env) {
			edit(t, e, "base/kustomization.yaml", "- gateway.yaml\n", "- gateway.yaml\n- pdb.yaml\n")
			edit(t, e, "base/pdb.yaml", "", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: podinfo\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels: {app: podinfo}\n")
		}, []string{"PodDisruptionBudget/podinfo: selects the pods of podinfo-blue and podinfo-green"}},
		{"a field the API server does not know", func(t *testing.T, e *env) {
			edit(t, e, snapshotDeployment, "  replicas: 2\n", "  replicas: 2\n  minReadySecond: 5\n")
		}, []string{`Deployment/podinfo-blue: the API server would refuse it: unknown field "minReadySecond"`}},
		{"the live color edited in place", func(t *testing.T, e *env) {
			edit(t, e, "overlays/blue/snapshot/template/configmap.yaml", "greetings from podinfo", "hello from an untested edit")
		}, []string{"overlays/blue/snapshot/template/configmap.yaml changed by hand since commit", "git checkout", "it is live"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := podinfoBothColors(t)
			tc.breakIt(t, e)
			r := e.run(1, "check")
			if strings.Contains(r.stdout, "PodDisruptionBudget/podinfo-blue") && tc.name != "a PDB in base" {
				t.Errorf("a finding that only follows from another:\n%s", r.stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("check does not say %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// TestDeployRefusesBrokenObjects: a template change whose objects the API
// server would refuse is not deployed, and nothing is committed; a problem
// the app already had holds up neither an abort nor a sound deploy.
func TestDeployRefusesBrokenObjects(t *testing.T) {
	t.Parallel()
	e := podinfoBothColors(t)
	edit(t, e, "base/service.yaml", "spec:\n", "spec:\n  publishNotReadyAddress: true\n")
	e.run(1, "check")
	e.run(0, "abort")

	edit(t, e, "per-color/deployment.yaml", "        readinessProbe:\n", "        readinessProbe:\n          httpGet: {path: /readyz, port: 9898}\n")
	head := gitopstest.Head(t, e.url, "main")
	// check, as a pull-request gate, fails on the template before anyone
	// deploys it.
	r := e.run(1, "check")
	if !strings.Contains(r.stdout, `the next deploy (per-color/ and bgrender.yaml as committed, into green) would make Deployment/podinfo-green: container "podinfod": readinessProbe has 2 handlers`) {
		t.Errorf("check on the changed template:\n%s", r.stdout)
	}
	r = e.run(1, "deploy", "--version", "6.7.3", "--no-wait")
	for _, w := range []string{"nothing was committed", `container "podinfod": readinessProbe has 2 handlers`, "per-color/"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("deploy's error lacks %q:\n%s", w, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "Service/podinfo:") {
		t.Errorf("deploy's error lists a problem the app had before:\n%s", r.stderr)
	}
	if got := gitopstest.Head(t, e.url, "main"); got != head {
		t.Fatalf("the remote moved from %s to %s", head, got)
	}
	edit(t, e, "per-color/deployment.yaml", "          httpGet: {path: /readyz, port: 9898}\n", "")
	e.run(0, "deploy", "--version", "6.7.3", "--no-wait")
}

// TestCheckAllGatewayConflict: two apps left at host "*" claim the same
// host and port of the ingress gateway; check --all names both, and each
// passes on its own.
func TestCheckAllGatewayConflict(t *testing.T) {
	t.Parallel()
	a := newEnv(t, "apps/a")
	a.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	newEnvOn(t, a.url, "apps/b").run(0, "init", "--name", "b", "--image", "ghcr.io/acme/b", "--namespace", "team-b")
	mustBG(t, 0, "--repo", a.url, "--app", "apps/a", "check")
	mustBG(t, 0, "--repo", a.url, "--app", "apps/b", "check")
	r := mustBG(t, 1, "--repo", a.url, "-o", "json", "check", "--all")
	var out struct {
		Apps []struct {
			Dir      string   `json:"dir"`
			Findings []string `json:"findings"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Apps) != 2 {
		t.Fatalf("apps: %s", r.stdout)
	}
	for i, other := range []string{"apps/b", "apps/a"} {
		f := strings.Join(out.Apps[i].Findings, "\n")
		if !strings.Contains(f, "host * on port 80 of the ingress gateway istio=ingressgateway, as the Gateway of "+other) || !strings.Contains(f, "init --host") {
			t.Errorf("%s: findings %q", out.Apps[i].Dir, f)
		}
	}
}

// TestCheckNotesSharedConfig: a ConfigMap in base/ that the pods read is
// allowed (a CA bundle may be shared on purpose), and check says that its
// changes skip the gate.
func TestCheckNotesSharedConfig(t *testing.T) {
	t.Parallel()
	e := podinfoBothColors(t)
	edit(t, e, "base/kustomization.yaml", "- gateway.yaml\n", "- gateway.yaml\n- ca.yaml\n")
	edit(t, e, "base/ca.yaml", "", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ca-bundle\ndata:\n  ca.crt: pem\n")
	edit(t, e, "per-color/deployment.yaml", "      - name: data\n        emptyDir: {}\n", "      - name: data\n        emptyDir: {}\n      - name: ca\n        configMap:\n          name: ca-bundle\n")
	e.run(0, "deploy", "--version", "6.7.3", "--no-wait", "--replace")
	r := e.run(0, "check")
	if !strings.Contains(r.stderr, "ConfigMap/ca-bundle (in base/) is read by the pods of green") || !strings.Contains(r.stderr, "move it to per-color/") {
		t.Errorf("check:\n%s\n%s", r.stdout, r.stderr)
	}
}
