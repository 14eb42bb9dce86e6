package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/render"
)

// seedPlainApp puts testdata/apps/NAME/plain on the remote as apps/NAME: a
// kustomize app as a team has it before bgrender.
func seedPlainApp(t *testing.T, url, name string) {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join("..", "..", "testdata", "apps", name, "plain")
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(root, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files["apps/"+name+"/"+e.Name()] = string(b)
	}
	gitopstest.Seed(t, url, "main", files, name+" as it was")
}

// colorObjects are the built objects of one color (those named *-<color>,
// the routes aside), as YAML text by kind/name.
func colorObjects(t *testing.T, e *env, color string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, n := range e.built() {
		if kind := n.GetKind(); kind != "VirtualService" && kind != "DestinationRule" && strings.HasSuffix(n.GetName(), "-"+color) {
			s, err := n.String()
			if err != nil {
				t.Fatal(err)
			}
			out[k] = s
		}
	}
	return out
}

func sameObjects(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func fieldOf(t *testing.T, n *yaml.RNode, path string) string {
	t.Helper()
	v, _ := n.GetString(path)
	return v
}

// TestBringYourOwnApp runs the whole cycle on podinfo, an app as teams have
// them (a sidecar, exec probes, envFrom a ConfigMap, an HPA, a PDB, a
// ServiceAccount): adopt, deploy, promote, a template and ConfigMap change
// deployed and promoted, rollback, decommission. At each step the objects
// are what the API server would take, and the live color's objects change
// only by a deploy into that color.
func TestBringYourOwnApp(t *testing.T) {
	t.Parallel()
	_, url := gitopstest.NewRemote(t, "main")
	seedPlainApp(t, url, "podinfo")
	e := newEnvOn(t, url, "apps/podinfo")
	r := e.run(0, "init", "--adopt", "--name", "podinfo", "--image", "ghcr.io/stefanprodan/podinfo", "--container", "podinfod")
	for _, w := range []string{"deployment.yaml -> per-color/deployment.yaml", "configmap.yaml -> per-color/configmap.yaml", "hpa.yaml -> per-color/hpa.yaml", "pdb.yaml -> per-color/pdb.yaml", "service.yaml -> base/service.yaml", "serviceaccount.yaml -> base/serviceaccount.yaml"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("adopt's output lacks %q:\n%s", w, r.stdout)
		}
	}
	cfg := gitopstest.Files(t, url, "main", "apps/podinfo")["bgrender.yaml"]
	if !strings.Contains(cfg, "port: 9898") || !strings.Contains(cfg, "container: podinfod") {
		t.Errorf("adopted bgrender.yaml:\n%s", cfg)
	}
	checkAll := func() { t.Helper(); mustBG(t, 0, "--repo", url, "check", "--all") }
	checkAll()
	states := newGoldenStates(e, "podinfo")
	states.step("adopted")

	e.run(0, "deploy", "--version", "6.7.0", "--no-wait")
	states.step("deployed-blue")
	e.run(0, "promote", "--force", "--reason", "first release")
	checkAll()
	states.step("promoted-blue")
	objs := e.built()
	d := objs["Deployment/podinfo-blue"]
	if d == nil {
		t.Fatalf("no Deployment podinfo-blue: %v", gitopstest.Paths(map[string]string{}))
	}
	if got := fieldOf(t, d, "spec.template.spec.containers.[name=podinfod].image"); got != "ghcr.io/stefanprodan/podinfo:6.7.0" {
		t.Errorf("podinfod runs %q", got)
	}
	if got := fieldOf(t, d, "spec.template.spec.containers.[name=log-shipper].image"); got != "fluent/fluent-bit:3.1.9" {
		t.Errorf("the sidecar runs %q", got)
	}
	containers, _ := d.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
	if items, _ := containers.Elements(); len(items) != 2 {
		t.Errorf("%d containers, want podinfod and log-shipper", len(items))
	}
	probe, _ := d.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name=podinfod]", "readinessProbe"))
	if probe == nil || probe.Field("exec") == nil || probe.Field("httpGet") != nil {
		t.Errorf("readinessProbe: %v, want the template's exec alone", probe.MustString())
	}
	envFrom, _ := d.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name=podinfod]", "envFrom"))
	if envFrom == nil || !strings.Contains(envFrom.MustString(), "name: podinfo-config-blue") {
		t.Errorf("envFrom does not name the color's ConfigMap:\n%s", d.MustString())
	}
	if got := fieldOf(t, objs["HorizontalPodAutoscaler/podinfo-blue"], "spec.scaleTargetRef.name"); got != "podinfo-blue" {
		t.Errorf("the HPA targets %q", got)
	}
	if got := fieldOf(t, objs["PodDisruptionBudget/podinfo-blue"], "spec.selector.matchLabels.color"); got != "blue" {
		t.Errorf("the PDB selects color %q", got)
	}
	if objs["ConfigMap/podinfo-config-blue"] == nil || objs["ServiceAccount/podinfo"] == nil {
		t.Errorf("objects: %v", keys(objs))
	}
	blue := colorObjects(t, e, "blue")

	// A change of the template and of its ConfigMap, by hand, as a team
	// would make it: it reaches no color until a deploy takes it.
	e.edits(t, "podinfo: debug logs and a new message",
		fileEdit{"per-color/configmap.yaml", "greetings from podinfo", "hello from the new config"},
		fileEdit{"per-color/deployment.yaml", "--level=info", "--level=debug"})
	if !sameObjects(blue, colorObjects(t, e, "blue")) {
		t.Fatal("a template change reached the live color without a deploy")
	}
	c := mustBG(t, 0, "--repo", url, "check", "--all")
	st := e.status()
	if !strings.Contains(c.stderr, "per-color/ or bgrender.yaml changed since blue 6.7.0") || !strings.Contains(st.Unreleased, "deploy --version 6.7.0") {
		t.Errorf("check's notes:\n%s\nstatus: %q", c.stderr, st.Unreleased)
	}

	e.run(0, "deploy", "--version", "6.7.0", "--no-wait") // a config-only release
	checkAll()
	states.step("deployed-config-change-green")
	objs = e.built()
	if got := fieldOf(t, objs["ConfigMap/podinfo-config-green"], "data.PODINFO_UI_MESSAGE"); got != "hello from the new config" {
		t.Errorf("green's ConfigMap: %q", got)
	}
	if !sameObjects(blue, colorObjects(t, e, "blue")) {
		t.Fatal("a deploy into green changed blue's objects")
	}
	st = e.status()
	if !strings.Contains(st.Unreleased, "green 6.7.0") || !strings.Contains(st.Unreleased, "promote") {
		t.Errorf("status while the change is under test: %q", st.Unreleased)
	}
	e.run(0, "promote", "--force", "--reason", "config change tested")
	states.step("promoted-green")
	green := colorObjects(t, e, "green")
	if e.status().Unreleased != "" || !sameObjects(blue, colorObjects(t, e, "blue")) {
		t.Errorf("after the promote: unreleased %q, blue unchanged %v", e.status().Unreleased, sameObjects(blue, colorObjects(t, e, "blue")))
	}
	e.run(0, "rollback")
	checkAll()
	states.step("rolled-back-blue")
	if b, g := colorObjects(t, e, "blue"), colorObjects(t, e, "green"); !sameObjects(blue, b) || !sameObjects(green, g) {
		for k := range g {
			if g[k] != green[k] {
				t.Logf("%s:\n%s\nwas:\n%s", k, g[k], green[k])
			}
		}
		t.Fatal("a rollback changed a color's objects")
	}
	e.run(0, "decommission")
	checkAll()
	states.step("decommissioned-green")
	states.done()
	if len(colorObjects(t, e, "green")) != 0 || !sameObjects(blue, colorObjects(t, e, "blue")) {
		t.Fatalf("after decommission: green %v", keys(e.built()))
	}
}

