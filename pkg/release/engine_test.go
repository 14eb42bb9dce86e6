package release_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/benchrepo"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/forge"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/smoke"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/vet"
	"github.com/bgrender/bgrender/pkg/wait"
)

// The engine's collaborators, as a Go program or a controller would pass
// them: a real bare remote and real kustomize builds, with the GitOps
// controller and the gateway faked (fakeWaiter, fakeSmoker), since the
// engine only asks them questions.

const engineDir = "apps/shop"

// fakeWaiter records the commits it was asked to wait for; fail says
// which of them (by index) fail.
type fakeWaiter struct {
	mu     sync.Mutex
	none   bool // no controller configured
	waited []string
	fail   map[int]error
}

func (w *fakeWaiter) Configured(config.Config) bool { return !w.none }

func (w *fakeWaiter) Wait(_ context.Context, dir string, _ config.Config, commit string) (wait.Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.waited)
	w.waited = append(w.waited, commit)
	if err := w.fail[n]; err != nil {
		return wait.Result{}, err
	}
	return wait.Result{Revision: commit, Source: "fake controller"}, nil
}

// fakeSmoker passes every check but for the versions in failTest (through
// the test route) and failLive (the default route).
type fakeSmoker struct {
	failTest, failLive map[string]bool
	ran                []string
}

func (s *fakeSmoker) Ready(config.Config) error { return nil }

func (s *fakeSmoker) Smoke(_ context.Context, _ config.Config, r state.Release, test bool) (smoke.Report, error) {
	route := "default"
	if test {
		route = "test"
	}
	s.ran = append(s.ran, route+" "+r.Version)
	if test && s.failTest[r.Version] || !test && s.failLive[r.Version] {
		return smoke.Report{}, fmt.Errorf("check ready on %s: status 503", r.Version)
	}
	return smoke.Report{Passed: true, Checks: []smoke.CheckResult{{Name: "ready"}}}, nil
}

type engineEnv struct {
	t      *testing.T
	url    string
	opens  int
	waiter *fakeWaiter
	smoker *fakeSmoker
	e      *release.Engine
	landed []string // the transitions OnCommit saw
}

// newEngineEnv is an app on a bare remote, with verify checks, and an
// engine over it.
func newEngineEnv(t *testing.T) *engineEnv {
	t.Helper()
	return newEngineEnvFor(t, engineConfig("shop", "ghcr.io/acme/shop"))
}

// newEngineEnvFor is newEngineEnv for the scaffold of an app with cfg.
func newEngineEnvFor(t *testing.T, cfg config.Config) *engineEnv {
	t.Helper()
	files, err := benchrepo.Init(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newEngineEnvWith(t, files)
}

// engineConfig is the config of an app with a smoke check.
func engineConfig(app, image string) config.Config {
	cfg := config.Default(app, image)
	cfg.Verify.Identity.Header = "x-app-version"
	cfg.Verify.Checks = []smoke.Check{{Name: "ready", Path: "/ready"}}
	return cfg
}

// newEngineEnvWith is newEngineEnv for an app dir holding files.
func newEngineEnvWith(t *testing.T, files render.Files) *engineEnv {
	t.Helper()
	_, url := gitopstest.NewRemote(t, "main")
	seed := map[string]string{}
	for p, b := range files {
		seed[engineDir+"/"+p] = string(b)
	}
	gitopstest.Seed(t, url, "main", seed, "shop: init")
	env := &engineEnv{t: t, url: url, waiter: &fakeWaiter{}, smoker: &fakeSmoker{}}
	clock := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	env.e = &release.Engine{
		Open: func(ctx context.Context, o release.OpenOptions) (*release.App, error) {
			env.opens++
			r, err := gitops.Open(ctx, gitops.Options{Repo: url, Branch: "main", Push: true, History: o.History})
			if err != nil {
				return nil, err
			}
			a, err := release.Load(ctx, r, engineDir, vet.DefaultLimits())
			if err != nil {
				r.Close()
				return nil, err
			}
			return a, nil
		},
		Builder:     &render.Builder{},
		AuthorName:  "bot",
		AuthorEmail: "bot@example.com",
		Now:         func() time.Time { clock = clock.Add(time.Second); return clock },
		Sleep:       func(context.Context, time.Duration) error { return nil },
		Retrier:     release.Retrier{Sleep: func(context.Context, time.Duration) error { return nil }},
		Waiter:      env.waiter,
		Smoke:       env.smoker,
		OnCommit: func(r release.Result) error {
			env.landed = append(env.landed, r.Transition)
			return nil
		},
	}
	return env
}

// state is the app's state at the remote's head.
func (env *engineEnv) state() state.State {
	env.t.Helper()
	st, err := state.Parse("state", []byte(gitopstest.Files(env.t, env.url, "main", engineDir)[state.FileName]))
	if err != nil {
		env.t.Fatal(err)
	}
	return st
}

func (env *engineEnv) head() string { return gitopstest.Head(env.t, env.url, "main").String() }

func names(rs []release.Result) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Transition)
	}
	return strings.Join(out, ",")
}

