package main

// The CI recipes under docs/recipes are run here, not only parsed. A small
// runner takes a GitHub Actions job's steps or a GitLab CI job's script and
// runs them with bash, as the CI would, against a real env repo (a bare
// repository, served over smart HTTP with token auth where the job pushes),
// after substituting the ${{ ... }} expressions from a map that fails on
// any expression it does not know, so that the recipes and these tests
// cannot drift apart silently.
//
// What stands in for what:
//   - actions/setup-go and the golang image: a fake `go` first on PATH that
//     knows one command, the recipes' `go install
//     github.com/bgrender/bgrender/cmd/bgrender@VERSION`, and installs the
//     binary built from this tree (binary(t)) into GOPATH/bin, which is on
//     PATH as setup-go and the golang image put it. Without the install
//     step, bgrender is not on PATH.
//   - actions/checkout and GitLab's runner checkout: real git fetching from
//     the bare env repo, with the refs and HEAD they leave: a local branch
//     for actions/checkout's `ref: <branch>`, else a detached HEAD; with
//     full history only for fetch-depth: 0 / GIT_DEPTH: "0".
//   - GitHub's and GitLab's pull request APIs: pkg/forge/forgetest.
//   - Argo CD, the cluster and the Istio gateway behind `release`: the fake
//     Argo CD and stand-in gateway of controller_test.go (internal/e2e runs
//     the Argo CD and Flux recipes on the real controllers).
//   - The CI itself: its predefined variables (GITHUB_REF_NAME, CI_COMMIT_TAG,
//     CI_MERGE_REQUEST_TARGET_BRANCH_NAME, ...) are set by each test, and the
//     triggers (`on:` tag filters, GitLab `rules:`/`workflow:`) are evaluated
//     by a small evaluator of the expressions the recipes use.

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/forge/forgetest"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/smoke/smoketest"
)

const recipesDir = "../../docs/recipes"

// The version the recipes install, as the tests configure it
// (INSTALL_BGRENDER_VERSION); the fake go accepts only this one.
const recipeBgrenderVersion = "v0.3.1"

// recipe is one parsed recipe file.
type recipe struct {
	path string
	raw  string
	doc  map[string]any
}

func loadRecipe(t *testing.T, rel string) *recipe {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recipesDir, rel))
	if err != nil {
		t.Fatalf("recipe %s: %v", rel, err)
	}
	var doc map[string]any
	// kyaml's Unmarshal is yaml.v3's: `on:` stays the string "on", as
	// GitHub reads it, instead of YAML 1.1's boolean.
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("recipe %s is not YAML: %v", rel, err)
	}
	return &recipe{path: rel, raw: string(data), doc: doc}
}

// mapAt returns the mapping at the keys, failing the test if it is missing.
func mapAt(t *testing.T, r *recipe, keys ...string) map[string]any {
	t.Helper()
	var cur any = r.doc
	for i, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s: %s is not a mapping", r.path, strings.Join(keys[:i], "."))
		}
		cur = m[k]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		t.Fatalf("%s: %s is not a mapping: %v", r.path, strings.Join(keys, "."), cur)
	}
	return m
}

// onlyKeys fails the test when m has a key the runner does not know: a
// recipe must not rely on something the tests skip without saying so.
func onlyKeys(t *testing.T, where string, m map[string]any, known ...string) {
	t.Helper()
	for k := range m {
		if !slices.Contains(known, k) {
			t.Fatalf("%s: key %q: the recipe runner does not know it (known: %v)", where, k, known)
		}
	}
}

func str(t *testing.T, where string, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case int, bool:
		return fmt.Sprint(x)
	}
	t.Fatalf("%s: want a string, got %T %v", where, v, v)
	return ""
}

func strList(t *testing.T, where string, v any) []string {
	t.Helper()
	if s, ok := v.(string); ok {
		return []string{s}
	}
	items, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: want a list, got %T", where, v)
	}
	var out []string
	for i, it := range items {
		out = append(out, str(t, fmt.Sprintf("%s[%d]", where, i), it))
	}
	return out
}

// jobResult is what a CI job did.
type jobResult struct {
	failed string // the step (or "script") that failed; "" when the job passed
	log    string // every step's output
}

func (j jobResult) ok() bool { return j.failed == "" }

// done logs a job's output (shown with -v or when the test fails).
func done(t *testing.T, job, failed, log string) jobResult {
	t.Helper()
	status := "passed"
	if failed != "" {
		status = "failed at " + failed
	}
	t.Logf("job %s %s:\n%s", job, status, log)
	return jobResult{failed: failed, log: log}
}

// systemPath is the PATH of the CI machine without Go or bgrender.
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// jobDirs are one job's home, workspace and tools.
type jobDirs struct {
	home, work, tmp, fakeBin, gopath string
}