// TestInMeshBackend runs the cycle on reviews, a backend only pods of the
// mesh call: adopted with --bind mesh, it has one VirtualService, for the
// Service's names on the mesh, and no Gateway.
func TestInMeshBackend(t *testing.T) {
	t.Parallel()
	_, url := gitopstest.NewRemote(t, "main")
	seedPlainApp(t, url, "reviews")
	e := newEnvOn(t, url, "apps/reviews")
	e.run(0, "init", "--adopt", "--name", "reviews", "--image", "docker.io/istio/examples-bookinfo-reviews-v1", "--bind", "mesh")
	states := newGoldenStates(e, "reviews")
	states.step("adopted")
	e.run(0, "deploy", "--version", "1.20.2", "--no-wait")
	states.step("deployed-blue")
	e.run(0, "promote", "--force", "--reason", "first")
	states.step("promoted-blue")
	e.run(0, "deploy", "--version", "1.20.3", "--no-wait")
	states.step("deployed-green")
	mustBG(t, 0, "--repo", url, "check", "--all")
	objs := e.built()
	vs := objs["VirtualService/reviews-blue-green"]
	if vs == nil || objs["Gateway/reviews-gateway"] != nil {
		t.Fatalf("objects: %v", keys(objs))
	}
	if h := vs.MustString(); !strings.Contains(h, "- reviews\n") || !strings.Contains(h, "- reviews.default.svc.cluster.local") || !strings.Contains(h, "- mesh") {
		t.Errorf("the VirtualService:\n%s", h)
	}
	if got := fieldOf(t, objs["Deployment/reviews-green"], "spec.template.spec.containers.[name=reviews].image"); got != "docker.io/istio/examples-bookinfo-reviews-v1:1.20.3" {
		t.Errorf("green runs %q", got)
	}
	e.run(0, "promote", "--force", "--reason", "second")
	states.step("promoted-green")
	green := colorObjects(t, e, "green")

	// A change of the template and of the ConfigMap it mounts, released
	// into blue as a config-only release and promoted.
	e.edits(t, "reviews: red stars, logs elsewhere",
		fileEdit{"per-color/configmap.yaml", "STAR_COLOR: black", "STAR_COLOR: red"},
		fileEdit{"per-color/deployment.yaml", "value: /tmp/logs", "value: /tmp/reviews-logs"})
	if !sameObjects(green, colorObjects(t, e, "green")) {
		t.Fatal("a template change reached the live color without a deploy")
	}
	e.run(0, "deploy", "--version", "1.20.3", "--no-wait")
	states.step("deployed-config-change-blue")
	objs = e.built()
	if got := fieldOf(t, objs["ConfigMap/reviews-settings-blue"], "data.STAR_COLOR"); got != "red" {
		t.Errorf("blue's ConfigMap: STAR_COLOR %q", got)
	}
	d := objs["Deployment/reviews-blue"]
	if got := fieldOf(t, d, "spec.template.spec.volumes.[name=settings].configMap.name"); got != "reviews-settings-blue" {
		t.Errorf("blue mounts ConfigMap %q", got)
	}
	if got := fieldOf(t, d, "spec.template.spec.containers.[name=reviews].env.[name=STAR_COLOR].valueFrom.configMapKeyRef.name"); got != "reviews-settings-blue" {
		t.Errorf("blue's STAR_COLOR comes from ConfigMap %q", got)
	}
	if !sameObjects(green, colorObjects(t, e, "green")) {
		t.Fatal("a deploy into blue changed green's objects")
	}
	e.run(0, "promote", "--force", "--reason", "config change tested")
	states.step("promoted-blue-again")
	e.run(0, "rollback")
	states.step("rolled-back-green")
	if !sameObjects(green, colorObjects(t, e, "green")) {
		t.Fatal("a rollback changed green's objects")
	}
	e.run(0, "decommission")
	states.step("decommissioned-blue")
	states.done()
	mustBG(t, 0, "--repo", url, "check", "--all")
	if objs := e.built(); objs["Deployment/reviews"] != nil || objs["Deployment/reviews-blue"] != nil || objs["Deployment/reviews-green"] == nil {
		t.Errorf("after decommission: %v", keys(objs))
	}
}

