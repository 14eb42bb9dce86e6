package release

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gate"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/kubecheck"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
	"github.com/bgrender/bgrender/pkg/vet"
)

// Checker checks app dirs as committed: what `bgrender check` runs, and
// what an env repo's pull request gate runs with a base.
type Checker struct {
	// Builder builds the app dirs.
	Builder *render.Builder
	// Limits bound what is read (zero: vet.DefaultLimits).
	Limits vet.Limits
	// Load reads an app dir at a repo's head (nil: Load with Limits).
	Load func(ctx context.Context, r *gitops.Repo, dir string) (*App, error)
	// Cmd is the command line that names an app dir in messages (nil:
	// CommandPrefix).
	Cmd func(dir string) string
	// Workers check that many app dirs at once (0: one per core).
	Workers int
	// NoSkip checks every app dir of a pull request, unchanged ones too.
	NoSkip bool
}

// AppReport is what Check found for one app dir.
type AppReport struct {
	Dir      string   `json:"dir"`
	App      string   `json:"app,omitempty"`
	OK       bool     `json:"ok"`
	Findings []string `json:"findings"`
	// Notes are not findings: what check did not look at, or a change no
	// color runs yet.
	Notes []string `json:"notes,omitempty"`
	// Skipped says why a pull request's check did not check the app dir
	// again: it is as on the base ("" when it was checked).
	Skipped string `json:"skipped,omitempty"`
}

func (c *Checker) limits() vet.Limits {
	if c.Limits == (vet.Limits{}) {
		return vet.DefaultLimits()
	}
	return c.Limits
}

func (c *Checker) load(ctx context.Context, r *gitops.Repo, dir string) (*App, error) {
	if c.Load != nil {
		return c.Load(ctx, r, dir)
	}
	return Load(ctx, r, dir, c.limits())
}

func (c *Checker) cmd(dir string) string {
	if c.Cmd != nil {
		return c.Cmd(dir)
	}
	return CommandPrefix(dir)
}

// Check checks app dirs dirs at r's head, each on its own and against the
// others (two dirs that claim one app, one object or one host and port).
// With base, r is a pull request to it: every change to an app's state must
// be a transition valid where it left base, the Argo CD token must not be
// sent anywhere new, and a proposed transition must have been rendered on
// base's current version of the app. Uncommitted changes in a checkout are
// noted, not checked. It fails only when ctx is done.
func (c *Checker) Check(ctx context.Context, r, base *gitops.Repo, dirs []string) ([]AppReport, error) {
	var skip map[int]string
	if base != nil && !c.NoSkip {
		var err error
		if skip, err = c.skipUnchanged(ctx, r, base, dirs); err != nil {
			skip = nil // check them all
		}
	}
	reports := make([]AppReport, len(dirs))
	objs := make([]appObjects, len(dirs))
	var todo, skipped []int
	for i := range dirs {
		if _, ok := skip[i]; ok {
			skipped = append(skipped, i)
		} else {
			todo = append(todo, i)
		}
	}
	c.checkAll(ctx, r, dirs, todo, reports, objs)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(skipped) > 0 {
		if claim := c.newClaim(ctx, base, dirs, todo, objs); claim != "" {
			// An unchanged app may make the same claim: check them all.
			c.checkAll(ctx, r, dirs, skipped, reports, objs)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			for _, i := range skipped {
				reports[i].Notes = append(reports[i].Notes, fmt.Sprintf("checked although unchanged from %s: the change claims %s, which an unchanged app could claim too", base.Branch(), claim))
			}
			skip = nil
		}
	}
	var owners ownership
	bc := &baseChecker{c: c, pr: r, base: base}
	for i, dir := range dirs {
		if why, ok := skip[i]; ok {
			// Not looked at: its uncommitted changes are not either.
			reports[i] = AppReport{Dir: dir, OK: true, Findings: []string{}, Skipped: why}
			continue
		}
		res := reports[i]
		if base != nil {
			res.Findings = append(res.Findings, bc.findings(ctx, dir, objs[i].cfg)...)
		}
		owners.add(i, res, objs[i])
		var dirty *gitops.DirtyError
		if err := r.CheckClean(ctx, dir); errors.As(err, &dirty) {
			res.Notes = append(res.Notes, fmt.Sprintf("%s; they are not part of what was checked: check reads what is committed on %s (commit them to check them)", dirty.Error(), r.Branch()))
		}
		reports[i] = res
	}
	owners.findings(reports)
	for i := range reports {
		reports[i].OK = len(reports[i].Findings) == 0
	}
	return reports, nil
}

