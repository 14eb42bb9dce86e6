package release_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/wait"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// newHookEnv is newEngineEnv for an app with two afterDeploy hooks (or
// the hooks given).
func newHookEnv(t *testing.T, hooks ...config.Hook) *engineEnv {
	t.Helper()
	cfg := engineConfig("shop", "ghcr.io/acme/shop")
	cfg.Hooks = []config.Hook{
		{Name: "migrate", When: config.HookAfterDeploy, Command: []string{"npm", "run", "migrate"}},
		{Name: "ping", When: config.HookAfterDeploy, Command: []string{"npm", "run", "ping"}},
	}
	if len(hooks) > 0 {
		cfg.Hooks = hooks
	}
	return newEngineEnvFor(t, cfg)
}

// TestEngineReleaseWithHooks: a release runs its afterDeploy hooks between
// the test route and the smoke checks, each a commit with its Job and a
// commit that records the outcome and removes the Job; the evidence names
// them. A hook whose Job fails aborts the release, its failure recorded.
func TestEngineReleaseWithHooks(t *testing.T) {
	ctx := context.Background()
	env := newHookEnv(t)
	sum, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v1"}})
	if err != nil || sum.Outcome != release.Released || names(sum.Commits) != "deploy,route,hook,hook-done,hook,hook-done,verify,promote" {
		t.Fatalf("v1: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	st := env.state()
	if ev := st.Active.Promotion.Evidence; ev == nil || strings.Join(ev.Hooks, ",") != "migrate#1,ping#1" {
		t.Fatalf("evidence %+v, want the two hooks", st.Active.Promotion.Evidence)
	}
	// The hook's commit holds its Job; the next one removes it.
	hookCommit := sum.Commits[2]
	files := gitopstest.Files(t, env.url, hookCommit.Commit, engineDir)
	if _, ok := files["overlays/hooks/migrate-1.yaml"]; !ok {
		t.Fatalf("the hook commit has no Job: %v", files)
	}
	if _, ok := gitopstest.Files(t, env.url, "main", engineDir)["overlays/hooks/migrate-1.yaml"]; ok {
		t.Errorf("the Job outlives its hook")
	}
	var hookTrailer string
	for _, c := range gitopstest.Log(t, env.url, "main") {
		if c.Hash.String() == hookCommit.Commit {
			for _, tr := range c.Trailers {
				if tr.Key == "Bgrender-Hook" {
					hookTrailer = tr.Value
				}
			}
		}
	}
	if hookTrailer != "migrate#1" {
		t.Errorf("hook commit trailer Bgrender-Hook = %q", hookTrailer)
	}

	// v2's ping fails: its third wait (after the deploy's and migrate's).
	base := len(env.waiter.waited)
	env.waiter.fail = map[int]error{base + 2: &wait.FailedError{Source: "fake controller", Reason: wait.ReasonHookFailed,
		Message: "Job default/shop-ping-r-x failed: BackoffLimitExceeded: Job has reached the specified backoff limit"}}
	sum, err = env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v2"}})
	var he *release.HookError
	if !errors.As(err, &he) || he.Hook != "ping" || sum.Outcome != release.Aborted || names(sum.Commits) != "deploy,route,hook,hook-done,hook,hook-done,unroute,abort" {
		t.Fatalf("v2: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	if !strings.Contains(err.Error(), "BackoffLimitExceeded") {
		t.Errorf("the error does not quote the Job controller: %v", err)
	}
	done := sum.Commits[5]
	if !strings.Contains(done.Subject, "hook ping failed") {
		t.Errorf("hook-done subject %q", done.Subject)
	}
	if st := env.state(); st.Test != nil || st.Active.Version != "v1" {
		t.Fatalf("after the failed hook: %+v", st)
	}
}

func TestEngineHookRefusals(t *testing.T) {
	ctx := context.Background()
	env := newHookEnv(t)
	if _, err := env.e.RunHook(ctx, "ping", release.Expect{}); !errors.Is(err, state.ErrNoTest) {
		t.Errorf("hook run with nothing under test: %v", err)
	}
	if _, err := env.e.Deploy(ctx, state.DeployRequest{Version: "v1"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := env.e.RunHook(ctx, "seed", release.Expect{}); !release.IsUsage(err) || !strings.Contains(err.Error(), `no hook "seed" in bgrender.yaml (hooks: migrate, ping)`) {
		t.Errorf("an unknown hook: %v", err)
	}
	head := env.head()
	if _, err := env.e.Verify(ctx, release.Expect{}); !errors.Is(err, state.ErrNoEvidence) || !strings.Contains(err.Error(), "the afterDeploy hooks migrate, ping have not passed") {
		t.Errorf("verify before the hooks: %v", err)
	}
	if env.head() != head {
		t.Errorf("a refusal committed")
	}
	if _, err := env.e.RunHook(ctx, "migrate", release.Expect{}); err != nil {
		t.Fatal(err)
	}
	if st := env.state(); !st.Test.Passed("migrate") || st.RunningHook() != nil {
		t.Fatalf("after hook run migrate: %+v", st.Test.Hooks)
	}
}

// TestEngineReleaseBeforeDeploy: with a beforeDeploy migration the new
// color is committed with no pods, the migration runs, then its pods, then
// its test route. A failed migration deploys no pod and leaves an abort.
func TestEngineReleaseBeforeDeploy(t *testing.T) {
	ctx := context.Background()
	env := newHookEnv(t, config.Hook{Name: "migrate", When: config.HookBeforeDeploy, Command: []string{"npm", "run", "migrate"}})
	sum, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v1"}})
	if err != nil || sum.Outcome != release.Released || names(sum.Commits) != "deploy,hook,hook-done,unhold,route,verify,promote" {
		t.Fatalf("v1: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	if d := sum.Commits[0]; !d.Next.Test.Held || !strings.Contains(d.Subject, "with no pods until its beforeDeploy hooks pass") {
		t.Errorf("the deploy commit: held %v, subject %q", d.Next.Test.Held, d.Subject)
	}
	held := gitopstest.Files(t, env.url, sum.Commits[1].Commit, engineDir)
	if !strings.Contains(held["overlays/blue/kustomization.yaml"], "count: 0") {
		t.Errorf("while the migration runs, blue's kustomization does not hold its pods:\n%s", held["overlays/blue/kustomization.yaml"])
	}

	base := len(env.waiter.waited)
	env.waiter.fail = map[int]error{base + 1: &wait.FailedError{Source: "fake controller", Reason: wait.ReasonHookFailed, Message: "Job default/shop-migrate-r-x failed: BackoffLimitExceeded: Job has reached the specified backoff limit"}}
	sum, err = env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v2"}})
	if err == nil || sum.Outcome != release.Aborted || names(sum.Commits) != "deploy,hook,hook-done,abort" || !strings.Contains(err.Error(), "BackoffLimitExceeded") {
		t.Fatalf("v2: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	for _, c := range sum.Commits {
		if c.Next.Test != nil && !c.Next.Test.Held {
			t.Errorf("commit %s gave v2 pods after its migration failed", c.Transition)
		}
	}
	if st := env.state(); st.Test != nil || st.Active.Version != "v1" {
		t.Fatalf("after the failed migration: %+v", st)
	}
}

// TestCheckHookJobs: check passes an app while its hook's Job is committed,
// and names a Job edited by hand (another image) or left behind after its
// hook ended: each is drift from the state.
func TestCheckHookJobs(t *testing.T) {
	ctx := context.Background()
	env := newHookEnv(t)
	if _, err := env.e.Deploy(ctx, state.DeployRequest{Version: "v1"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := env.e.Run(ctx, release.Transition(func(s state.State) (state.State, error) { return state.RunHook(s, "migrate") }), release.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	check := func() release.AppReport {
		t.Helper()
		r, err := gitops.Open(ctx, gitops.Options{Repo: env.url, Branch: "main", ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		reports, err := (&release.Checker{Builder: &render.Builder{}}).Check(ctx, r, nil, []string{engineDir})
		if err != nil || len(reports) != 1 {
			t.Fatalf("check: %v %v", reports, err)
		}
		return reports[0]
	}
	if rep := check(); !rep.OK {
		t.Fatalf("an app with its hook running: %v", rep.Findings)
	}
	job := engineDir + "/overlays/hooks/migrate-1.yaml"
	files := gitopstest.Files(t, env.url, "main", engineDir)
	edited := strings.Replace(files["overlays/hooks/migrate-1.yaml"], "image: ghcr.io/acme/shop:v1", "image: ghcr.io/evil/tool:latest", 1)
	if edited == files["overlays/hooks/migrate-1.yaml"] {
		t.Fatal("the Job does not run the release's image")
	}
	gitopstest.Seed(t, env.url, "main", map[string]string{job: edited}, "edit the hook's Job")
	if rep := check(); rep.OK || !strings.Contains(strings.Join(rep.Findings, "\n"), "overlays/hooks/migrate-1.yaml") {
		t.Errorf("a Job with another image: %v", rep.Findings)
	}
	gitopstest.Seed(t, env.url, "main", map[string]string{job: files["overlays/hooks/migrate-1.yaml"]}, "restore the Job")
	if _, err := env.e.Run(ctx, release.Transition(func(s state.State) (state.State, error) { return state.EndHook(s, true, "") }), release.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	gitopstest.Seed(t, env.url, "main", map[string]string{job: files["overlays/hooks/migrate-1.yaml"]}, "leave the Job behind")
	if rep := check(); rep.OK || !strings.Contains(strings.Join(rep.Findings, "\n"), "overlays/hooks/migrate-1.yaml") {
		t.Errorf("a Job left behind: %v", rep.Findings)
	}
}

// TestHookJobOfAnAdoptedApp: on testdata's podinfo taken over (its
// ConfigMap per color, its ServiceAccount shared in base/), the hook Job
// of the release under test reads the color's ConfigMap under its -<color>
// name, runs as the shared ServiceAccount, and the real kustomize build
// has both for it to use.
func TestHookJobOfAnAdoptedApp(t *testing.T) {
	ctx := context.Background()
	cfg := engineConfig("podinfo", "ghcr.io/stefanprodan/podinfo")
	cfg.Container = "podinfod"
	cfg.Hooks = []config.Hook{{Name: "migrate", When: config.HookAfterDeploy, Command: []string{"podcli", "migrate"}}}
	ch, _, err := release.Init(cfg, engineDir, podinfoPlain(t), release.InitOptions{Adopt: true})
	if err != nil {
		t.Fatal(err)
	}
	env := newEngineEnvWith(t, ch.Files)
	if _, err := env.e.Deploy(ctx, state.DeployRequest{Version: "6.5.0"}, false); err != nil {
		t.Fatal(err)
	}
	res, err := env.e.Run(ctx, release.Transition(func(s state.State) (state.State, error) { return state.RunHook(s, "migrate") }), release.StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	color := string(res.Next.Test.Color)
	files := render.Files{}
	for p, b := range gitopstest.Files(t, env.url, "main", engineDir) {
		files[p] = []byte(b)
	}
	var b render.Builder
	built, err := b.BuildFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := kio.FromBytes(built)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	var job *yaml.RNode
	for _, n := range nodes {
		names[n.GetKind()+"/"+n.GetName()] = true
		if n.GetKind() == "Job" {
			job = n
		}
	}
	if job == nil || job.GetName() != "podinfo-migrate-"+res.Next.Test.ID {
		t.Fatalf("no Job podinfo-migrate-%s in the build", res.Next.Test.ID)
	}
	c := "spec.template.spec.containers.[name=migrate]."
	for path, want := range map[string]string{
		c + "image":                             "ghcr.io/stefanprodan/podinfo:6.5.0",
		c + "envFrom.[=].configMapRef.name":     "podinfo-config-" + color,
		"spec.template.spec.serviceAccountName": "podinfo",
	} {
		v, err := job.Pipe(yaml.Lookup(strings.Split(path, ".")...))
		if err != nil || yaml.GetValue(v) != want {
			t.Errorf("Job %s = %q, want %q", path, yaml.GetValue(v), want)
		}
	}
	for _, want := range []string{"ConfigMap/podinfo-config-" + color, "ServiceAccount/podinfo"} {
		if !names[want] {
			t.Errorf("the build has no %s for the Job", want)
		}
	}
}