func keys(m map[string]*yaml.RNode) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

var updateStates = flag.Bool("update", false, "rewrite the golden states in testdata/apps/*/states")

// releaseIDs matches the release ids bgrender makes (they hash the time).
var releaseIDs = regexp.MustCompile(`\br-[0-9a-f]{10}\b`)

// goldenStates compares what an example app builds to at each step of its
// cycle with testdata/apps/NAME/states/NN-STEP.yaml, the files that
// internal/kubetest's TestExampleAppStates gives to the real kube-apiserver.
// Release ids, which hash the time, become r-release1, r-release2… in the
// order they first appear. go test ./cmd/bgrender -run 'BringYourOwnApp|InMeshBackend' -update
// rewrites them.
type goldenStates struct {
	e   *env
	dir string
	n   int
	ids map[string]string
}

func newGoldenStates(e *env, name string) *goldenStates {
	dir := filepath.Join("..", "..", "testdata", "apps", name, "states")
	if *updateStates {
		if err := os.RemoveAll(dir); err != nil {
			e.t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			e.t.Fatal(err)
		}
	}
	return &goldenStates{e: e, dir: dir, ids: map[string]string{}}
}

func (g *goldenStates) step(name string) {
	g.e.t.Helper()
	out := releaseIDs.ReplaceAllStringFunc(string(g.e.buildOutput()), func(id string) string {
		if _, ok := g.ids[id]; !ok {
			g.ids[id] = fmt.Sprintf("r-release%d", len(g.ids)+1)
		}
		return g.ids[id]
	})
	path := filepath.Join(g.dir, fmt.Sprintf("%02d-%s.yaml", g.n, name))
	g.n++
	header := "# " + filepath.Base(filepath.Dir(g.dir)) + " after " + name + ": the kustomize build of the app dir\n" +
		"# (cmd/bgrender's TestBringYourOwnApp/TestInMeshBackend write it with -update).\n"
	if *updateStates {
		if err := os.WriteFile(path, []byte(header+out), 0o644); err != nil {
			g.e.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		g.e.t.Fatalf("%v (rewrite the states with -update)", err)
	}
	if string(want) != header+out {
		g.e.t.Errorf("%s: the build differs from the golden state (rewrite with -update if intended):\n%s", path, out)
	}
}

// done checks that no golden state is left from a longer cycle.
func (g *goldenStates) done() {
	g.e.t.Helper()
	ents, err := os.ReadDir(g.dir)
	if err != nil {
		g.e.t.Fatal(err)
	}
	if len(ents) != g.n {
		g.e.t.Errorf("%s holds %d states, the cycle made %d (rewrite with -update)", g.dir, len(ents), g.n)
	}
}

// TestRunFromInsideTheRepo runs bgrender as a person does, from a directory
// inside a checkout: the repo root is found as git finds it, and the app dir
// is taken from the working directory when --app is not given.
func TestRunFromInsideTheRepo(t *testing.T) {
	_, url := gitopstest.NewRemote(t, "main")
	seedPlainApp(t, url, "podinfo")
	checkout := gitopstest.Clone(t, url)
	appDir := filepath.Join(checkout, "apps", "podinfo")
	t.Chdir(appDir)
	r := mustBG(t, 0, "init", "--adopt", "--name", "podinfo", "--image", "ghcr.io/stefanprodan/podinfo", "--container", "podinfod")
	if !strings.Contains(r.stdout, "apps/podinfo") {
		t.Errorf("init from apps/podinfo:\n%s", r.stdout)
	}
	cfg := gitopstest.Files(t, url, "main", "apps/podinfo")["bgrender.yaml"]
	if !strings.Contains(cfg, "container: podinfod") {
		t.Fatalf("init did not reach the remote's apps/podinfo:\n%s", cfg)
	}
	if _, err := os.Stat(filepath.Join(checkout, "bgrender.yaml")); err == nil {
		t.Fatal("init wrote bgrender.yaml at the repo root")
	}
	gitopstest.Git(t, checkout, "pull", "-q", "--ff-only")
	mustBG(t, 0, "deploy", "--version", "6.7.0", "--no-wait")
	// From a folder below the app dir, and with -o json.
	t.Chdir(filepath.Join(appDir, "per-color"))
	var st statusOut
	if err := json.Unmarshal([]byte(mustBG(t, 0, "-o", "json", "status").stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.App != "podinfo" || st.Test == nil || st.Test.Version != "6.7.0" {
		t.Errorf("status from apps/podinfo/per-color: %+v", st)
	}
	// --app stays relative to the repo root, wherever bgrender runs.
	t.Chdir(filepath.Join(checkout, "apps"))
	if r := mustBG(t, 0, "--app", "apps/podinfo", "status"); !strings.Contains(r.stdout, "6.7.0") {
		t.Errorf("status --app apps/podinfo from apps/:\n%s", r.stdout)
	}
	// Outside any checkout, the error says what to do.
	t.Chdir(t.TempDir())
	if r := mustBG(t, 1, "status"); !strings.Contains(r.stderr, "is not inside a git checkout") {
		t.Errorf("status outside a checkout:\n%s", r.stderr)
	}
}

// TestSharedComponents adopts an app whose kustomization uses a component
// kept elsewhere in the env repo, as platform teams share them: it builds
// as kubectl kustomize builds it, through the whole cycle, and a path that
// leads out of the repo is refused, naming the file by its repo path.
func TestSharedComponents(t *testing.T) {
	t.Parallel()
	remote, url := gitopstest.NewRemote(t, "main")
	seedPlainApp(t, url, "podinfo")
	plain := gitopstest.Files(t, url, "main", "apps/podinfo")["kustomization.yaml"]
	gitopstest.Seed(t, url, "main", map[string]string{
		"apps/podinfo/kustomization.yaml": plain + "components:\n- ../../components/common\n",
		"components/common/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n" +
			"labels:\n- pairs:\n    team: shop\ncomponents:\n- ../annotations\n",
		"components/annotations/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n" +
			"commonAnnotations:\n  owner: platform-team\n",
	}, "podinfo uses the shared components")
	e := newEnvOn(t, url, "apps/podinfo")
	r := e.run(0, "init", "--adopt", "--name", "podinfo", "--image", "ghcr.io/stefanprodan/podinfo", "--container", "podinfod")
	if !strings.Contains(gitopstest.Files(t, url, "main", "apps/podinfo")["base/kustomization.yaml"], "- ../../../components/common") {
		t.Fatalf("base/kustomization.yaml does not reach the component from its new place:\n%s", r.stdout)
	}
	e.run(0, "deploy", "--version", "6.7.0", "--no-wait")
	mustBG(t, 0, "--repo", url, "check", "--all")

	built := func() string {
		t.Helper()
		files, shared := render.Files{}, render.Files{}
		for p, s := range gitopstest.Files(t, url, "main", "apps/podinfo") {
			files[p] = []byte(s)
		}
		for p, s := range gitopstest.Files(t, url, "main", "components") {
			shared["components/"+p] = []byte(s)
		}
		var b render.Builder
		out, err := b.BuildShared("apps/podinfo", files, shared)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	out := built()
	if !strings.Contains(out, "name: podinfo-blue") || strings.Count(out, "team: shop") < 3 || !strings.Contains(out, "owner: platform-team") {
		t.Fatalf("the components did not apply to the build:\n%s", out)
	}
	e.run(0, "promote", "--force", "--reason", "ok")
	e.run(0, "deploy", "--version", "6.7.1", "--no-wait")
	mustBG(t, 0, "--repo", url, "check", "--all")

	// A render in a checkout reads the components from its working tree.
	checkout := gitopstest.Clone(t, url)
	var rendered struct{ Changed bool }
	if err := json.Unmarshal([]byte(mustBG(t, 0, "--repo", checkout, "--app", "apps/podinfo", "-o", "json", "--dry-run", "render").stdout), &rendered); err != nil || rendered.Changed {
		t.Errorf("render in a checkout: %v, changed %v", err, rendered.Changed)
	}
	if err := os.RemoveAll(filepath.Join(checkout, "components", "annotations")); err != nil {
		t.Fatal(err)
	}
	if r := mustBG(t, 1, "--repo", checkout, "--app", "apps/podinfo", "--dry-run", "render"); !strings.Contains(r.stderr, `components/common/kustomization.yaml: components[0] "../annotations": no such file or directory`) {
		t.Errorf("render without the component it uses:\n%s", r.stderr)
	}
	// A shared dir reached through a symbolic link (here: one leading out
	// of the checkout) is refused, not read.
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "kustomization.yaml"), []byte("kind: Component\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(checkout, "components")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(checkout, "components"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(checkout, "components", "common")); err != nil {
		t.Fatal(err)
	}
	if r := mustBG(t, 1, "--repo", checkout, "--app", "apps/podinfo", "--dry-run", "render"); !strings.Contains(r.stderr, "components/common, which apps/podinfo's kustomizations use, is reached through the symbolic link") {
		t.Errorf("render through a symbolic link:\n%s", r.stderr)
	}

	// A pull request whose base reaches out of the repo.
	files := gitopstest.Files(t, url, "main", "apps/podinfo")
	gitIn(t, remote, "branch", "evil", "main")
	gitopstest.Seed(t, url, "evil", map[string]string{
		"apps/podinfo/base/kustomization.yaml": strings.Replace(files["base/kustomization.yaml"], "../../../components/common", "../../../../../../../etc", 1),
	}, "evil")
	c := mustBG(t, 1, "--repo", url, "--branch", "evil", "check", "--all")
	if !strings.Contains(c.stdout+c.stderr, `apps/podinfo/base/kustomization.yaml: components[0] "../../../../../../../etc": outside the repo`) {
		t.Errorf("check on a path out of the repo:\n%s%s", c.stdout, c.stderr)
	}
}

// ordinaryTraffic says where requests without the test cookie go in a build:
// through each VirtualService's last, match-less rule to a subset, or, with
// no VirtualService, through the Service to every pod it selects. It fails
// the test if that leads to no Deployment's pods: users would get no answer.
// (It stands in for Istio's routing: a subset's endpoints are the pods with
// its labels, a Service's the pods its selector matches.)
func ordinaryTraffic(t *testing.T, label string, objs map[string]*yaml.RNode) []string {
	t.Helper()
	podsWith := func(want map[string]string) []string {
		var names []string
		for k, o := range objs {
			if o.GetKind() != "Deployment" {
				continue
			}
			labels, _ := o.Pipe(yaml.Lookup("spec", "template", "metadata", "labels"))
			ok := labels != nil
			for lk, lv := range want {
				if ok {
					v, _ := labels.Pipe(yaml.Lookup(lk))
					ok = v != nil && yaml.GetValue(v) == lv
				}
			}
			if ok {
				names = append(names, strings.TrimPrefix(k, "Deployment/"))
			}
		}
		sort.Strings(names)
		return names
	}
	var out []string
	found := false
	for k, vs := range objs {
		if !strings.HasPrefix(k, "VirtualService/") {
			continue
		}
		found = true
		rules, _ := vs.Pipe(yaml.Lookup("spec", "http"))
		items, _ := rules.Elements()
		last := items[len(items)-1]
		if m, _ := last.Pipe(yaml.Lookup("match")); m != nil {
			t.Errorf("%s: %s: every rule matches something: ordinary requests get a 404", label, k)
			continue
		}
		subset := fieldOf(t, last, "route.[subset=*].destination.subset")
		if subset == "" {
			r, _ := last.Pipe(yaml.Lookup("route"))
			els, _ := r.Elements()
			subset = fieldOf(t, els[0], "destination.subset")
		}
		pods := podsWith(map[string]string{"app": "podinfo", "color": subset})
		if len(pods) == 0 {
			t.Errorf("%s: %s sends ordinary requests to subset %q, which has no pods", label, k, subset)
		}
		out = append(out, k+" -> "+strings.Join(pods, ","))
	}
	if !found {
		pods := podsWith(map[string]string{"app": "podinfo"})
		if len(pods) == 0 {
			t.Errorf("%s: no VirtualService, and the Service selects no pods", label)
		}
		out = append(out, "Service -> "+strings.Join(pods, ","))
	}
	sort.Strings(out)
	return out
}

// TestLiveTakeover takes over podinfo while it serves: at every commit from
// the adoption to the end, ordinary requests reach pods that run, and until
// the first promote those are the Deployment podinfo ran before bgrender.
// A rollback goes back to it; decommission removes it.
func TestLiveTakeover(t *testing.T) {
	t.Parallel()
	_, url := gitopstest.NewRemote(t, "main")
	seedPlainApp(t, url, "podinfo")
	e := newEnvOn(t, url, "apps/podinfo")
	oldDeployment := func() string {
		n := e.built()["Deployment/podinfo"]
		if n == nil {
			t.Fatal("no Deployment podinfo")
		}
		sel, _ := n.Pipe(yaml.Lookup("spec", "selector"))
		c, _ := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
		return sel.MustString() + c.MustString()
	}()
	r := e.run(0, "init", "--adopt", "--name", "podinfo", "--image", "ghcr.io/stefanprodan/podinfo", "--container", "podinfod")
	if !strings.Contains(r.stdout, "overlays/adopted/") {
		t.Errorf("adopt does not say what it keeps serving:\n%s", r.stdout)
	}
	objs := e.built()
	d := objs["Deployment/podinfo"]
	if d == nil || objs["ConfigMap/podinfo-config"] == nil || objs["HorizontalPodAutoscaler/podinfo"] == nil {
		t.Fatalf("the adopted workload is not kept: %v", keys(objs))
	}
	sel, _ := d.Pipe(yaml.Lookup("spec", "selector"))
	c, _ := d.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
	if sel.MustString()+c.MustString() != oldDeployment {
		t.Errorf("the adopted Deployment's selector or containers changed:\n%s", d.MustString())
	}
	if got := fieldOf(t, objs["PodDisruptionBudget/podinfo"], "spec.selector.matchLabels.color"); got != "adopted" {
		t.Errorf("the adopted PDB selects color %q", got)
	}
	if r := e.run(0, "status"); !strings.Contains(r.stdout, "route:   no route yet: the Service reaches the adopted Deployment podinfo as before") {
		t.Errorf("status after adopting:\n%s", r.stdout)
	}
	r = e.run(0, "deploy", "--version", "6.7.0", "--no-wait")
	if !strings.Contains(r.stdout, "default -> the adopted Deployment podinfo") {
		t.Errorf("deploy while taking over:\n%s", r.stdout)
	}
	if st := e.status(); st.Adopted == "" || !strings.Contains(st.Adopted, "serves") {
		t.Errorf("status while taking over: adopted %q", st.Adopted)
	}
	e.run(0, "promote", "--force", "--reason", "takeover")
	if got := ordinaryTraffic(t, "promoted", e.built()); !reflect.DeepEqual(got, []string{"VirtualService/podinfo-blue-green -> podinfo-blue", "VirtualService/podinfo-blue-green-mesh -> podinfo-blue"}) {
		t.Errorf("after the promote: %v", got)
	}
	r = e.run(0, "rollback")
	if got := ordinaryTraffic(t, "rolled back", e.built()); !reflect.DeepEqual(got, []string{"VirtualService/podinfo-blue-green -> podinfo", "VirtualService/podinfo-blue-green-mesh -> podinfo"}) {
		t.Errorf("after the rollback: %v\n%s", got, r.stdout)
	}
	if st := e.status(); st.Test == nil || st.Test.Version != "6.7.0" || st.Active != nil {
		t.Errorf("after the rollback to the adopted Deployment: %+v", st)
	}
	if r := e.run(3, "decommission"); !strings.Contains(r.stderr, "the adopted Deployment podinfo takes all traffic until a release is promoted") {
		t.Errorf("decommission while the adopted Deployment serves:\n%s", r.stderr)
	}
	e.run(0, "promote", "--force", "--reason", "again")
	e.run(0, "decommission")
	objs = e.built()
	if objs["Deployment/podinfo"] != nil || objs["ConfigMap/podinfo-config"] != nil || objs["Deployment/podinfo-blue"] == nil {
		t.Errorf("after decommission: %v", keys(objs))
	}
	if st := e.status(); st.Adopted != "" {
		t.Errorf("status after decommission: adopted %q", st.Adopted)
	}

	// Every commit, oldest first: where ordinary requests went.
	log := e.log()
	var seen []string
	for i := len(log) - 1; i >= 0; i-- {
		objs := e.builtAt(log[i].Hash.String())
		subject := strings.SplitN(log[i].Message, "\n", 2)[0]
		seen = append(seen, subject+": "+strings.Join(ordinaryTraffic(t, subject, objs), "; "))
	}
	t.Logf("ordinary requests, commit by commit:\n%s", strings.Join(seen, "\n"))
	for _, s := range seen {
		if strings.Contains(s, "deploy") && !strings.Contains(s, "promote") && strings.Contains(s, "-> podinfo-blue") && !strings.Contains(s, "rollback") {
			t.Errorf("a deploy commit sends ordinary requests to the release under test: %s", s)
		}
	}
}

// TestAdoptedEditedByHand: what init --adopt keeps serving changes only by
// decommission; an edit of it is found, and no transition commits over it.
func TestAdoptedEditedByHand(t *testing.T) {
	t.Parallel()
	_, url := gitopstest.NewRemote(t, "main")
	seedPlainApp(t, url, "podinfo")
	e := newEnvOn(t, url, "apps/podinfo")
	e.run(0, "init", "--adopt", "--name", "podinfo", "--image", "ghcr.io/stefanprodan/podinfo", "--container", "podinfod")
	files := gitopstest.Files(t, url, "main", "apps/podinfo")
	gitopstest.Seed(t, url, "main", map[string]string{
		"apps/podinfo/overlays/adopted/deployment.yaml": strings.Replace(files["overlays/adopted/deployment.yaml"], "--level=info", "--level=debug", 1),
	}, "an untested edit")
	head := e.head()
	want := "overlays/adopted is not what init --adopt kept of the adopted Deployment podinfo"
	if r := e.run(1, "check"); !strings.Contains(r.stdout+r.stderr, want) {
		t.Errorf("check:\n%s%s", r.stdout, r.stderr)
	}
	if r := bg(t, "--repo", url, "--app", "apps/podinfo", "deploy", "--version", "6.7.0", "--no-wait"); r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("deploy over the edit: exit %d\n%s", r.code, r.stderr)
	}
	if e.head() != head {
		t.Error("a refused deploy changed the remote")
	}
}
