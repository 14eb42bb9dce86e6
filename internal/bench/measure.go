package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// benchEnv is what every repo's measurements share.
type benchEnv struct {
	bin, kustomize, work string
	srv                  *gitServer
	runs, kustomizeN     int
}

// stat is a measurement over the runs: the median time and the largest
// peak RSS of the processes of one run.
type stat struct {
	Median  time.Duration
	PeakMiB float64
}

// row is one repo's measurements.
type row struct {
	Apps, Commits     int
	BgURL, GitURL     stat
	BgLocal, GitLocal stat
	CheckAll          stat
	PRCheck           stat
	// KustomizeApp is the kustomize CLI's median build of one app;
	// KustomizeLoop that times the apps (check --all's baseline).
	KustomizeApp, KustomizeLoop time.Duration
	// PRSkipped is what the pull-request check said of the apps it skipped.
	PRSkipped string
}

func (r row) brief() string {
	return fmt.Sprintf("  apps=%d commits=%d: url %s vs git %s; local %s vs git %s; check --all %s (kustomize loop %s); pr check %s",
		r.Apps, r.Commits, r.BgURL.Median, r.GitURL.Median, r.BgLocal.Median, r.GitLocal.Median, r.CheckAll.Median, r.KustomizeLoop, r.PRCheck.Median)
}

// sample is one run of one measurement.
type sample struct {
	took   time.Duration
	rssKiB int64
}

// series collects the samples of one measurement.
type series []sample

func (s series) stat() stat {
	d := make([]time.Duration, len(s))
	var peak int64
	for i, x := range s {
		d[i] = x.took
		peak = max(peak, x.rssKiB)
	}
	return stat{Median: median(d), PeakMiB: float64(peak) / 1024}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// timed runs the commands one after another as one sample: their total
// time and the largest peak RSS among them.
func timed(dir string, cmds ...[]string) (sample, string, error) {
	var s sample
	var out bytes.Buffer
	for _, c := range cmds {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		err := cmd.Run()
		s.took += time.Since(start)
		if cmd.ProcessState != nil {
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				s.rssKiB = max(s.rssKiB, ru.Maxrss)
			}
		}
		if err != nil {
			return s, "", fmt.Errorf("%s: %v\n%s%s", strings.Join(c, " "), err, out.String(), errb.String())
		}
	}
	return s, out.String(), nil
}