// With a controller to wait on, a deploy is make-before-break: the
// Deployment and subset first, the test route once the controller applied
// them. Without one, or as a proposal, it is one commit.
func TestEngineDeploySplitsAroundTheWait(t *testing.T) {
	ctx := context.Background()
	env := newEngineEnv(t)
	rs, err := env.e.Deploy(ctx, state.DeployRequest{Version: "v1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if names(rs) != "deploy,route" || strings.Join(env.landed, ",") != "deploy,route" {
		t.Fatalf("commits %s, reported %v", names(rs), env.landed)
	}
	if rs[0].Next.TestRouted() || !rs[1].Next.TestRouted() {
		t.Errorf("the first commit routes to the new color, or the second does not")
	}
	if len(env.waiter.waited) != 1 || env.waiter.waited[0] != rs[0].Commit {
		t.Errorf("waited for %v, want the deploy commit %s", env.waiter.waited, rs[0].Commit)
	}
	if rs[1].Parent != rs[0].Commit || env.head() != rs[1].Commit || !rs[1].Pushed {
		t.Errorf("the route commit does not follow the deploy commit on the remote")
	}

	// No controller: one commit, with the route.
	env2 := newEngineEnv(t)
	env2.waiter.none = true
	rs, err = env2.e.Deploy(ctx, state.DeployRequest{Version: "v1"}, true)
	if err != nil || names(rs) != "deploy" || !rs[0].Next.TestRouted() || len(env2.waiter.waited) != 0 {
		t.Fatalf("without a controller: %s %v, waited %v", names(rs), err, env2.waiter.waited)
	}
}

// A wait that fails between the commits leaves the release deployed
// without its test route, and says how to go on.
func TestEngineDeployWaitFailure(t *testing.T) {
	env := newEngineEnv(t)
	env.waiter.fail = map[int]error{0: errors.New("Degraded: pods crash")}
	rs, err := env.e.Deploy(context.Background(), state.DeployRequest{Version: "v1"}, true)
	if err == nil || !strings.Contains(err.Error(), "Degraded: pods crash") || !strings.Contains(err.Error(), "route`, or `bgrender --app apps/shop abort`") {
		t.Fatalf("err = %v", err)
	}
	if release.IsRefused(err) || release.IsUsage(err) {
		t.Errorf("a failed wait is a failure, not a refusal or usage: %v", err)
	}
	if names(rs) != "deploy" || env.head() != rs[0].Commit {
		t.Fatalf("commits %s; the remote should hold the deploy commit", names(rs))
	}
	if st := env.state(); st.Test == nil || st.TestRouted() {
		t.Errorf("state after the failed wait: %+v", st.Test)
	}
}

// Abort with a controller removes the test route first, then the release.
func TestEngineAbortSplits(t *testing.T) {
	ctx := context.Background()
	env := newEngineEnv(t)
	if _, err := env.e.Deploy(ctx, state.DeployRequest{Version: "v1"}, true); err != nil {
		t.Fatal(err)
	}
	id := env.state().Test.ID
	if _, err := env.e.Abort(ctx, release.Expect{Release: "r-someone-else"}, true, ""); !release.IsRefused(err) {
		t.Fatalf("abort of another pipeline's release: %v, want a refusal", err)
	}
	rs, err := env.e.Abort(ctx, release.Expect{Release: id}, true, "")
	if err != nil || names(rs) != "unroute,abort" {
		t.Fatalf("abort: %s %v", names(rs), err)
	}
	if env.waiter.waited[len(env.waiter.waited)-1] != rs[0].Commit {
		t.Errorf("abort did not wait for the unroute commit")
	}
	if st := env.state(); st.Test != nil {
		t.Errorf("a release is still under test: %+v", st.Test)
	}
}

// A transition that loses the race for the branch runs again on the new
// head: read anew, never a blind retry.
func TestEngineRunsAgainAfterALostRace(t *testing.T) {
	ctx := context.Background()
	env := newEngineEnv(t)
	open := env.e.Open
	raced := false
	env.e.Open = func(ctx context.Context, o release.OpenOptions) (*release.App, error) {
		a, err := open(ctx, o)
		if err == nil && !raced {
			// Another writer lands between this read and its push.
			raced = true
			gitopstest.Seed(t, env.url, "main", map[string]string{"apps/other/README": "hi"}, "other: change")
		}
		return a, err
	}
	other := ""
	res, err := env.e.Run(ctx, func(a *release.App) (state.State, error) {
		other = a.Repo.Head().String()
		return state.Deploy(a.State, state.DeployRequest{Version: "v1", ReleaseID: "r-1"})
	}, release.StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if env.opens != 2 || res.Parent != other || env.head() != res.Commit {
		t.Errorf("opens %d; the commit's parent %s, the head the last attempt read %s", env.opens, res.Parent, other)
	}
	log := gitopstest.Log(t, env.url, "main")
	if !strings.HasPrefix(log[1].Message, "other: change") {
		t.Errorf("the other writer's commit is not kept under ours: %q", log[1].Message)
	}
}

// Release: success, a failure before the switch (abort) and one after it
// (rollback), each returned as values.
func TestEngineRelease(t *testing.T) {
	ctx := context.Background()
	env := newEngineEnv(t)
	release1 := func(v string) (release.Summary, error) {
		return env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: v}})
	}
	sum, err := release1("v1")
	if err != nil || sum.Outcome != release.Released || names(sum.Commits) != "deploy,route,verify,promote" || sum.App != "shop" {
		t.Fatalf("v1: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	if st := env.state(); st.Active == nil || st.Active.Version != "v1" || st.Active.Promotion == nil || st.Active.Promotion.Evidence == nil {
		t.Fatalf("v1 is not active with evidence: %+v", st.Active)
	}

	env.smoker.failTest = map[string]bool{"v2": true}
	sum, err = release1("v2")
	if err == nil || sum.Outcome != release.Aborted || names(sum.Commits) != "deploy,route,unroute,abort" || !strings.Contains(err.Error(), "status 503") {
		t.Fatalf("v2: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	if st := env.state(); st.Test != nil || st.Active.Version != "v1" {
		t.Fatalf("after the aborted v2: %+v", st)
	}

	env.smoker.failLive = map[string]bool{"v3": true}
	sum, err = release1("v3")
	if err == nil || sum.Outcome != release.RolledBack || names(sum.Commits) != "deploy,route,verify,promote,rollback" {
		t.Fatalf("v3: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	rb := sum.Commits[len(sum.Commits)-1]
	if !strings.HasSuffix(rb.Subject, " after a failed release") {
		t.Errorf("rollback subject %q", rb.Subject)
	}
	if msg := gitopstest.Log(t, env.url, "main")[0].Message; !strings.Contains(msg, "Cause: checks on the default route: check ready on v3: status 503") {
		t.Errorf("the rollback commit does not carry its cause:\n%s", msg)
	}
	if st := env.state(); st.Active.Version != "v1" || st.Standby == nil || st.Standby.Version != "v3" {
		t.Fatalf("after the rolled-back v3: %+v", st)
	}
	// The release waited for every commit it depended on, the rollback too.
	if last := env.waiter.waited[len(env.waiter.waited)-1]; last != rb.Commit {
		t.Errorf("the rollback commit was not waited for")
	}
}

// A release refused before its first commit has no summary and changes
// nothing; without a controller it is a usage error.
func TestEngineReleaseRefusals(t *testing.T) {
	ctx := context.Background()
	env := newEngineEnv(t)
	if _, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v1", Color: state.Blue}}); err != nil {
		t.Fatal(err)
	}
	// v2 into blue, the live color: refused, nothing committed.
	head := env.head()
	sum, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v2", Color: state.Blue}})
	if !release.IsRefused(err) || sum.Outcome != "" || len(sum.Commits) != 0 || env.head() != head {
		t.Fatalf("deploy into the live color: outcome %q, %d commits, %v", sum.Outcome, len(sum.Commits), err)
	}
	env.waiter.none = true
	if _, err := env.e.Release(ctx, release.ReleaseOptions{Request: state.DeployRequest{Version: "v2"}}); !release.IsUsage(err) || env.head() != head {
		t.Fatalf("release without a controller: %v", err)
	}
}

// fakeForge records the pull requests it was asked for.
type fakeForge struct{ reqs []forge.Request }

func (f *fakeForge) Kind() forge.Kind { return forge.GitHub }
func (f *fakeForge) OpenOrUpdate(_ context.Context, r forge.Request) (forge.PR, error) {
	f.reqs = append(f.reqs, r)
	return forge.PR{Number: len(f.reqs), URL: fmt.Sprintf("https://forge.example/pr/%d", len(f.reqs)), Created: len(f.reqs) == 1}, nil
}

// A proposal publisher commits on a branch of its own and opens a pull
// request; the branch under it does not move, and a make-before-break
// deploy is one commit, since it lands as one merge.
func TestEngineProposal(t *testing.T) {
	ctx := context.Background()
	env := newEngineEnv(t)
	head := env.head()
	f := &fakeForge{}
	env.e.Publisher = &release.Proposal{Reproduce: "bgrender --app apps/shop deploy --version v1 --pr",
		Forge: func(*gitops.Repo) (release.Forge, error) { return f, nil }}
	rs, err := env.e.Deploy(ctx, state.DeployRequest{Version: "v1"}, true)
	if err != nil || names(rs) != "deploy" {
		t.Fatalf("proposed deploy: %s %v", names(rs), err)
	}
	pr := rs[0].PR
	if pr == nil || pr.Number != 1 || !pr.Created || pr.Base != "main" || !strings.HasPrefix(pr.Branch, "bgrender/shop/deploy-r-") {
		t.Fatalf("pull request %+v", pr)
	}
	if env.head() != head || gitopstest.Head(t, env.url, pr.Branch).String() != rs[0].Commit {
		t.Errorf("main moved, or the branch does not hold the proposal")
	}
	if len(f.reqs) != 1 || f.reqs[0].Title != rs[0].Subject || !strings.Contains(f.reqs[0].Body, "deploy --version v1 --pr") || !strings.Contains(f.reqs[0].Body, "| route |") {
		t.Errorf("forge requests %+v", f.reqs)
	}
	if len(env.waiter.waited) != 0 {
		t.Errorf("a proposal waited for a controller: %v", env.waiter.waited)
	}
}

// A dry run previews the diff and commits nothing.
func TestEngineDryRun(t *testing.T) {
	env := newEngineEnv(t)
	head := env.head()
	env.e.DryRun = true
	rs, err := env.e.Deploy(context.Background(), state.DeployRequest{Version: "v1"}, true)
	if err != nil || names(rs) != "deploy" || !rs[0].DryRun || rs[0].Commit != "" || !strings.Contains(rs[0].Diff, "image: ghcr.io/acme/shop:v1") {
		t.Fatalf("dry run: %s %v %+v", names(rs), err, rs)
	}
	if env.head() != head {
		t.Errorf("a dry run moved the branch")
	}
}

// The checker on its own: a clean app passes; an overlay edited by hand
// is drift, named with the command that repairs it; a second dir that
// declares the same app is a finding on both.
func TestChecker(t *testing.T) {
	ctx := context.Background()
	env := newEngineEnv(t)
	if _, err := env.e.Deploy(ctx, state.DeployRequest{Version: "v1"}, false); err != nil {
		t.Fatal(err)
	}
	check := func() []release.AppReport {
		t.Helper()
		r, err := gitops.Open(ctx, gitops.Options{Repo: env.url, Branch: "main", ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		dirs, err := r.FindDirs(ctx, config.FileName)
		if err != nil {
			t.Fatal(err)
		}
		reports, err := (&release.Checker{Builder: &render.Builder{}}).Check(ctx, r, nil, dirs)
		if err != nil {
			t.Fatal(err)
		}
		return reports
	}
	if reports := check(); len(reports) != 1 || !reports[0].OK || reports[0].App != "shop" {
		t.Fatalf("a clean app: %+v", reports)
	}

	files := gitopstest.Files(t, env.url, "main", engineDir)
	// A routing overlay (not a color's snapshot, whose drift has its own
	// message), the first in order: the choice must not change run to run.
	var overlay string
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if strings.HasPrefix(p, render.OverlaysDir+"/") && strings.HasSuffix(p, ".yaml") && !strings.Contains(p, "/snapshot/") {
			overlay = p
			break
		}
	}
	if overlay == "" {
		t.Fatal("no routing overlay in the app dir")
	}
	copied := map[string]string{}
	for p, b := range files {
		copied["apps/shop-copy/"+p] = b
	}
	copied[engineDir+"/"+overlay] = files[overlay] + "# edited by hand\n"
	gitopstest.Seed(t, env.url, "main", copied, "edit an overlay, copy the app")
	reports := check()
	if len(reports) != 2 {
		t.Fatalf("%d reports, want 2", len(reports))
	}
	byDir := map[string]release.AppReport{}
	for _, r := range reports {
		byDir[r.Dir] = r
	}
	shop, other := byDir[engineDir], byDir["apps/shop-copy"]
	if shop.OK || !strings.Contains(strings.Join(shop.Findings, "\n"), "overlays drift from the state (run `bgrender --app apps/shop render`") {
		t.Errorf("drift not found: %v", shop.Findings)
	}
	for _, r := range []release.AppReport{shop, other} {
		if !strings.Contains(strings.Join(r.Findings, "\n"), `app "shop" in namespace default is also declared by`) {
			t.Errorf("%s: the duplicate app is not a finding: %v", r.Dir, r.Findings)
		}
	}
}

// A realistic app taken over (testdata's podinfo, adopted): the first
// release routes everyone to the adopted Deployment before the new color's
// pods exist, then goes through the gate and promotes; the adopted
// Deployment stays warm for a rollback.
func TestEngineReleaseOfAnAdoptedApp(t *testing.T) {
	cfg := engineConfig("podinfo", "ghcr.io/stefanprodan/podinfo")
	cfg.Container = "podinfod"
	ch, _, err := release.Init(cfg, engineDir, podinfoPlain(t), release.InitOptions{Adopt: true})
	if err != nil {
		t.Fatal(err)
	}
	env := newEngineEnvWith(t, ch.Files)
	sum, err := env.e.Release(context.Background(), release.ReleaseOptions{Request: state.DeployRequest{Version: "6.5.0"}})
	if err != nil || sum.Outcome != release.Released || names(sum.Commits) != "route-adopted,deploy,route,verify,promote" {
		t.Fatalf("release: %s %s %v", sum.Outcome, names(sum.Commits), err)
	}
	if len(env.waiter.waited) == 0 || env.waiter.waited[0] != sum.Commits[0].Commit {
		t.Errorf("the routes to the adopted Deployment were not waited for first: %v", env.waiter.waited)
	}
	st := env.state()
	if st.Active == nil || st.Active.Version != "6.5.0" || st.Adopted == nil {
		t.Fatalf("after the release: active %+v, adopted %+v", st.Active, st.Adopted)
	}
}
