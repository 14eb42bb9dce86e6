// Command bench measures bgrender against the git CLI on generated env
// repos, side by side in one run, and writes docs/benchmarks.md and its
// plot:
//
//	go run ./internal/bench                      # 1, 100, 1000 apps × 100, 10000 commits, 5 runs
//	go run ./internal/bench -quick               # 1 and 100 apps × 100 commits, 3 runs, no files written
//	go run ./internal/bench -apps 1000 -commits 10000 -generate /tmp/env.git   # only the repo, to profile with
//
// For each repo it times, as medians of -runs runs, with each process's
// peak RSS: bgrender deploy against a smart-HTTP URL (git http-backend on
// loopback) and in a local checkout; the git CLI doing the same edit,
// commit and push (a shallow clone first, against the URL); check --all;
// check --all --base main on a branch that changes one app; and the
// kustomize CLI building one app, times the apps, for check. It needs git
// and the kustomize CLI (on PATH, or as built by `go run
// ./internal/e2e/cmd/prepare`).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	apps, commits []int
	runs          int
	out, plot     string
	kustomizeN    int
	generate      string
	from          string
}

func parseFlags() (options, error) {
	var o options
	apps := flag.String("apps", "1,100,1000", "app counts of the generated repos")
	commits := flag.String("commits", "100,10000", "commit counts of the generated repos")
	flag.IntVar(&o.runs, "runs", 5, "runs of each measurement; the median is reported")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "the report to write (\"\": print it only)")
	flag.StringVar(&o.plot, "plot", "docs/benchmarks.png", "the plot to write (\"\": none)")
	flag.IntVar(&o.kustomizeN, "kustomize-sample", 20, "apps the kustomize CLI builds per run (its per-app median is multiplied by the app count)")
	flag.StringVar(&o.from, "from", "", "write the report and plot from these measurements (a benchmarks.json) instead of measuring")
	flag.StringVar(&o.generate, "generate", "", "only write the bare repo of the first -apps and -commits to this directory (to profile with), and exit")
	quick := flag.Bool("quick", false, "a quick look: 1 and 100 apps, 100 commits, 3 runs (unless given), nothing written")
	flag.Parse()
	if *quick { // its sizes, unless given
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]*string{"apps": apps, "commits": commits} {
			if !set[name] {
				*v = map[string]string{"apps": "1,100", "commits": "100"}[name]
			}
		}
		if !set["runs"] {
			o.runs = 3
		}
		o.out, o.plot = "", ""
	}
	var err error
	if o.apps, err = ints("-apps", *apps); err != nil {
		return o, err
	}
	if o.commits, err = ints("-commits", *commits); err != nil {
		return o, err
	}
	if o.runs < 1 || o.kustomizeN < 1 {
		return o, errors.New("-runs and -kustomize-sample must be at least 1")
	}
	return o, nil
}

func ints(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s %q: want positive integers, comma-separated", flagName, s)
		}
		out = append(out, n)
	}
	return out, nil
}

func mainErr() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	if o.generate != "" {
		return generate(o.generate, o.apps[0], o.commits[0])
	}
	if o.from != "" {
		var saved measurements
		b, err := os.ReadFile(o.from)
		if err == nil {
			err = json.Unmarshal(b, &saved)
		}
		if err != nil {
			return fmt.Errorf("-from %s: %w", o.from, err)
		}
		o.runs = saved.Runs
		return write(o, saved.Machine, saved.Rows)
	}
	kustomize, err := findKustomize()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "bgrender-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "bgrender")
	progress("building bgrender")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/bgrender").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/bgrender (run the bench from the repo's root): %v\n%s", err, out)
	}
	srv, err := serveGit(filepath.Join(work, "served"))
	if err != nil {
		return err
	}
	defer srv.Close()

	m := machine()
	var rows []row
	for _, commits := range o.commits {
		for _, apps := range o.apps {
			progress("repo of %d apps, %d commits", apps, commits)
			r, err := measureRepo(context.Background(), benchEnv{bin: bin, kustomize: kustomize, work: work, srv: srv, runs: o.runs, kustomizeN: o.kustomizeN}, apps, commits)
			if err != nil {
				return fmt.Errorf("%d apps, %d commits: %w", apps, commits, err)
			}
			rows = append(rows, r)
			fmt.Fprintln(os.Stderr, r.brief())
		}
	}
	return write(o, m, rows)
}

// measurements are what a run measured, kept beside the report as JSON.
type measurements struct {
	Machine string `json:"machine"`
	Runs    int    `json:"runs"`
	Rows    []row  `json:"rows"`
}

// write prints the report and writes it, its measurements and its plot.
func write(o options, m string, rows []row) error {
	report := markdown(m, o, rows)
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
		data, err := json.MarshalIndent(measurements{Machine: m, Runs: o.runs, Rows: rows}, "", "  ")
		if err != nil {
			return err
		}
		js := strings.TrimSuffix(o.out, filepath.Ext(o.out)) + ".json"
		if err := os.WriteFile(js, append(data, '\n'), 0o644); err != nil {
			return err
		}
		progress("wrote %s and %s", o.out, js)
	}
	if o.plot != "" {
		if err := plotRows(o.plot, rows); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		progress("wrote %s", o.plot)
	}
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// findKustomize is the kustomize CLI: on PATH, or the one prepare builds.
func findKustomize() (string, error) {
	if p, err := exec.LookPath("kustomize"); err == nil {
		return p, nil
	}
	home, _ := os.UserHomeDir()
	matches, _ := filepath.Glob(filepath.Join(home, ".cache", "bgrender-tools", "kustomize-v*", "kustomize"))
	if len(matches) > 0 {
		return matches[len(matches)-1], nil
	}
	return "", errors.New("no kustomize CLI: put one on PATH, or build it with `go run ./internal/e2e/cmd/prepare`")
}

// gitServer is git http-backend serving the bare repos under root on
// loopback.
type gitServer struct {
	root, url string
	srv       *http.Server
}

func serveGit(root string) (*gitServer, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	h, err := gitopstest.HTTPBackend(root, "bench")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &gitServer{root: root, url: "http://" + l.Addr().String(), srv: &http.Server{Handler: h}}
	go s.srv.Serve(l)
	return s, nil
}

func (s *gitServer) Close() { s.srv.Close() }

// machine describes where the bench ran.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	git, _ := exec.Command("git", "--version").Output()
	return fmt.Sprintf("%s/%s, %d cores (%s)%s, %s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, mem, runtime.Version(), strings.TrimSpace(string(git)))
}
