package release

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"sync"

	"github.com/bgrender/bgrender/pkg/gitops"
)

// A pull request's check costs what its change costs: an app dir whose
// tree is the base's, and that reaches nothing outside itself that the
// change touched, builds as it did on the base, so its own findings are
// the base's. It is skipped, with the reason, unless the change makes a
// claim (an object, a host, an app name) that the changed app did not make
// on the base: an unchanged app might make that claim too, and only
// building every app shows whether one does.

// maxChangedPaths bounds the files a pull request's change is compared
// in; a bigger change skips nothing.
const maxChangedPaths = 20_000

// skipUnchanged returns the reason each app dir of dirs (by index) is the
// base's, for check to skip it; none when it cannot tell.
func (c *Checker) skipUnchanged(ctx context.Context, r, base *gitops.Repo, dirs []string) (map[int]string, error) {
	changed, err := gitops.ChangedPaths(ctx, base, r, maxChangedPaths)
	if err != nil {
		return nil, err // too big a change to skip anything: every app is checked
	}
	index := map[string]int{}
	for i, d := range dirs {
		index[d] = i
	}
	touched := map[int]bool{}
	var outside []string
	for _, p := range changed {
		i, ok := appOf(index, p)
		if ok {
			touched[i] = true
		} else {
			outside = append(outside, p)
		}
	}
	why := fmt.Sprintf("unchanged from %s: the app dir's tree is the base's", base.Branch())
	if len(outside) > 0 {
		why += fmt.Sprintf(", and nothing it reaches outside it is among the %d files changed outside the app dirs", len(outside))
	} else {
		why += ", and nothing outside the app dirs changed"
	}
	skip := map[int]string{}
	for i, dir := range dirs {
		if touched[i] {
			continue
		}
		if len(outside) > 0 {
			// A shared base or component it reaches may have changed: read
			// what it reaches.
			a, err := c.load(ctx, r, dir)
			if err != nil || reaches(a, outside) {
				continue
			}
		}
		skip[i] = why
	}
	return skip, nil
}

// appOf is the index of the app dir that holds repo path p, if any.
func appOf(index map[string]int, p string) (int, bool) {
	for d := path.Dir(p); ; d = path.Dir(d) {
		if i, ok := index[d]; ok {
			return i, true
		}
		if d == "." || d == "/" {
			return 0, false
		}
	}
}

// reaches reports whether a's build reads any of paths, or any file in a
// directory it reads from (a file added or removed there).
func reaches(a *App, paths []string) bool {
	dirs := map[string]bool{}
	for p := range a.Shared {
		dirs[path.Dir(p)] = true
	}
	for _, p := range paths {
		if _, ok := a.Shared[p]; ok || dirs[path.Dir(p)] {
			return true
		}
	}
	return false
}

// newClaim names a claim one of the changed apps (dirs[i] for i in
// changed, their objects objs[i]) makes that it did not make on the base
// ("" when there is none): an object it renders, a host or route it
// claims, its app name, or a new app dir.
func (c *Checker) newClaim(ctx context.Context, base *gitops.Repo, dirs []string, changed []int, objs []appObjects) string {
	var mu sync.Mutex
	for _, i := range changed {
		if objs[i].cfg == nil {
			continue // does not load: its findings say so, it claims nothing
		}
		ba, err := c.load(ctx, base, dirs[i])
		if err != nil {
			return fmt.Sprintf("%s, an app dir that is new or does not load on %s", dirs[i], base.Branch())
		}
		_, was := c.checkLoaded(ctx, dirs[i], ba, nil, &mu)
		had := claimKeys(was)
		for _, k := range slices.Sorted(maps.Keys(claimKeys(objs[i]))) {
			if !had[k] {
				return fmt.Sprintf("%s (by %s)", k, dirs[i])
			}
		}
	}
	return ""
}

// claimKeys are the claims of an app dir's objects, as strings.
func claimKeys(o appObjects) map[string]bool {
	out := map[string]bool{}
	if o.app != "" {
		out["app "+o.namespace+"/"+o.app] = true
	}
	for _, id := range o.ids {
		out[id.String()] = true
	}
	for _, cl := range o.claims {
		out["the Gateway claim "+cl.String()] = true
	}
	for _, rc := range o.routeClaims {
		out["the HTTPRoute claim "+rc.String()] = true
	}
	return out
}