func (c *Checker) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// checkAll checks the app dirs dirs[i] for i in which, each on its own, on
// every core, into reports[i] and objs[i]: one goroutine reads the apps
// from r in turn (go-git's storage is not for concurrent use, so every read
// of r holds repoMu), the workers render, build and judge them.
func (c *Checker) checkAll(ctx context.Context, r *gitops.Repo, dirs []string, which []int, reports []AppReport, objs []appObjects) {
	apps := make([]*App, len(dirs))
	errs := make([]error, len(dirs))
	var repoMu sync.Mutex
	n := min(c.workers(), max(len(which), 1))
	loaded := make(chan int, n)
	go func() {
		defer close(loaded)
		for _, i := range which {
			if ctx.Err() != nil {
				return
			}
			repoMu.Lock()
			apps[i], errs[i] = c.load(ctx, r, dirs[i])
			repoMu.Unlock()
			loaded <- i
		}
	}()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for i := range loaded {
				reports[i], objs[i] = c.checkLoaded(ctx, dirs[i], apps[i], errs[i], &repoMu)
				apps[i] = nil // done with its files
			}
		})
	}
	wg.Wait()
}

// checkLoaded returns every finding for one app dir, loaded as a (or not,
// with loadErr), and the objects it renders (none when it does not build).
// It reads the repo only to explain a drift, holding repoMu.
func (c *Checker) checkLoaded(ctx context.Context, dir string, a *App, loadErr error, repoMu *sync.Mutex) (AppReport, appObjects) {
	res := AppReport{Dir: dir, Findings: []string{}}
	var objs appObjects
	fail := func(format string, args ...any) { res.Findings = append(res.Findings, fmt.Sprintf(format, args...)) }
	if loadErr != nil {
		fail("%v", loadErr)
		return res, objs
	}
	res.App = a.State.App
	// A copy: a pointer into a would keep the app's files alive until every
	// app is checked.
	cfg := a.Config
	objs.app, objs.namespace, objs.cfg = a.State.App, a.Config.Namespace, &cfg
	if u := Unreleased(a, c.cmd(a.Dir)); u != "" {
		res.Notes = append(res.Notes, u)
	}
	want, _, err := Files(a.Config, a.Files, a.State, a.State)
	var drift *render.DriftError
	switch {
	case errors.Is(err, render.ErrOldLayout):
		fail("%v (`%s migrate`)", err, c.cmd(dir))
		return res, objs
	case errors.As(err, &drift):
		// What is committed is judged all the same: the drift may be
		// what breaks it.
		repoMu.Lock()
		explained := ExplainDrift(ctx, a, err)
		repoMu.Unlock()
		fail("%v", explained)
	case err != nil:
		fail("%v", err)
		return res, objs
	default:
		if d := render.Diff(dir, OwnedOnly(a.Files), OwnedOnly(want)); d != "" {
			fail("overlays drift from the state (run `%s render` and commit the result):\n%s", c.cmd(dir), d)
		}
	}
	// readApp measured the files.
	built, err := a.Build(c.Builder, a.Files)
	if err != nil {
		fail("kustomize build %s: %v", dir, err)
	} else {
		routing, ids, err := render.Inspect(a.Config, built)
		if err != nil {
			fail("kustomize build %s: %v", dir, err)
		}
		for _, e := range routing {
			fail("routing: %v", e)
		}
		objs.ids = ids
		found := kubecheck.Check(built, CheckOptions(a.Config, a.State))
		for _, f := range found {
			fail("%v", f)
		}
		res.Findings = append(res.Findings, c.previewFindings(a, found)...)
		res.Notes = append(res.Notes, kubecheck.SharedConfig(built)...)
		objs.claims = kubecheck.GatewayClaims(built)
		objs.routeClaims = kubecheck.RouteClaims(built, a.Config.Namespace)
	}
	if _, ok := a.Files[path.Base(render.KustomizationFile)]; !ok {
		fail("%s: no %s; Argo CD and Flux need one at the app dir", dir, render.KustomizationFile)
	}
	res.OK = len(res.Findings) == 0
	return res, objs
}

