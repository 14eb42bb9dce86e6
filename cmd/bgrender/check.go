package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/kubecheck"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

type checkApp struct {
	Dir      string   `json:"dir"`
	App      string   `json:"app,omitempty"`
	OK       bool     `json:"ok"`
	Findings []string `json:"findings"`
	// Notes are not findings: what check did not look at.
	Notes []string `json:"notes,omitempty"`
}

type checkOut struct {
	OK     bool       `json:"ok"`
	Commit string     `json:"commit"`
	Apps   []checkApp `json:"apps"`
}

func checkCommand(g *globals) *cli.Command {
	var all bool
	var base string
	return &cli.Command{
		Name:      "check",
		Usage:     "check an app (or every app) at the branch head: state, drift, kustomize build, routing invariants",
		UsageText: "bgrender [global options] check [--all] [--base BRANCH]",
		Description: `Checks the committed tree at the branch head: the state and config parse and
hold their invariants; the overlays are exactly what bgrender renders from the
state (drift is shown as a diff; "bgrender render" repairs it); kustomize build
succeeds; every routed subset exists and has a Deployment, the default rule is
last, nothing routes to a missing color. Exit 1 on any finding. This is what
an env-repo pull request check runs.

With --base, the branch is a pull request to BRANCH: every change it makes
to an app's release state must be a bgrender transition commit, valid from
the state before it (a state edited by hand fails, naming the change and the
command that makes it); it must not change where the Argo CD token goes
(wait.server); and a transition proposed on it (bgrender ... --pr) must have
been rendered on the base's current version of the app. If the base changed the app since, check fails and says whether
the transition is still possible there (render it again) or no longer valid
(close the pull request). In a CI checkout the base may be origin/BRANCH, and
a detached HEAD (a pull request's merge commit) is checked as it is.

` + examples("bgrender check --all", "bgrender --app apps/myapp check", "bgrender --branch pr-42 -o json check --all",
			"bgrender --branch bgrender/myapp/rollback-r-1a2b3c4d5e check --all --base main   # a rollback pull request"),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Destination: &all, Usage: "check every app dir (every directory with a bgrender.yaml)"},
			&cli.StringFlag{Name: "base", Destination: &base, Usage: "the branch this one is a pull request to: fail when a transition proposed here no longer fits it"},
		},
		Action: func(c *cli.Context) error {
			ctx := c.Context
			r, err := g.openReadOnly(ctx, g.branch, base != "")
			if err != nil {
				return err
			}
			defer r.Close()
			var baseRepo *gitops.Repo
			if base != "" {
				if baseRepo, err = g.openBase(ctx, base); err != nil {
					return err
				}
				defer baseRepo.Close()
			}
			var dirs []string
			if all {
				if dirs, err = r.FindDirs(ctx, config.FileName); err != nil {
					return fmt.Errorf("find apps: %w", err)
				}
				if len(dirs) == 0 {
					return fmt.Errorf("no %s anywhere on branch %s of %s: nothing to check", config.FileName, r.Branch(), r.Location())
				}
			} else {
				dir, err := appDir(g.app)
				if err != nil {
					return err
				}
				dirs = []string{dir}
			}
			out := checkOut{OK: true, Commit: r.Head().String()}
			var owners ownership
			bc := &baseChecker{g: g, pr: r, base: baseRepo}
			for _, dir := range dirs {
				if err := ctx.Err(); err != nil {
					return err
				}
				res, objs := g.checkApp(ctx, r, dir)
				if baseRepo != nil {
					res.Findings = append(res.Findings, bc.findings(ctx, dir, objs.cfg)...)
				}
				owners.add(len(out.Apps), res, objs)
				var dirty *gitops.DirtyError
				if err := r.CheckClean(ctx, dir); errors.As(err, &dirty) {
					res.Notes = append(res.Notes, fmt.Sprintf("%s; they are not part of what was checked: check reads what is committed on %s (commit them to check them)", dirty.Error(), r.Branch()))
				}
				out.Apps = append(out.Apps, res)
			}
			owners.findings(out.Apps)
			problems := 0
			for i := range out.Apps {
				a := &out.Apps[i]
				a.OK = len(a.Findings) == 0
				problems += len(a.Findings)
				out.OK = out.OK && a.OK
			}
			if g.json() {
				if err := writeJSON(g.stdout, out); err != nil {
					return err
				}
			} else {
				for _, a := range out.Apps {
					for _, n := range a.Notes {
						fmt.Fprintf(g.stderr, "note: %s\n", n)
					}
					if a.OK {
						fmt.Fprintf(g.stdout, "ok    %s\n", a.Dir)
						continue
					}
					fmt.Fprintf(g.stdout, "FAIL  %s\n", a.Dir)
					for _, f := range a.Findings {
						fmt.Fprintf(g.stdout, "  - %s\n", indent(f))
					}
				}
			}
			if problems > 0 {
				return findingsError{problems}
			}
			return nil
		},
	}
}