func newJobDirs(t *testing.T) jobDirs {
	t.Helper()
	root := t.TempDir()
	d := jobDirs{home: filepath.Join(root, "home"), work: filepath.Join(root, "work"), tmp: filepath.Join(root, "tmp"),
		fakeBin: filepath.Join(root, "fake-bin"), gopath: filepath.Join(root, "home", "go")}
	for _, p := range []string{d.home, d.work, d.tmp, d.fakeBin} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The fake go: the recipes' install command, nothing else.
	want := "github.com/bgrender/bgrender/cmd/bgrender@" + recipeBgrenderVersion
	script := `#!/bin/sh
# Stands in for the Go toolchain of actions/setup-go or the golang image.
if [ "$#" -ne 2 ] || [ "$1" != install ] || [ "$2" != '` + want + `' ]; then
  echo "fake go: only \"go install ` + want + `\" is stood in for; got: go $*" >&2
  exit 2
fi
dir="${GOBIN:-${GOPATH:-$HOME/go}/bin}"
mkdir -p "$dir" && cp '` + binary(t) + `' "$dir/bgrender"
`
	if err := os.WriteFile(filepath.Join(d.fakeBin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// runBash runs a script with bash in dir, with exactly env.
func runBash(t *testing.T, dir string, env map[string]string, args []string, script string) (string, error) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "step-*.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(script); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append(args, f.Name())...)
	cmd.Dir = dir
	cmd.Env = envList(env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func envList(env map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// git runs git for a checkout stand-in.
func gitCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + systemPath, "HOME=" + dir, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("checkout stand-in: git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ---- GitHub Actions ----

var ghExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// ghSubst replaces every ${{ EXPR }} in s by exprs[EXPR], failing the test
// on an expression the map does not have.
func ghSubst(t *testing.T, where, s string, exprs map[string]string) string {
	t.Helper()
	return ghExpr.ReplaceAllStringFunc(s, func(m string) string {
		e := ghExpr.FindStringSubmatch(m)[1]
		v, ok := exprs[e]
		if !ok {
			t.Fatalf("%s: unknown expression ${{ %s }}: the test does not know what the recipe means by it", where, e)
		}
		return v
	})
}

// ghJob is one run of a GitHub Actions job.
type ghJob struct {
	exprs map[string]string // ${{ ... }} values: vars, secrets, inputs, github.*
	env   map[string]string // the runner's default variables for the event (GITHUB_*)
	repo  string            // what actions/checkout fetches: the env repo's bare directory
}

// runGitHubJob runs the job's steps in order, as a GitHub-hosted runner
// would, and stops at the first failing step.
func runGitHubJob(t *testing.T, wf *recipe, name string, j ghJob) jobResult {
	t.Helper()
	onlyKeys(t, wf.path, wf.doc, "name", "on", "permissions", "concurrency", "defaults", "env", "jobs")
	// Every expression anywhere in the workflow must be known.
	ghSubst(t, wf.path, wf.raw, j.exprs)
	if _, ok := wf.doc["defaults"]; ok {
		if sh := mapAt(t, wf, "defaults", "run")["shell"]; sh != "bash" {
			t.Fatalf("%s: defaults.run.shell %v: the runner runs bash only", wf.path, sh)
		}
	}
	job := mapAt(t, wf, "jobs", name)
	where := wf.path + ": jobs." + name
	onlyKeys(t, where, job, "runs-on", "timeout-minutes", "env", "steps", "permissions", "concurrency")
	d := newJobDirs(t)
	path := []string{systemPath}
	env := map[string]string{
		"HOME": d.home, "RUNNER_TEMP": d.tmp, "GITHUB_WORKSPACE": d.work,
		"CI": "true", "GITHUB_ACTIONS": "true", "LANG": "C.UTF-8",
	}
	maps.Copy(env, j.env)
	addEnv := func(where string, m any) {
		if m == nil {
			return
		}
		mm, ok := m.(map[string]any)
		if !ok {
			t.Fatalf("%s: env is not a mapping", where)
		}
		for k, v := range mm {
			env[k] = ghSubst(t, where+".env."+k, str(t, where+".env."+k, v), j.exprs)
		}
	}
	addEnv(wf.path, wf.doc["env"])
	addEnv(where, job["env"])

	var log strings.Builder
	steps, _ := job["steps"].([]any)
	if len(steps) == 0 {
		t.Fatalf("%s: no steps", where)
	}
	for i, s := range steps {
		step, ok := s.(map[string]any)
		if !ok {
			t.Fatalf("%s: step %d is not a mapping", where, i)
		}
		swhere := fmt.Sprintf("%s.steps[%d]", where, i)
		onlyKeys(t, swhere, step, "name", "uses", "with", "run", "env")
		var stepName string
		switch {
		case step["name"] != nil:
			stepName = str(t, swhere+".name", step["name"])
		case step["uses"] != nil:
			stepName = str(t, swhere+".uses", step["uses"])
		default:
			stepName, _, _ = strings.Cut(str(t, swhere+".run", step["run"]), "\n")
		}
		stepEnv := maps.Clone(env)
		stepEnv["PATH"] = strings.Join(path, ":")
		if m, ok := step["env"].(map[string]any); ok {
			for k, v := range m {
				stepEnv[k] = ghSubst(t, swhere+".env."+k, str(t, swhere, v), j.exprs)
			}
		}
		with := map[string]string{}
		if w, ok := step["with"].(map[string]any); ok {
			for k, v := range w {
				with[k] = ghSubst(t, swhere+".with."+k, str(t, swhere+".with."+k, v), j.exprs)
			}
		}
		switch uses, run := fmt.Sprint(step["uses"]), step["run"]; {
		case run != nil:
			script := ghSubst(t, swhere+".run", str(t, swhere+".run", run), j.exprs)
			// shell: bash is `bash --noprofile --norc -eo pipefail {0}`.
			out, err := runBash(t, d.work, stepEnv, []string{"--noprofile", "--norc", "-eo", "pipefail"}, script)
			fmt.Fprintf(&log, "--- step %s\n%s", stepName, out)
			if err != nil {
				fmt.Fprintf(&log, "--- step %s failed: %v\n", stepName, err)
				return done(t, wf.path+": "+name, stepName, log.String())
			}
		case strings.HasPrefix(uses, "actions/setup-go@"):
			// Stand-in: the fake go, and GOPATH/bin on PATH as setup-go adds it.
			onlyKeys(t, swhere+".with", step["with"].(map[string]any), "go-version", "cache")
			if !strings.HasPrefix(with["go-version"], "1.26") {
				t.Fatalf("%s: go-version %q: bgrender needs Go 1.26", swhere, with["go-version"])
			}
			path = append([]string{d.fakeBin, filepath.Join(d.gopath, "bin")}, path...)
			fmt.Fprintf(&log, "--- step %s (stand-in: fake go, %s/bin on PATH)\n", stepName, d.gopath)
		case strings.HasPrefix(uses, "actions/checkout@"):
			w, _ := step["with"].(map[string]any)
			onlyKeys(t, swhere+".with", w, "ref", "fetch-depth", "persist-credentials")
			ghCheckout(t, d.work, j, with)
			fmt.Fprintf(&log, "--- step %s (stand-in: git fetch from the env repo, ref %q, fetch-depth %q)\n", stepName, with["ref"], with["fetch-depth"])
		default:
			t.Fatalf("%s: uses %q: the recipe runner has no stand-in for it", swhere, uses)
		}
	}
	return done(t, wf.path+": "+name, "", log.String())
}

// ghCheckout does what actions/checkout@v4 leaves in the workspace: origin
// is the repository; with fetch-depth 0 every branch is fetched as
// origin/<branch> (and the tags), else only the ref, shallow; a branch ref
// is checked out as a local branch (checkout -B); with no ref, a pull
// request's merge commit (refs/pull/N/merge, made here by merging
// GITHUB_HEAD_REF into GITHUB_BASE_REF as GitHub does) or else GITHUB_SHA,
// as a detached HEAD.
func ghCheckout(t *testing.T, ws string, j ghJob, with map[string]string) {
	t.Helper()
	if j.repo == "" {
		t.Fatal("the job checks out the repository, but the test gave none")
	}
	depth, ref := with["fetch-depth"], with["ref"]
	if depth == "" {
		depth = "1"
	}
	gitCmd(t, ws, "init", "-q")
	gitCmd(t, ws, "remote", "add", "origin", j.repo)
	switch {
	case depth == "0":
		gitCmd(t, ws, "fetch", "-q", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
	case ref != "":
		gitCmd(t, ws, "fetch", "-q", "--depth="+depth, "origin", "+refs/heads/"+ref+":refs/remotes/origin/"+ref)
	default:
		gitCmd(t, ws, "fetch", "-q", "--depth="+depth, "origin", "+refs/heads/*:refs/remotes/origin/*")
	}
	head, base := j.env["GITHUB_HEAD_REF"], j.env["GITHUB_BASE_REF"]
	switch {
	case ref != "":
		gitCmd(t, ws, "checkout", "-q", "--force", "-B", ref, "refs/remotes/origin/"+ref)
	case j.env["GITHUB_EVENT_NAME"] == "pull_request" && head != "" && base != "":
		// GitHub's refs/pull/N/merge: the head merged into the base's
		// current tip. GitHub makes it; the bare repository has none.
		if depth != "0" {
			t.Fatalf("the stand-in makes the merge commit from both branches: it needs fetch-depth 0")
		}
		gitCmd(t, ws, "checkout", "-q", "--force", "--detach", "refs/remotes/origin/"+base)
		gitCmd(t, ws, "-c", "user.name=GitHub", "-c", "user.email=noreply@github.com", "merge", "-q", "--no-ff", "--no-edit", "refs/remotes/origin/"+head)
	default:
		gitCmd(t, ws, "checkout", "-q", "--force", "--detach", j.env["GITHUB_SHA"])
	}
}

// ghGlob compiles a GitHub filter pattern (the subset the recipes use:
// literal characters, * and **) to a regexp.
func ghGlob(t *testing.T, pattern string) *regexp.Regexp {
	t.Helper()
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case strings.HasPrefix(pattern[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case strings.ContainsRune("?+[]!", rune(c)):
			t.Fatalf("filter pattern %q: %q has a meaning the test does not implement", pattern, c)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// ---- GitLab CI ----

// glPipeline is one pipeline of a .gitlab-ci.yml: the variables it is
// created with.
type glPipeline struct {
	predefined map[string]string // CI_*, GITLAB_USER_*
	project    map[string]string // Settings > CI/CD > Variables
	pipeline   map[string]string // given to this pipeline (Run pipeline form)
	repo       string            // what the runner fetches: the env repo's bare directory; "" for none
}

var glReserved = []string{"stages", "variables", "default", "workflow", "include", "image", "services", "before_script", "after_script", "cache"}

// glYAMLVars returns the variables of a variables: mapping (a value, or
// value/description/options).
func glYAMLVars(t *testing.T, where string, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	if v == nil {
		return out
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: variables is not a mapping", where)
	}
	for k, val := range m {
		if vm, ok := val.(map[string]any); ok {
			onlyKeys(t, where+"."+k, vm, "value", "description", "options")
			out[k] = str(t, where+"."+k, vm["value"])
			continue
		}
		out[k] = str(t, where+"."+k, val)
	}
	return out
}

// vars returns the variables of a job in GitLab's precedence: pipeline
// variables, then project variables, then the job's variables:, then the
// global variables:, then the predefined ones. YAML values are expanded
// ($VAR, ${VAR}) against the others, as GitLab does.
func (p glPipeline) vars(t *testing.T, ci *recipe, job map[string]any) map[string]string {
	t.Helper()
	out := maps.Clone(p.predefined)
	expand := func(yamlVars map[string]string) {
		base := maps.Clone(out)
		maps.Copy(base, p.project)
		maps.Copy(base, p.pipeline)
		for k, v := range yamlVars {
			out[k] = os.Expand(v, func(name string) string { return base[name] })
		}
	}
	expand(glYAMLVars(t, ci.path+": variables", ci.doc["variables"]))
	if job != nil {
		expand(glYAMLVars(t, ci.path+": job variables", job["variables"]))
	}
	maps.Copy(out, p.project)
	maps.Copy(out, p.pipeline)
	return out
}

// jobs returns the jobs the pipeline runs, with their `when`.
func (p glPipeline) jobs(t *testing.T, ci *recipe) map[string]string {
	t.Helper()
	for k := range ci.doc {
		if !slices.Contains(glReserved, k) && !strings.HasPrefix(k, ".") {
			continue
		}
		if !slices.Contains([]string{"stages", "variables", "default", "workflow"}, k) {
			t.Fatalf("%s: top-level %q: the recipe runner does not know it", ci.path, k)
		}
	}
	if wf, ok := ci.doc["workflow"]; ok {
		if when := glRules(t, ci.path+": workflow", wf.(map[string]any)["rules"], p.vars(t, ci, nil)); when == "never" {
			return map[string]string{}
		}
	}
	out := map[string]string{}
	for name, j := range ci.doc {
		if slices.Contains(glReserved, name) {
			continue
		}
		job := j.(map[string]any)
		onlyKeys(t, ci.path+": "+name, job, "stage", "image", "rules", "resource_group", "timeout", "variables", "before_script", "script")
		if when := glRules(t, ci.path+": "+name, job["rules"], p.vars(t, ci, job)); when != "never" {
			out[name] = when
		}
	}
	return out
}

// glRules evaluates rules: the first rule whose if: holds decides (its
// when:, default on_success); none means never.
func glRules(t *testing.T, where string, rules any, vars map[string]string) string {
	t.Helper()
	list, ok := rules.([]any)
	if !ok {
		t.Fatalf("%s: rules is not a list", where)
	}
	for i, r := range list {
		rule := r.(map[string]any)
		onlyKeys(t, fmt.Sprintf("%s.rules[%d]", where, i), rule, "if", "when")
		if !glIf(t, str(t, where, rule["if"]), vars) {
			continue
		}
		if w, ok := rule["when"]; ok {
			return str(t, where, w)
		}
		return "on_success"
	}
	return "never"
}

var glCond = regexp.MustCompile(`^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*(?:(==|!=)\s*"([^"]*)"|(=~|!~)\s*/((?:\\/|[^/])*)/)?\s*(&&|\|\||$)`)

// glIf evaluates a rules:if expression made of $VAR, $VAR == "s", $VAR !=
// "s", $VAR =~ /re/ and $VAR !~ /re/ joined by && and || (&& first), the
// forms the recipes use; anything else fails the test. The regexps are RE2,
// as GitLab's.
func glIf(t *testing.T, expr string, vars map[string]string) bool {
	t.Helper()
	var or []bool
	and := true
	for rest := expr; ; {
		m := glCond.FindStringSubmatch(rest)
		if m == nil {
			t.Fatalf("rules:if %q: the evaluator does not understand %q", expr, rest)
		}
		v, set := vars[m[1]]
		var ok bool
		switch m[2] + m[4] {
		case "":
			ok = set && v != ""
		case "==":
			ok = set && v == m[3]
		case "!=":
			ok = !set || v != m[3]
		case "=~", "!~":
			re, err := regexp.Compile(strings.ReplaceAll(m[5], `\/`, `/`))
			if err != nil {
				t.Fatalf("rules:if %q: %v", expr, err)
			}
			ok = set && re.MatchString(v)
			if m[4] == "!~" {
				ok = !ok
			}
		}
		and = and && ok
		rest = rest[len(m[0]):]
		if m[6] != "&&" {
			or = append(or, and)
			and = true
		}
		if m[6] == "" {
			break
		}
	}
	return slices.Contains(or, true)
}

// runGitLabJob runs a job as a GitLab runner with the docker executor
// would: the repository fetched into the project directory (GIT_DEPTH "0":
// every branch as origin/<branch>; else only the commit, shallow), HEAD
// detached at CI_COMMIT_SHA; then before_script and script in one bash with
// set -eo pipefail. The golang image is stood in for by the fake go and
// GOPATH/bin on PATH.
func runGitLabJob(t *testing.T, ci *recipe, name string, p glPipeline) jobResult {
	t.Helper()
	job, ok := ci.doc[name].(map[string]any)
	if !ok {
		t.Fatalf("%s: no job %s", ci.path, name)
	}
	def, _ := ci.doc["default"].(map[string]any)
	image := job["image"]
	if image == nil && def != nil {
		image = def["image"]
	}
	if img := fmt.Sprint(image); !strings.HasPrefix(img, "golang:1.26") {
		t.Fatalf("%s: %s: image %s: the runner stands in for golang:1.26 only", ci.path, name, img)
	}
	d := newJobDirs(t)
	env := p.vars(t, ci, job)
	maps.Copy(env, map[string]string{
		"HOME": d.home, "CI_PROJECT_DIR": d.work, "CI": "true", "GITLAB_CI": "true", "LANG": "C.UTF-8",
		"GOPATH": d.gopath, "PATH": strings.Join([]string{d.fakeBin, filepath.Join(d.gopath, "bin"), systemPath}, ":"),
	})
	var log strings.Builder
	if p.repo != "" {
		gitCmd(t, d.work, "init", "-q")
		gitCmd(t, d.work, "remote", "add", "origin", p.repo)
		if depth := env["GIT_DEPTH"]; depth == "0" {
			gitCmd(t, d.work, "fetch", "-q", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
		} else {
			if depth == "" {
				depth = "20" // GitLab's default for new projects
			}
			gitCmd(t, d.work, "fetch", "-q", "--depth="+depth, "origin", "+refs/heads/"+env["CI_COMMIT_REF_NAME"]+":refs/pipelines/1")
		}
		gitCmd(t, d.work, "checkout", "-q", "-f", "--detach", env["CI_COMMIT_SHA"])
		fmt.Fprintf(&log, "--- checkout (stand-in: git fetch from the env repo, GIT_DEPTH %q, HEAD detached at %s)\n", env["GIT_DEPTH"], env["CI_COMMIT_SHA"])
	}
	var lines []string
	before := job["before_script"]
	if before == nil && def != nil {
		before = def["before_script"]
	}
	if before != nil {
		lines = append(lines, strList(t, ci.path+": before_script", before)...)
	}
	lines = append(lines, strList(t, ci.path+": "+name+".script", job["script"])...)
	script := "set -eo pipefail\n" + strings.Join(lines, "\n") + "\n"
	out, err := runBash(t, d.work, env, nil, script)
	fmt.Fprintf(&log, "--- script\n%s", out)
	if err != nil {
		fmt.Fprintf(&log, "--- job failed: %v\n", err)
		return done(t, ci.path+": "+name, "script", log.String())
	}
	return done(t, ci.path+": "+name, "", log.String())
}

// ---- the tests ----

// TestRecipeTriggers: the recipes run on what their comments say and on
// nothing else: the tag filters accept release tags (which bgrender's own
// --from-tag parser also accepts) and refuse a plain version or another
// color; the GitLab rules pick the release job for a tag pipeline, the
// check for a merge request, the manual rollback for a pipeline run from
// the web form, and nothing for a branch push.
func TestRecipeTriggers(t *testing.T) {
	t.Parallel()
	good := []string{"v2.0-green", "v1.0-blue", "v10.4.1-green", "v2.0.0-rc.1-blue"}
	bad := []string{"v2.0", "v2.0-red", "2.0-green", "v2.0-green/x", "v2.0-greenish", "main"}
	for _, tag := range good {
		if _, _, err := parseTag(tag); err != nil {
			t.Fatalf("a release tag of the test is not one bgrender takes: %v", err)
		}
	}

	t.Run("github release.yml", func(t *testing.T) {
		wf := loadRecipe(t, "github-actions/release.yml")
		on := mapAt(t, wf, "on")
		onlyKeys(t, wf.path+": on", on, "push")
		push := mapAt(t, wf, "on", "push")
		onlyKeys(t, wf.path+": on.push", push, "tags")
		var globs []*regexp.Regexp
		for _, p := range strList(t, "on.push.tags", push["tags"]) {
			globs = append(globs, ghGlob(t, p))
		}
		matches := func(tag string) bool {
			return slices.ContainsFunc(globs, func(re *regexp.Regexp) bool { return re.MatchString(tag) })
		}
		for _, tag := range good {
			if !matches(tag) {
				t.Errorf("tag %s does not trigger the release workflow", tag)
			}
		}
		for _, tag := range bad {
			if matches(tag) {
				t.Errorf("tag %s triggers the release workflow", tag)
			}
		}
	})
	t.Run("github rollback.yml and env-repo-check.yml", func(t *testing.T) {
		wf := loadRecipe(t, "github-actions/rollback.yml")
		onlyKeys(t, wf.path+": on", mapAt(t, wf, "on"), "workflow_dispatch")
		in := mapAt(t, wf, "on", "workflow_dispatch", "inputs")
		if app := mapAt(t, wf, "on", "workflow_dispatch", "inputs", "app"); app["default"] != "apps/myapp" || app["required"] != true {
			t.Errorf("input app: %v", app)
		}
		if d := mapAt(t, wf, "on", "workflow_dispatch", "inputs", "direct"); d["type"] != "boolean" || d["default"] != false {
			t.Errorf("input direct: %v (a rollback opens a pull request unless asked)", d)
		}
		onlyKeys(t, wf.path+": inputs", in, "app", "direct")
		check := loadRecipe(t, "github-actions/env-repo-check.yml")
		onlyKeys(t, check.path+": on", mapAt(t, check, "on"), "pull_request")
	})
	t.Run("gitlab app-repo", func(t *testing.T) {
		ci := loadRecipe(t, "gitlab-ci/app-repo.gitlab-ci.yml")
		for _, tag := range good {
			p := glPipeline{predefined: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": tag, "CI_COMMIT_REF_NAME": tag}}
			if got := p.jobs(t, ci); !maps.Equal(got, map[string]string{"release": "on_success"}) {
				t.Errorf("tag %s: jobs %v, want release", tag, got)
			}
		}
		for _, tag := range bad {
			p := glPipeline{predefined: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": tag, "CI_COMMIT_REF_NAME": tag}}
			if got := p.jobs(t, ci); len(got) != 0 {
				t.Errorf("tag %s: jobs %v, want none", tag, got)
			}
		}
		branch := glPipeline{predefined: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main"}}
		if got := branch.jobs(t, ci); len(got) != 0 {
			t.Errorf("a branch push runs %v", got)
		}
	})
	t.Run("gitlab env-repo", func(t *testing.T) {
		ci := loadRecipe(t, "gitlab-ci/env-repo.gitlab-ci.yml")
		for source, want := range map[string]map[string]string{
			"merge_request_event": {"env-repo-check": "on_success"},
			"web":                 {"rollback": "manual"},
			"push":                {},
			"schedule":            {},
		} {
			p := glPipeline{predefined: map[string]string{"CI_PIPELINE_SOURCE": source, "CI_COMMIT_REF_NAME": "main", "CI_COMMIT_BRANCH": "main"}}
			if got := p.jobs(t, ci); !maps.Equal(got, want) {
				t.Errorf("%s pipeline: jobs %v, want %v", source, got, want)
			}
		}
	})
}

// TestRecipeVariables: every BGRENDER_* variable the recipes name (in
// settings, scripts or comments) is one bgrender reads (a flag's variable,
// or a token it reads itself), so a typo cannot silently drop a setting;
// and in the GitHub workflows every token comes from secrets, not vars.
func TestRecipeVariables(t *testing.T) {
	t.Parallel()
	known := map[string]bool{"BGRENDER_ARGOCD_TOKEN": true, "BGRENDER_FORGE_TOKEN": true}
	var walk func([]cli.Flag)
	walk = func(flags []cli.Flag) {
		for _, f := range flags {
			if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
				for _, v := range ev.GetEnvVars() {
					known[v] = true
				}
			}
		}
	}
	app := newApp(&globals{})
	walk(app.Flags)
	for _, c := range app.Commands {
		walk(c.Flags)
	}
	if !known["BGRENDER_GIT_TOKEN"] || !known["BGRENDER_FROM_TAG"] {
		t.Fatalf("the flags' variables were not found: %v", known)
	}
	files := []string{"github-actions/release.yml", "github-actions/rollback.yml", "github-actions/env-repo-check.yml",
		"gitlab-ci/app-repo.gitlab-ci.yml", "gitlab-ci/env-repo.gitlab-ci.yml"}
	used := 0
	for _, f := range files {
		r := loadRecipe(t, f)
		for _, v := range regexp.MustCompile(`BGRENDER_[A-Z0-9_]+`).FindAllString(r.raw, -1) {
			used++
			if !known[v] {
				t.Errorf("%s: %s is not a variable bgrender reads", f, v)
			}
		}
		if !strings.HasPrefix(f, "github-actions/") {
			continue
		}
		jobs := mapAt(t, r, "jobs")
		for name := range jobs {
			env, _ := mapAt(t, r, "jobs", name)["env"].(map[string]any)
			for k, v := range env {
				if strings.HasSuffix(k, "_TOKEN") && !regexp.MustCompile(`^\$\{\{ secrets\.[A-Z_]+ \}\}$`).MatchString(fmt.Sprint(v)) {
					t.Errorf("%s: jobs.%s.env.%s = %v: a token must come from secrets", f, name, k, v)
				}
			}
		}
	}
	if used < 10 {
		t.Fatalf("only %d BGRENDER_ variables in the recipes: the scan is broken", used)
	}
}

// releaseTagScenario runs the tag-driven release recipe three times through
// runTag against an env repo with the fake Argo CD and gateway: v1.0-blue
// and v2.0-green land (deploy, route, verify, promote; the default route
// reaches the new version; the commits carry the CI user as author), and a
// v3.0-blue whose pods never get ready fails the job and is aborted.
func releaseTagScenario(t *testing.T, r *releaseEnv, runTag func(tag string) jobResult, author, email string, secrets ...string) {
	t.Helper()
	start := r.head()
	for _, rel := range []struct{ tag, version, color string }{{"v1.0-blue", "v1.0", "blue"}, {"v2.0-green", "v2.0", "green"}} {
		before := len(r.log())
		began := time.Now()
		res := runTag(rel.tag)
		if !res.ok() {
			t.Fatalf("tag %s: the job failed at %s:\n%s", rel.tag, res.failed, res.log)
		}
		t.Logf("tag %s: released in %s", rel.tag, time.Since(began).Round(time.Millisecond))
		log := r.log()
		var got []string
		for _, c := range slices.Backward(log[:len(log)-before]) {
			tr := trailerMap(c)
			got = append(got, tr["Bgrender-Transition"])
			if tr["Bgrender-Version"] != rel.version || tr["Bgrender-Color"] != rel.color || tr["Bgrender-App"] != "myapp" {
				t.Errorf("tag %s: commit %s has trailers %v", rel.tag, c.Hash, tr)
			}
			if c.Author.Name != author || c.Author.Email != email {
				t.Errorf("tag %s: commit %s by %s <%s>, want %s <%s>", rel.tag, c.Hash, c.Author.Name, c.Author.Email, author, email)
			}
		}
		if strings.Join(got, ",") != "deploy,route,verify,promote" {
			t.Fatalf("tag %s: transitions %v, want deploy,route,verify,promote\n%s", rel.tag, got, res.log)
		}
		if v := get(t, r.argo.gateway.URL, "myapp.example.com", ""); v != rel.version {
			t.Fatalf("tag %s: the default route reaches %q", rel.tag, v)
		}
		for _, s := range secrets {
			if strings.Contains(res.log, s) {
				t.Errorf("tag %s: a secret is in the job log", rel.tag)
			}
		}
	}
	var st statusOut
	decodeJSON(t, r.run(0, "-o", "json", "status").stdout, &st)
	if st.Active == nil || st.Active.Version != "v2.0" || st.Active.Color != "green" || st.Standby == nil || st.Standby.Version != "v1.0" {
		t.Fatalf("after v1.0-blue and v2.0-green: %+v", st)
	}

	// A release whose smoke checks fail: the job fails, the release is aborted.
	r.argo.appOptions["v3.0"] = []smoketest.AppOption{smoketest.NotReady()}
	res := runTag("v3.0-blue")
	if res.ok() || !strings.Contains(res.log, "abort") {
		t.Fatalf("a failing release must fail the job, saying it aborted:\n%s", res.log)
	}
	decodeJSON(t, r.run(0, "-o", "json", "status").stdout, &st)
	if st.Active.Version != "v2.0" || st.Test != nil {
		t.Fatalf("after the failed v3.0-blue: %+v", st)
	}
	if got := get(t, r.argo.gateway.URL, "myapp.example.com", ""); got != "v2.0" {
		t.Fatalf("after the failed v3.0-blue the default route reaches %q", got)
	}
	if r.head() == start {
		t.Fatal("the env repo did not move")
	}
}

// recipeReleaseEnv is newReleaseEnv's env repo served over smart HTTP with
// token auth, as the release recipes reach it.
func recipeReleaseEnv(t *testing.T, token string) (*releaseEnv, string) {
	t.Helper()
	r := newReleaseEnv(t)
	return r, gitopstest.ServeHTTP(t, strings.TrimPrefix(r.url, "file://"), "git", token)
}

// TestRecipeGitHubRelease runs the release job of github-actions/release.yml
// for pushed tags.
func TestRecipeGitHubRelease(t *testing.T) {
	t.Parallel()
	const gitToken, argoToken = "recipe-T0KEN-git-gh", "argocd-T0KEN-release"
	r, url := recipeReleaseEnv(t, gitToken)
	wf := loadRecipe(t, "github-actions/release.yml")
	exprs := map[string]string{
		"vars.ENV_REPO_URL":             url,
		"vars.GATEWAY_URL":              r.argo.gateway.URL,
		"vars.ARGOCD_SERVER":            r.argo.srv.URL,
		"vars.INSTALL_BGRENDER_VERSION": recipeBgrenderVersion,
		"secrets.ENV_REPO_TOKEN":        gitToken,
		"secrets.ARGOCD_TOKEN":          argoToken,
		"github.actor":                  "octocat",
		"github.actor_id":               "583231",
	}
	releaseTagScenario(t, r, func(tag string) jobResult {
		return runGitHubJob(t, wf, "release", ghJob{exprs: exprs, env: map[string]string{
			"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/tags/" + tag, "GITHUB_REF_NAME": tag, "GITHUB_REF_TYPE": "tag",
			"GITHUB_REPOSITORY": "acme/myapp", "GITHUB_ACTOR": "octocat",
		}})
	}, "octocat", "583231+octocat@users.noreply.github.com", gitToken, argoToken)
}

// TestRecipeGitLabRelease runs the release job of
// gitlab-ci/app-repo.gitlab-ci.yml for a tag pipeline.
func TestRecipeGitLabRelease(t *testing.T) {
	t.Parallel()
	const gitToken, argoToken = "recipe-T0KEN-git-gl", "argocd-T0KEN-release"
	r, url := recipeReleaseEnv(t, gitToken)
	ci := loadRecipe(t, "gitlab-ci/app-repo.gitlab-ci.yml")
	project := map[string]string{
		"ENV_REPO_URL": url, "ENV_REPO_TOKEN": gitToken, "GATEWAY_URL": r.argo.gateway.URL,
		"ARGOCD_SERVER": r.argo.srv.URL, "ARGOCD_TOKEN": argoToken, "INSTALL_BGRENDER_VERSION": recipeBgrenderVersion,
	}
	releaseTagScenario(t, r, func(tag string) jobResult {
		p := glPipeline{project: project, predefined: map[string]string{
			"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": tag, "CI_COMMIT_REF_NAME": tag, "CI_PROJECT_PATH": "acme/myapp",
			"GITLAB_USER_NAME": "Ada Lovelace", "GITLAB_USER_EMAIL": "ada@example.com",
		}}
		if jobs := p.jobs(t, ci); !maps.Equal(jobs, map[string]string{"release": "on_success"}) {
			t.Fatalf("tag %s: jobs %v, want release", tag, jobs)
		}
		// The app's code repo is not checked out: the job does not use it.
		return runGitLabJob(t, ci, "release", p)
	}, "Ada Lovelace", "ada@example.com", gitToken, argoToken)
}

// prRecipeEnv is newRollbackEnv's env repo (v2 green active, v1 blue warm)
// served over smart HTTP with token auth as https://<host>/acme/env.git, and
// a forge stand-in for acme/env.
type prRecipeEnv struct {
	*env
	dir    string // the bare repository
	server string // the git host's base URL: server + "/acme/env.git" is the repo
	forge  *forgetest.Server
	blue   string // v1's release id: the rollback's target
	base   string // main before the rollback
}

func newPRRecipeEnv(t *testing.T, kind, token string) *prRecipeEnv {
	t.Helper()
	e, dir := newRollbackEnv(t)
	url := gitopstest.ServeHTTP(t, dir, "git", token) // serves any path
	p := &prRecipeEnv{env: e, dir: dir, server: strings.TrimSuffix(url, "/repo.git"),
		forge: forgetest.New(t, kind, "acme/env", token), base: e.head()}
	p.blue = trailerMap(e.log()[2])["Bgrender-Release"] // deploy v1 to blue
	if p.blue == "" {
		t.Fatal("no release id for v1")
	}
	return p
}

// assertRollbackPR: the rollback is on its branch and pull request, main did not move.
func (p *prRecipeEnv) assertRollbackPR(res jobResult, author string) string {
	t := p.t
	t.Helper()
	if !res.ok() {
		t.Fatalf("the rollback job failed at %s:\n%s", res.failed, res.log)
	}
	if p.head() != p.base {
		t.Fatal("the pull request rollback moved main")
	}
	branch := "bgrender/myapp/rollback-" + p.blue
	prs := p.forge.PRs()
	if len(prs) != 1 || prs[0].Head != branch || prs[0].Base != "main" || !strings.Contains(prs[0].Title, "rollback to v1 in blue") {
		t.Fatalf("pull requests %+v, want one from %s to main\n%s", prs, branch, res.log)
	}
	log := gitopstest.Log(t, p.url, branch)
	tr := trailerMap(log[0])
	if tr["Bgrender-Transition"] != "rollback" || tr["Bgrender-Version"] != "v1" || log[0].Parents[0].String() != p.base || log[0].Author.Name != author {
		t.Fatalf("branch %s: head %s by %s, trailers %v, parents %v", branch, log[0].Hash, log[0].Author.Name, tr, log[0].Parents)
	}
	return branch
}

// assertDirectRollback: one rollback commit on main, no pull request.
func (p *prRecipeEnv) assertDirectRollback(res jobResult) {
	t := p.t
	t.Helper()
	if !res.ok() {
		t.Fatalf("the direct rollback job failed at %s:\n%s", res.failed, res.log)
	}
	log := p.log()
	if tr := trailerMap(log[0]); tr["Bgrender-Transition"] != "rollback" || log[0].Parents[0].String() != p.base {
		t.Fatalf("main's head %s: trailers %v, parents %v; want one rollback commit on %s", log[0].Hash, tr, log[0].Parents, p.base)
	}
	var st statusOut
	decodeJSON(t, p.run(0, "-o", "json", "status").stdout, &st)
	if st.Active == nil || st.Active.Version != "v1" || st.Active.Color != "blue" {
		t.Fatalf("after the direct rollback: %+v", st)
	}
	if prs := p.forge.PRs(); len(prs) != 0 {
		t.Fatalf("a direct rollback opened %+v", prs)
	}
}

// moveBase changes the app on main after the rollback was rendered: the
// pull request is stale.
func (p *prRecipeEnv) moveBase() {
	p.t.Helper()
	cfg := gitopstest.Files(p.t, p.url, "main", "apps/myapp")["bgrender.yaml"]
	gitopstest.Seed(p.t, p.url, "main", map[string]string{"apps/myapp/bgrender.yaml": strings.Replace(cfg, "port: 3000", "port: 9090", 1)}, "myapp: new port")
}

// TestRecipeGitHubRollbackAndCheck runs github-actions/rollback.yml from the
// workflow_dispatch form, then github-actions/env-repo-check.yml on the pull
// request it opened: the check passes, and fails once main has changed the
// app after the rollback was rendered. The direct variant commits to main.
func TestRecipeGitHubRollbackAndCheck(t *testing.T) {
	t.Parallel()
	rollback := loadRecipe(t, "github-actions/rollback.yml")
	check := loadRecipe(t, "github-actions/env-repo-check.yml")
	const token = "recipe-T0KEN-forge-gh"
	dispatch := func(p *prRecipeEnv, direct string) jobResult {
		return runGitHubJob(t, rollback, "rollback", ghJob{
			exprs: map[string]string{
				"inputs.app": "apps/myapp", "inputs.direct": direct, "secrets.ENV_REPO_TOKEN": token,
				"vars.INSTALL_BGRENDER_VERSION": recipeBgrenderVersion, "github.actor": "octocat", "github.actor_id": "583231",
			},
			env: map[string]string{
				"GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_SERVER_URL": p.server, "GITHUB_API_URL": p.forge.URL,
				"GITHUB_REPOSITORY": "acme/env", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main",
			},
		})
	}

	t.Run("pull request", func(t *testing.T) {
		p := newPRRecipeEnv(t, "github", token)
		res := dispatch(p, "false")
		branch := p.assertRollbackPR(res, "octocat")
		if strings.Contains(res.log, token) {
			t.Error("the token is in the job log")
		}
		prCheck := func() jobResult {
			return runGitHubJob(t, check, "check", ghJob{
				exprs: map[string]string{"github.head_ref": branch, "vars.INSTALL_BGRENDER_VERSION": recipeBgrenderVersion},
				env: map[string]string{
					"GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": branch, "GITHUB_BASE_REF": "main",
					"GITHUB_REF": "refs/pull/1/merge", "GITHUB_SHA": gitopstest.Head(t, p.url, branch).String(), "GITHUB_REPOSITORY": "acme/env",
				},
				repo: p.dir,
			})
		}
		res = prCheck()
		if !res.ok() || !strings.Contains(res.log, "ok    apps/myapp") {
			t.Fatalf("the check of a fresh rollback pull request (failed at %q):\n%s", res.failed, res.log)
		}
		p.moveBase()
		res = prCheck()
		if res.failed != "bgrender check" || !strings.Contains(res.log, "changed apps/myapp after the rollback") {
			t.Fatalf("the check of a stale rollback pull request must fail, saying why (failed at %q):\n%s", res.failed, res.log)
		}
	})
	t.Run("direct", func(t *testing.T) {
		p := newPRRecipeEnv(t, "github", token)
		p.assertDirectRollback(dispatch(p, "true"))
	})
}

// TestRecipeGitLabRollbackAndCheck runs the manual rollback job of
// gitlab-ci/env-repo.gitlab-ci.yml in a pipeline from the web form, then the
// merge request check on the merge request it opened: it passes, and fails
// once main has changed the app after the rollback was rendered. DIRECT=true
// commits to main.
func TestRecipeGitLabRollbackAndCheck(t *testing.T) {
	t.Parallel()
	ci := loadRecipe(t, "gitlab-ci/env-repo.gitlab-ci.yml")
	const token = "recipe-T0KEN-forge-gl"
	predefined := func(p *prRecipeEnv) map[string]string {
		return map[string]string{
			"CI_SERVER_URL": p.server, "CI_PROJECT_PATH": "acme/env", "CI_API_V4_URL": p.forge.URL,
			"GITLAB_USER_NAME": "Ada Lovelace", "GITLAB_USER_EMAIL": "ada@example.com",
		}
	}
	project := map[string]string{"ENV_REPO_TOKEN": token, "INSTALL_BGRENDER_VERSION": recipeBgrenderVersion}
	web := func(p *prRecipeEnv, pipelineVars map[string]string) jobResult {
		pre := predefined(p)
		maps.Copy(pre, map[string]string{"CI_PIPELINE_SOURCE": "web", "CI_COMMIT_REF_NAME": "main", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_SHA": p.base})
		pl := glPipeline{predefined: pre, project: project, pipeline: pipelineVars, repo: p.dir}
		if jobs := pl.jobs(t, ci); !maps.Equal(jobs, map[string]string{"rollback": "manual"}) {
			t.Fatalf("web pipeline: jobs %v, want the manual rollback", jobs)
		}
		return runGitLabJob(t, ci, "rollback", pl) // the test starts the manual job
	}

	t.Run("merge request", func(t *testing.T) {
		p := newPRRecipeEnv(t, "gitlab", token)
		res := web(p, nil) // APP_DIR and DIRECT keep their defaults
		branch := p.assertRollbackPR(res, "Ada Lovelace")
		if strings.Contains(res.log, token) {
			t.Error("the token is in the job log")
		}
		mrCheck := func() jobResult {
			pre := predefined(p)
			maps.Copy(pre, map[string]string{
				"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "1",
				"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": branch, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
				"CI_COMMIT_REF_NAME": branch, "CI_COMMIT_SHA": gitopstest.Head(t, p.url, branch).String(),
			})
			pl := glPipeline{predefined: pre, project: project, repo: p.dir}
			if jobs := pl.jobs(t, ci); !maps.Equal(jobs, map[string]string{"env-repo-check": "on_success"}) {
				t.Fatalf("merge request pipeline: jobs %v, want env-repo-check", jobs)
			}
			return runGitLabJob(t, ci, "env-repo-check", pl)
		}
		res = mrCheck()
		if !res.ok() || !strings.Contains(res.log, "ok    apps/myapp") {
			t.Fatalf("the check of a fresh rollback merge request (failed at %q):\n%s", res.failed, res.log)
		}
		p.moveBase()
		res = mrCheck()
		if res.ok() || !strings.Contains(res.log, "changed apps/myapp after the rollback") {
			t.Fatalf("the check of a stale rollback merge request must fail, saying why:\n%s", res.log)
		}
	})
	t.Run("direct", func(t *testing.T) {
		p := newPRRecipeEnv(t, "gitlab", token)
		p.assertDirectRollback(web(p, map[string]string{"APP_DIR": "apps/myapp", "DIRECT": "true"}))
	})
}

// TestRecipeRunner: the runner's stand-ins fail where the real CI would,
// so that the recipe tests' passes mean something: a job without the
// install step has no bgrender, the fake go refuses all but the install,
// check reads a detached checkout, and a step that fails fails the job.
func TestRecipeRunner(t *testing.T) {
	t.Parallel()
	_, url := gitopstest.NewRemote(t, "main")
	mustBG(t, 0, "--repo", url, "--app", "apps/myapp", "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	dir := strings.TrimPrefix(url, "file://")
	head := gitopstest.Head(t, url, "main").String()
	wf := func(steps string) *recipe {
		raw := "on: pull_request\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n" + steps
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
			t.Fatal(err)
		}
		return &recipe{path: "inline", raw: raw, doc: doc}
	}
	job := ghJob{exprs: map[string]string{}, env: map[string]string{"GITHUB_SHA": head, "GITHUB_BASE_REF": "main"}, repo: dir}

	res := runGitHubJob(t, wf("      - run: bgrender --version\n"), "j", job)
	if res.ok() || !strings.Contains(res.log, "bgrender: command not found") {
		t.Errorf("bgrender without the install step:\n%s", res.log)
	}
	setup := "      - uses: actions/setup-go@v5\n        with: {go-version: '1.26'}\n      - run: go install github.com/bgrender/bgrender/cmd/bgrender@" + recipeBgrenderVersion + "\n"
	res = runGitHubJob(t, wf(setup+"      - run: go build ./...\n"), "j", job)
	if res.ok() || !strings.Contains(res.log, "fake go: only") {
		t.Errorf("the fake go must refuse anything but the install:\n%s", res.log)
	}
	checkout := "      - uses: actions/checkout@v4\n        with: {fetch-depth: 0}\n"
	// --no-skip: the branch is the base, and check would skip its app.
	res = runGitHubJob(t, wf(checkout+setup+"      - run: bgrender check --all --no-skip --base origin/$GITHUB_BASE_REF\n"), "j", job)
	if !res.ok() || !strings.Contains(res.log, "ok    apps/myapp") {
		t.Errorf("check in a detached checkout:\n%s", res.log)
	}
	res = runGitHubJob(t, wf(checkout+setup+"      - run: git checkout -q -b pr && bgrender check --all --no-skip --base origin/$GITHUB_BASE_REF\n      - run: 'false'\n      - run: echo never\n"), "j", job)
	if res.failed != "false" || !strings.Contains(res.log, "ok    apps/myapp") || strings.Contains(res.log, "never") {
		t.Errorf("a failing step must stop the job (failed %q):\n%s", res.failed, res.log)
	}
}