// appObjects is what one app dir renders, and its config (nil when it does
// not load).
type appObjects struct {
	app       string
	namespace string
	ids       []render.ObjectID
	cfg       *config.Config
	claims    []kubecheck.GatewayClaim
	// routeClaims are the hostnames and paths its HTTPRoutes match on Gateways.
	routeClaims []kubecheck.RouteClaim
}

// ownership finds two app dirs that claim the same app in one namespace, or
// render the same object: their controllers would fight over it, and one
// dir's release would change another's pods.
type ownership struct {
	apps    map[string][]int          // namespace/app -> indexes of the app dirs
	objects map[render.ObjectID][]int // object -> indexes of the app dirs
	claims  map[string][]int          // selector, host and port -> indexes of the app dirs
	// routes: Gateway, hostname and path -> indexes of the app dirs
	routes map[string][]int
}

func (o *ownership) add(i int, res AppReport, objs appObjects) {
	if o.apps == nil {
		o.apps, o.objects, o.claims, o.routes = map[string][]int{}, map[render.ObjectID][]int{}, map[string][]int{}, map[string][]int{}
	}
	seenRoute := map[string]bool{}
	for _, c := range objs.routeClaims {
		if k := c.String(); !seenRoute[k] {
			seenRoute[k] = true
			o.routes[k] = append(o.routes[k], i)
		}
	}
	seenClaim := map[string]bool{}
	for _, c := range objs.claims {
		k := c.String()
		if !seenClaim[k] {
			seenClaim[k] = true
			o.claims[k] = append(o.claims[k], i)
		}
	}
	if res.App != "" {
		k := objs.namespace + "/" + res.App
		o.apps[k] = append(o.apps[k], i)
	}
	seen := map[render.ObjectID]bool{}
	for _, id := range objs.ids {
		if !seen[id] {
			seen[id] = true
			o.objects[id] = append(o.objects[id], i)
		}
	}
}

// findings adds to each app dir a finding per app or object it shares.
func (o *ownership) findings(apps []AppReport) {
	others := func(idx []int, self int) string {
		var dirs []string
		for _, j := range idx {
			if j != self {
				dirs = append(dirs, apps[j].Dir)
			}
		}
		return strings.Join(dirs, ", ")
	}
	for _, k := range slices.Sorted(maps.Keys(o.apps)) {
		if idx := o.apps[k]; len(idx) > 1 {
			ns, app, _ := strings.Cut(k, "/")
			for _, i := range idx {
				apps[i].Findings = append(apps[i].Findings, fmt.Sprintf("app %q in namespace %s is also declared by %s: one app, one dir (rename one in its %s)", app, ns, others(idx, i), config.FileName))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.claims)) {
		if idx := o.claims[k]; len(idx) > 1 {
			for _, i := range idx {
				apps[i].Findings = append(apps[i].Findings, fmt.Sprintf("its Gateway claims %s, as the Gateway of %s does: the ingress gateway serves one of them for both; give each app its own host (init --host, gateway.hosts in %s)", k, others(idx, i), config.FileName))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.routes)) {
		if idx := o.routes[k]; len(idx) > 1 {
			for _, i := range idx {
				apps[i].Findings = append(apps[i].Findings, fmt.Sprintf("its HTTPRoute claims %s, as the HTTPRoute of %s does: the Gateway gives those requests to one of them; give each app its own hostname (gatewayAPI.hostnames in %s) or path", k, others(idx, i), config.FileName))
			}
		}
	}
	ids := make([]render.ObjectID, 0, len(o.objects))
	for id := range o.objects {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a].String() < ids[b].String() })
	for _, id := range ids {
		if idx := o.objects[id]; len(idx) > 1 {
			for _, i := range idx {
				apps[i].Findings = append(apps[i].Findings, fmt.Sprintf("%s is also rendered by %s: Argo CD or Flux would apply both dirs' versions of it in turn", id, others(idx, i)))
			}
		}
	}
}

// OwnedOnly are the files of an app dir that bgrender renders
// (render.Owned): what drift is judged on.
func OwnedOnly(files render.Files) render.Files {
	out := render.Files{}
	for p, b := range files {
		if render.Owned(p) {
			out[p] = b
		}
	}
	return out
}