// measureRepo generates the repo of apps and commits and measures it.
func measureRepo(ctx context.Context, e benchEnv, apps, commits int) (row, error) {
	r := row{Apps: apps, Commits: commits}
	dir := filepath.Join(e.work, fmt.Sprintf("a%d-c%d", apps, commits))
	gen := filepath.Join(dir, "gen.git")
	start := time.Now()
	if err := generate(gen, apps, commits); err != nil {
		return r, err
	}
	progress("  generated in %s", time.Since(start).Round(time.Millisecond))
	// Each measurement pushes to a copy of its own, so that none is behind
	// another's pushes.
	bgURL, gitURL := filepath.Join(e.srv.root, fmt.Sprintf("bg-%d-%d.git", apps, commits)), filepath.Join(e.srv.root, fmt.Sprintf("git-%d-%d.git", apps, commits))
	bgBare, gitBare := filepath.Join(dir, "bg.git"), filepath.Join(dir, "git.git")
	for _, to := range []string{bgURL, gitURL, bgBare, gitBare} {
		if err := run("", "cp", "-a", gen, to); err != nil {
			return r, err
		}
	}
	bgCo, gitCo, prCo := filepath.Join(dir, "bg"), filepath.Join(dir, "git"), filepath.Join(dir, "pr")
	for _, c := range [][2]string{{bgBare, bgCo}, {gitBare, gitCo}, {bgBare, prCo}} {
		if err := run("", "git", "clone", "-q", c[0], c[1]); err != nil {
			return r, err
		}
	}
	app := "apps/" + appName(0)
	edited := app + "/per-color/deployment.yaml"
	var bgu, gitu, bgl, gitl, all, pr series
	var kust []time.Duration
	for k := 1; k <= e.runs; k++ {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		version := fmt.Sprintf("v%d", k+1)
		deploy := []string{"--app", app, "deploy", "--version", version, "--replace"}
		s, _, err := timed(dir, append([]string{e.bin, "--repo", e.srv.url + "/" + filepath.Base(bgURL)}, deploy...))
		if err != nil {
			return r, err
		}
		bgu = append(bgu, s)

		clone := filepath.Join(dir, fmt.Sprintf("clone-%d", k))
		if s, err = gitEdit(dir, clone, []string{"git", "clone", "-q", "--depth", "1", e.srv.url + "/" + filepath.Base(gitURL), clone}, edited, k); err != nil {
			return r, err
		}
		os.RemoveAll(clone)
		gitu = append(gitu, s)

		if s, _, err = timed(bgCo, append([]string{e.bin}, deploy...)); err != nil {
			return r, err
		}
		bgl = append(bgl, s)
		if s, err = gitEdit(dir, gitCo, nil, edited, k); err != nil {
			return r, err
		}
		gitl = append(gitl, s)

		if s, _, err = timed(bgCo, []string{e.bin, "check", "--all"}); err != nil {
			return r, err
		}
		all = append(all, s)

		// A pull request that changes one app: its template scaled, on a
		// branch of a checkout, checked against the remote's main.
		other := "apps/" + appName(min(1, apps-1)) + "/per-color/deployment.yaml"
		if _, _, err := timed(prCo, []string{"git", "fetch", "-q", "origin"}, []string{"git", "checkout", "-q", "-B", "pr", "origin/main"}); err != nil {
			return r, err
		}
		if err := scale(filepath.Join(prCo, filepath.FromSlash(other)), k+1); err != nil {
			return r, err
		}
		if _, _, err := timed(prCo, []string{"git", "commit", "-q", "-am", "scale " + other}); err != nil {
			return r, err
		}
		s, out, err := timed(prCo, []string{e.bin, "--branch", "pr", "check", "--all", "--base", "origin/main"})
		if err != nil {
			return r, err
		}
		pr = append(pr, s)
		r.PRSkipped = skippedLine(out)

		for j := 0; j < min(e.kustomizeN, apps); j++ {
			s, _, err := timed(bgCo, []string{e.kustomize, "build", "apps/" + appName(j*apps/min(e.kustomizeN, apps))})
			if err != nil {
				return r, err
			}
			kust = append(kust, s.took)
		}
	}
	r.BgURL, r.GitURL, r.BgLocal, r.GitLocal, r.CheckAll, r.PRCheck = bgu.stat(), gitu.stat(), bgl.stat(), gitl.stat(), all.stat(), pr.stat()
	r.KustomizeApp = median(kust)
	r.KustomizeLoop = r.KustomizeApp * time.Duration(apps)
	os.RemoveAll(dir)
	return r, nil
}

// gitEdit is the git CLI's way: (clone,) edit a file of the app, commit,
// push, as one sample.
func gitEdit(dir, co string, clone []string, file string, k int) (sample, error) {
	var total sample
	if clone != nil {
		s, _, err := timed(dir, clone)
		if err != nil {
			return total, err
		}
		total = s
	}
	start := time.Now()
	f, err := os.OpenFile(filepath.Join(co, filepath.FromSlash(file)), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return total, err
	}
	fmt.Fprintf(f, "# edit %d\n", k)
	f.Close()
	total.took += time.Since(start)
	s, _, err := timed(co, []string{"git", "commit", "-q", "-am", fmt.Sprintf("edit %d", k)}, []string{"git", "push", "-q", "origin", "HEAD"})
	if err != nil {
		return total, err
	}
	total.took += s.took
	total.rssKiB = max(total.rssKiB, s.rssKiB)
	return total, nil
}

// scale sets the replicas of the Deployment template at p.
func scale(p string, replicas int) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	out := regexp.MustCompile(`(?m)^(\s*replicas:) \d+$`).ReplaceAll(b, []byte(fmt.Sprintf("${1} %d", replicas)))
	if bytes.Equal(out, b) {
		return fmt.Errorf("%s: no replicas to scale", p)
	}
	return os.WriteFile(p, out, 0o644)
}

// skippedLine is what check said of the apps it skipped, if anything.
func skippedLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "skip" {
			return f[1] + " apps skipped as unchanged"
		}
	}
	return ""
}