// checkApp returns every finding for one app dir, and the objects it
// renders (none when it does not build).
func (g *globals) checkApp(ctx context.Context, r *gitops.Repo, dir string) (checkApp, appObjects) {
	res := checkApp{Dir: dir, Findings: []string{}}
	var objs appObjects
	fail := func(format string, args ...any) { res.Findings = append(res.Findings, fmt.Sprintf(format, args...)) }
	a, err := g.loadApp(ctx, r, dir)
	if err != nil {
		fail("%v", err)
		return res, objs
	}
	res.App = a.State.App
	objs.namespace, objs.cfg = a.Config.Namespace, &a.Config
	if u := g.unreleased(a); u != "" {
		res.Notes = append(res.Notes, u)
	}
	want, _, err := release.Files(a.Config, a.Files, a.State, a.State)
	var drift *render.DriftError
	switch {
	case errors.Is(err, render.ErrOldLayout):
		fail("%v (`bgrender --app %s migrate`)", err, dir)
		return res, objs
	case errors.As(err, &drift):
		// What is committed is judged all the same: the drift may be
		// what breaks it.
		fail("%v", release.ExplainDrift(ctx, a.App, err))
	case err != nil:
		fail("%v", err)
		return res, objs
	default:
		if d := render.Diff(dir, ownedOnly(a.Files), ownedOnly(want)); d != "" {
			fail("overlays drift from the state (run `bgrender --app %s render` and commit the result):\n%s", dir, d)
		}
	}
	// readApp measured the files.
	built, err := a.build(a.Files)
	if err != nil {
		fail("kustomize build %s: %v", dir, err)
	} else {
		routing, ids, err := render.Inspect(a.Config.App, a.Config.Namespace, built)
		if err != nil {
			fail("kustomize build %s: %v", dir, err)
		}
		for _, e := range routing {
			fail("routing: %v", e)
		}
		objs.ids = ids
		found := kubecheck.Check(built, release.CheckOptions(a.Config, a.State))
		for _, f := range found {
			fail("%v", f)
		}
		res.Findings = append(res.Findings, g.previewFindings(a, found)...)
		res.Notes = append(res.Notes, kubecheck.SharedConfig(built)...)
		objs.claims = kubecheck.GatewayClaims(built)
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
	namespace string
	ids       []render.ObjectID
	cfg       *config.Config
	claims    []kubecheck.GatewayClaim
}

// ownership finds two app dirs that claim the same app in one namespace, or
// render the same object: their controllers would fight over it, and one
// dir's release would change another's pods.
type ownership struct {
	apps    map[string][]int          // namespace/app -> indexes of the app dirs
	objects map[render.ObjectID][]int // object -> indexes of the app dirs
	claims  map[string][]int          // selector, host and port -> indexes of the app dirs
}

func (o *ownership) add(i int, res checkApp, objs appObjects) {
	if o.apps == nil {
		o.apps, o.objects, o.claims = map[string][]int{}, map[render.ObjectID][]int{}, map[string][]int{}
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
func (o *ownership) findings(apps []checkApp) {
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

func ownedOnly(files render.Files) render.Files {
	out := render.Files{}
	for p, b := range files {
		if render.Owned(p) {
			out[p] = b
		}
	}
	return out
}

func indent(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// previewFindings judges the objects the next deploy would make, when
// per-color/ or bgrender.yaml holds a change that no color runs yet (or
// nothing is deployed): a pull request that breaks the template fails
// check before anyone deploys it. Problems the committed objects have too
// are left to their own findings.
func (g *globals) previewFindings(a *appCtx, current []kubecheck.Finding) []string {
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
	files, next, err := release.Files(a.Config, a.Files, a.State, next)
	if err != nil {
		return []string{fmt.Sprintf("%s would fail: %v", what, err)}
	}
	built, err := a.build(files)
	if err != nil {
		return []string{fmt.Sprintf("%s would not build: %v", what, err)}
	}
	had := map[string]bool{}
	for _, f := range current {
		had[f.Error()] = true
	}
	suffix := "-" + string(next.Test.Color)
	var out []string
	for _, f := range kubecheck.Check(built, release.CheckOptions(a.Config, next)) {
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
func templateChanged(a *appCtx, rel state.Release) bool {
	if rel.Snapshot == "" {
		return false
	}
	now, err := render.Snapshot(a.Config, render.Subtree(a.Files, render.TemplateDir), rel)
	return err != nil || render.Digest(now) != rel.Snapshot
}