// previewFindings judges the objects the next deploy would make, when
// per-color/ or bgrender.yaml holds a change that no color runs yet (or
// nothing is deployed): a pull request that breaks the template fails
// check before anyone deploys it. Problems the committed objects have too
// are left to their own findings.
func (c *Checker) previewFindings(a *App, current []kubecheck.Finding) []string {
	version := "check"
	switch rel := firstRelease(a.State.Active, a.State.Test); {
	case rel == nil:
	case !templateChanged(a, *rel):
		return nil
	default:
		version = rel.Version
	}
	next, err := state.Deploy(a.State, state.DeployRequest{Version: version, ReleaseID: "r-check", Replace: true})
	if err != nil {
		return nil // no color a deploy could go into
	}
	what := fmt.Sprintf("the next deploy (%s/ and %s as committed, into %s)", render.TemplateDir, config.FileName, next.Test.Color)
	files, next, err := Files(a.Config, a.Files, a.State, next)
	if err != nil {
		return []string{fmt.Sprintf("%s would fail: %v", what, err)}
	}
	built, err := a.Build(c.Builder, files)
	if err != nil {
		return []string{fmt.Sprintf("%s would not build: %v", what, err)}
	}
	had := map[string]bool{}
	for _, f := range current {
		had[f.Error()] = true
	}
	suffix := "-" + string(next.Test.Color)
	var out []string
	for _, f := range kubecheck.Check(built, CheckOptions(a.Config, next)) {
		if !had[f.Error()] && strings.HasSuffix(f.Object, suffix) {
			out = append(out, fmt.Sprintf("%s would make %v", what, f))
		}
	}
	return out
}

func firstRelease(rels ...*state.Release) *state.Release {
	for _, r := range rels {
		if r != nil {
			return r
		}
	}
	return nil
}

// templateChanged reports whether the template or config now render a
// snapshot other than the one rel was deployed with.
func templateChanged(a *App, rel state.Release) bool {
	if rel.Snapshot == "" {
		return false
	}
	now, err := render.Snapshot(a.Config, render.Subtree(a.Files, render.TemplateDir), rel)
	return err != nil || render.Digest(now) != rel.Snapshot
}

// baseChecker checks the apps of a pull request branch against its base.
type baseChecker struct {
	c        *Checker
	pr, base *gitops.Repo
	gate     *gate.Checker // nil until first needed
	// configs are the configs of the base's apps, by dir; nil until read.
	configs map[string]config.Config
}

// baseConfigs reads the config of every app on the base, once.
func (b *baseChecker) baseConfigs(ctx context.Context) (map[string]config.Config, error) {
	if b.configs != nil {
		return b.configs, nil
	}
	dirs, err := b.base.FindDirs(ctx, config.FileName)
	if err != nil {
		return nil, fmt.Errorf("list the apps on %s: %w", b.base.Branch(), err)
	}
	b.configs = map[string]config.Config{}
	for _, d := range dirs {
		if ba, err := b.c.load(ctx, b.base, d); err == nil {
			b.configs[d] = ba.Config
		}
	}
	return b.configs, nil
}

// maxBaseHistory bounds the base's commits read to tell where a pull
// request's own commits end.
const maxBaseHistory = 100_000

// findings are the findings for app dir; cfg is its config on the pull
// request branch (nil when it does not load).
func (b *baseChecker) findings(ctx context.Context, dir string, cfg *config.Config) []string {
	out := b.handMade(ctx, dir)
	out = append(out, b.checkProposal(ctx, dir)...)
	if cfg != nil {
		out = append(out, b.tokenTarget(ctx, dir, *cfg)...)
		out = append(out, b.credentialRoutes(ctx, dir, *cfg)...)
	}
	return out
}

