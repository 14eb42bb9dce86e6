package main

import (
	"fmt"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

func secs(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
}

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3f×", a.Seconds()/b.Seconds())
}

// markdown is the report: the machine, the command, a table per kind of
// work, and the ratios against the baseline of the same run.
func markdown(machine string, o options, rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nMade by `go run ./internal/bench` (medians of %d runs; ratios are bgrender's time over the baseline's, measured in the same run; peak RSS is the largest of any one process in a run) on %s.\n\n", o.runs, machine)
	b.WriteString("Each repo is generated (`internal/bench/gen.go`): N copies of one real bgrender app (init, a deploy, a promote; 17 files each) in one commit, then commits that change `CHANGES.md` at the root, up to the commit count. A deploy is `deploy --version V --replace` of `apps/app0000`; the git CLI's is an edit to one of its files, `git commit -am`, `git push`. The pull request changes `apps/app0001`'s template (its replicas) on a branch, checked with `check --all --base origin/main`.\n\n")
	b.WriteString("![time against repo size](benchmarks.png)\n\n")
	b.WriteString("## A transition\n\n| apps | commits | bgrender, URL | git CLI, shallow clone + edit + commit + push | ratio | bgrender, checkout | git CLI, edit + commit + push | ratio | peak RSS (bgrender) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %s | %s | %.0f MiB |\n", r.Apps, r.Commits,
			secs(r.BgURL.Median), secs(r.GitURL.Median), ratio(r.BgURL.Median, r.GitURL.Median),
			secs(r.BgLocal.Median), secs(r.GitLocal.Median), ratio(r.BgLocal.Median, r.GitLocal.Median),
			max(r.BgURL.PeakMiB, r.BgLocal.PeakMiB))
	}
	b.WriteString("\n## Checks\n\n| apps | commits | check --all | kustomize CLI, per app × apps | ratio | peak RSS | check --all --base (one app changed) | peak RSS | what it said |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %s | %s (%s each) | %s | %.0f MiB | %s | %.0f MiB | %s |\n", r.Apps, r.Commits,
			secs(r.CheckAll.Median), secs(r.KustomizeLoop), secs(r.KustomizeApp), ratio(r.CheckAll.Median, r.KustomizeLoop), r.CheckAll.PeakMiB,
			secs(r.PRCheck.Median), r.PRCheck.PeakMiB, r.PRSkipped)
	}
	b.WriteString(growth(rows))
	b.WriteString(targets(rows))
	b.WriteString(whereTheTimeGoes)
	b.WriteString("\nReproduce: `go run ./internal/bench` from the repo's root (about 10 minutes on 2 cores; `-quick` for a look at the small repos; `-from docs/benchmarks.json` writes this page again from the measurements). It needs git and the kustomize CLI (`go run ./internal/e2e/cmd/prepare` builds it).\n")
	return b.String()
}

// whereTheTimeGoes is what profiling found (CPU profiles of 30 deploys in
// a checkout of the 1,000-app, 10,000-commit repo, and of check --all).
const whereTheTimeGoes = `
## Where the time goes

Profiled on the 1,000-app, 10,000-commit repo (CPU profiles of 30 deploys in a checkout, and of ` + "`check --all`" + `):

- A transition in a checkout spends about 87 ms of CPU: 21 ms in kustomize parsing its built-in OpenAPI schema (once per process, for the strategic merge patch of the color's Deployment), 9 ms in the rest of the build, 13 ms reading the app's trees and blobs from the pack, 17 ms committing, pushing and bringing the checkout's index and files forward, and the Go runtime's start and collection. Reading and writing the 17,000-entry git index took 60 ms through go-git's codec; bgrender's own (` + "`pkg/gitops/indexfile.go`" + `) takes 5 ms each way. The git CLI's commit and push do less: no build, and an index it reads with a C parser.
- ` + "`check --all`" + ` spent 17.6 s of 25 s re-reading the git index once per app dir; it now reads it once. What remains is about 7 ms of CPU per app in kustomize (its builtin transformer configs parsed anew for every build, YAML parsed and serialised several times) and 5 ms in reading, rendering and judging, on both cores. The kustomize CLI pays its schema parse and process start for every app, which is what the ratio measures.
- A pull request's check reads only what its change touches: the trees that differ from the base, the changed apps, and the base's history only when the branch did not start at the base's head.
`

// target is one of issue 17's targets, as measured.
type target struct {
	what, measured, want string
	met                  bool
}