// handMade: every change the pull request makes to the app's state must be
// a valid bgrender transition, replayed from where it left the base.
func (b *baseChecker) handMade(ctx context.Context, dir string) []string {
	fail := func(format string, args ...any) []string { return []string{fmt.Sprintf(format, args...)} }
	prTree, err := b.pr.DirHash(ctx, b.pr.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	baseTree, err := b.base.DirHash(ctx, b.base.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	if prTree == baseTree {
		return nil
	}
	if b.gate == nil {
		onBase, err := newForkAncestry(ctx, b.pr, b.base)
		if err != nil {
			return fail("read the history of %s: %v", b.pr.Branch(), err)
		}
		b.gate = &gate.Checker{PR: b.pr, Base: b.base, OnBase: onBase, Limits: b.c.limits()}
	}
	chain, err := b.gate.Chain(ctx, b.pr.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	return b.gate.HandMade(ctx, dir, chain)
}

// tokenTarget: a pull request must not change where bgrender sends the Argo
// CD token (wait.server, and how its TLS is checked), since its author
// controls bgrender.yaml on the branch. A new app may send it only where an
// app on the base already does.
func (b *baseChecker) tokenTarget(ctx context.Context, dir string, cfg config.Config) []string {
	target := cfg.Wait.TokenTarget()
	if target == "" {
		return nil
	}
	const why = "merge it only if that server is yours (this check fails so that it is not merged unseen), or give the server with --argocd-server in the CI job that waits"
	if ba, err := b.c.load(ctx, b.base, dir); err == nil {
		if was := ba.Config.Wait.TokenTarget(); was != target {
			return []string{fmt.Sprintf("wait: this pull request changes where bgrender sends the Argo CD token, from %q to %q; %s", was, target, why)}
		}
		return nil
	}
	configs, err := b.baseConfigs(ctx)
	if err != nil {
		return []string{"wait: " + err.Error()}
	}
	known := false
	for _, c := range configs {
		known = known || c.Wait.TokenTarget() == target
	}
	if !known {
		return []string{fmt.Sprintf("wait: this new app sends the Argo CD token to %q, where no app on %s sends it; %s", target, b.base.Branch(), why)}
	}
	return nil
}

// credentialRoutes: a pull request must not send a credential from the
// environment (a Prometheus header, a GitHub token) to a server its author
// names in bgrender.yaml, unless the app on the base already sends that
// credential there (a new app: unless an app on the base does).
func (b *baseChecker) credentialRoutes(ctx context.Context, dir string, cfg config.Config) []string {
	routes := cfg.CredentialRoutes()
	if len(routes) == 0 {
		return nil
	}
	known := map[string]bool{}
	where := "the app on " + b.base.Branch() + " does not"
	if ba, err := b.c.load(ctx, b.base, dir); err == nil {
		for _, r := range ba.Config.CredentialRoutes() {
			known[r.Key()] = true
		}
	} else {
		configs, err := b.baseConfigs(ctx)
		if err != nil {
			return []string{err.Error()}
		}
		for _, c := range configs {
			for _, r := range c.CredentialRoutes() {
				known[r.Key()] = true
			}
		}
		where = "no app on " + b.base.Branch() + " does"
	}
	var out []string
	for _, r := range routes {
		if known[r.Key()] {
			continue
		}
		out = append(out, fmt.Sprintf("%s: this pull request sends $%s to %q, where %s; merge it only if that server is yours (this check fails so that it is not merged unseen)", r.Field, r.Env, r.To, where))
	}
	return out
}

// checkProposal returns the findings for app dir on a pull request branch
// (pr) against its base: when the branch carries a bgrender transition for
// the app, the base must not have changed the app since the transition was
// rendered, or merging would not give what bgrender renders now. When it
// has, the transition is replayed on the base's state to say whether it is
// still possible at all.
func (b *baseChecker) checkProposal(ctx context.Context, dir string) []string {
	pr, base := b.pr, b.base
	fail := func(format string, args ...any) []string { return []string{fmt.Sprintf(format, args...)} }
	prTree, err := pr.DirHash(ctx, pr.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	baseTree, err := base.DirHash(ctx, base.Head(), dir)
	if err != nil {
		return fail("%v", err)
	}
	if prTree == baseTree {
		return nil // nothing proposed for this app
	}
	c, err := pr.LastChange(ctx, dir)
	if err != nil {
		return fail("%s: find the commit that changed it on %s: %v", dir, pr.Branch(), err)
	}
	// On a pull request's merge commit (GitHub's default checkout, GitLab's
	// merged results), the proposal is on the merged side: follow it.
	for len(c.Parents) > 1 && c.Trailer(gate.TrailerTransition) == "" {
		if c, err = pr.LastChangeFrom(ctx, c.Parents[1], dir); err != nil {
			return fail("%s: find the commit that changed it on the merged branch: %v", dir, err)
		}
	}
	transition := c.Trailer(gate.TrailerTransition)
	if transition == "" || len(c.Parents) == 0 {
		return nil // a change by hand: the other checks cover it
	}
	renderedOn, err := pr.DirHash(ctx, c.Parents[0], dir)
	if err != nil {
		return fail("%s: read the app as the proposal %s found it: %v", dir, short(c.Hash.String()), err)
	}
	if renderedOn == baseTree {
		return nil // the base has not changed the app since: merging gives exactly the transition
	}
	moved := fmt.Sprintf("%s changed %s after the %s on this branch (commit %s) was rendered", base.Branch(), dir, transition, short(c.Hash.String()))
	if last, err := base.LastChange(ctx, dir); err == nil {
		moved += fmt.Sprintf(" (latest: %s %q)", short(last.Hash.String()), firstLine(last.Message))
	}
	redo := fmt.Sprintf("close this pull request, or run `%s %s --pr` again to render it on the new %s", b.c.cmd(dir), transition, base.Branch())
	ba, err := b.c.load(ctx, base, dir)
	if err != nil {
		return fail("%s; the app on %s does not load: %v", moved, base.Branch(), err)
	}
	if _, err := replayOn(ctx, pr, ba.State, c, dir); err != nil {
		var refused *state.RefusedError
		if errors.As(err, &refused) {
			return fail("%s: the %s is no longer valid there: %v; %s", moved, transition, err, redo)
		}
		return fail("%s: %v", moved, err)
	}
	return fail("%s; merging would not give what bgrender renders now: %s", moved, redo)
}

// replayOn applies the transition commit c made to state s (a changed
// base's): it tells whether the transition is still possible there.
func replayOn(ctx context.Context, pr *gitops.Repo, s state.State, c gitops.Commit, dir string) (state.State, error) {
	data, ok, err := pr.FileAt(ctx, c.Hash, path.Join(dir, state.FileName))
	if err != nil {
		return s, err
	}
	var recorded state.State
	if ok {
		if recorded, err = state.Parse(path.Join(dir, state.FileName), data); err != nil {
			return s, err
		}
	}
	step := state.Step{Transition: state.Transition(c.Trailer(gate.TrailerTransition)), Release: c.Trailer(gate.TrailerRelease),
		Version: c.Trailer(gate.TrailerVersion), Color: state.Color(c.Trailer(gate.TrailerColor))}
	if step.Transition == state.TPromote {
		// Evidence was checked when the proposal was made; here only
		// whether the same release is still under test.
		recorded = state.State{Active: &state.Release{Promotion: &state.Promotion{Forced: true, Reason: "replay"}}}
	}
	return state.Replay(s, step, recorded)
}

// Unreleased says whether the template (per-color/) or bgrender.yaml has
// changed since the active release was deployed: what a deploy would
// snapshot for it now differs from what it runs. "" when not, or when that
// cannot be said (no active release, no snapshot, a template that does not
// render). cmd is the command line that names the app dir.
func Unreleased(a *App, cmd string) string {
	act := a.State.Active
	if act == nil || act.Snapshot == "" {
		return ""
	}
	now, err := render.Snapshot(a.Config, render.Subtree(a.Files, render.TemplateDir), *act)
	if err != nil || render.Digest(now) == act.Snapshot {
		return ""
	}
	changed := fmt.Sprintf("%s/ or %s changed since %s was deployed", render.TemplateDir, config.FileName, act.Describe())
	if t := a.State.Test; t != nil && t.Snapshot != "" {
		if tn, err := render.Snapshot(a.Config, render.Subtree(a.Files, render.TemplateDir), *t); err == nil && render.Digest(tn) == t.Snapshot {
			return fmt.Sprintf("%s; %s under test runs the change: `%s verify`, then `%s promote` releases it", changed, t.Describe(), cmd, cmd)
		}
	}
	return fmt.Sprintf("%s, and no color runs the change yet; `%s deploy --version %s` releases it into %s through the test route (then verify and promote)",
		changed, cmd, act.Version, act.Color.Other())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