// targets compares the measurements with the targets, on the
// largest repo (and the smallest where the target is about it).
func targets(rows []row) string {
	if len(rows) == 0 {
		return ""
	}
	largest, smallest := rows[0], rows[0]
	for _, r := range rows {
		if r.Apps > largest.Apps || (r.Apps == largest.Apps && r.Commits > largest.Commits) {
			largest = r
		}
		if r.Apps < smallest.Apps || (r.Apps == smallest.Apps && r.Commits < smallest.Commits) {
			smallest = r
		}
	}
	rt := func(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }
	var peak float64
	for _, r := range rows {
		peak = max(peak, r.BgURL.PeakMiB, r.BgLocal.PeakMiB, r.CheckAll.PeakMiB, r.PRCheck.PeakMiB)
	}
	var sameCommits row
	for _, r := range rows {
		if r.Commits == largest.Commits && (sameCommits.Apps == 0 || r.Apps < sameCommits.Apps) {
			sameCommits = r
		}
	}
	size := fmt.Sprintf("%d apps, %d commits", largest.Apps, largest.Commits)
	ts := []target{
		{"a transition in a checkout, " + size + ", against the git CLI's edit, commit and push", ratio(largest.BgLocal.Median, largest.GitLocal.Median), "≤ 0.7×", rt(largest.BgLocal.Median, largest.GitLocal.Median) <= 0.7},
		{fmt.Sprintf("its growth from %d app(s) to %d (%d commits)", sameCommits.Apps, largest.Apps, largest.Commits), ratio(largest.BgLocal.Median, sameCommits.BgLocal.Median), "≤ 1.2×", rt(largest.BgLocal.Median, sameCommits.BgLocal.Median) <= 1.2},
		{"a transition against a URL, " + size + ", against the git CLI's shallow clone, edit, commit and push", ratio(largest.BgURL.Median, largest.GitURL.Median), "≤ 0.05×", rt(largest.BgURL.Median, largest.GitURL.Median) <= 0.05},
		{fmt.Sprintf("the same on %d app(s), %d commits", smallest.Apps, smallest.Commits), ratio(smallest.BgURL.Median, smallest.GitURL.Median), "≤ 0.5×", rt(smallest.BgURL.Median, smallest.GitURL.Median) <= 0.5},
		{"check --all, " + size + ", against the kustomize CLI per app", ratio(largest.CheckAll.Median, largest.KustomizeLoop), "≤ 0.02×", rt(largest.CheckAll.Median, largest.KustomizeLoop) <= 0.02},
		{"check --base of a one-app change, " + size, secs(largest.PRCheck.Median), "≤ 0.5 s", largest.PRCheck.Median <= 500*time.Millisecond},
		{"peak RSS of any command, any repo", fmt.Sprintf("%.0f MiB", peak), "≤ 100 MiB", peak <= 100},
	}
	var b strings.Builder
	b.WriteString("\n## Against the targets\n\n| target | measured | wanted | |\n|---|---:|---:|---|\n")
	for _, t := range ts {
		mark := "not met"
		if t.met {
			mark = "met"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.what, t.measured, t.want, mark)
	}
	return b.String()
}

// growth says how a checkout's transition grows from the smallest repo to
// the largest of each commit count.
func growth(rows []row) string {
	var b strings.Builder
	for _, c := range uniq(rows, func(r row) int { return r.Commits }) {
		var first, last *row
		for i := range rows {
			if rows[i].Commits != c {
				continue
			}
			if first == nil || rows[i].Apps < first.Apps {
				first = &rows[i]
			}
			if last == nil || rows[i].Apps > last.Apps {
				last = &rows[i]
			}
		}
		if first != last {
			fmt.Fprintf(&b, "\nWith %d commits, a transition in a checkout grows %s from %d app(s) to %d (the git CLI's: %s).\n", c,
				ratio(last.BgLocal.Median, first.BgLocal.Median), first.Apps, last.Apps, ratio(last.GitLocal.Median, first.GitLocal.Median))
		}
	}
	return b.String()
}

func uniq(rows []row, key func(row) int) []int {
	var out []int
	seen := map[int]bool{}
	for _, r := range rows {
		if k := key(r); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// plotRows draws the transition's time against the app count, for
// bgrender and the git CLI, in a checkout and against a URL, at the
// largest commit count.
func plotRows(path string, rows []row) error {
	commits := 0
	for _, r := range rows {
		commits = max(commits, r.Commits)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("A transition, %d commits of history", commits)
	p.X.Label.Text = "apps in the env repo"
	p.Y.Label.Text = "seconds (median)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	line := func(get func(row) time.Duration) plotter.XYs {
		var xy plotter.XYs
		for _, r := range rows {
			if r.Commits == commits {
				xy = append(xy, plotter.XY{X: float64(r.Apps), Y: get(r).Seconds()})
			}
		}
		return xy
	}
	if err := plotutil.AddLinePoints(p,
		"bgrender, checkout", line(func(r row) time.Duration { return r.BgLocal.Median }),
		"git CLI, checkout", line(func(r row) time.Duration { return r.GitLocal.Median }),
		"bgrender, URL", line(func(r row) time.Duration { return r.BgURL.Median }),
		"git CLI, shallow clone", line(func(r row) time.Duration { return r.GitURL.Median }),
	); err != nil {
		return err
	}
	p.Legend.Top, p.Legend.Left = true, true
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
