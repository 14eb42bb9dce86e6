package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"sort"

	"github.com/bgrender/bgrender/internal/benchrepo"
)

// appName is the i-th app's name.
func appName(i int) string { return fmt.Sprintf("app%04d", i) }

// generate writes a bare repo at dir with apps copies of tmpl (apps/appNNNN)
// in its first commit and commits-1 more commits after it, each a line
// to CHANGES.md at the root (history the transitions walk past), with
// git fast-import: the same repo, byte for byte, on every run.
func generate(dir string, apps, commits int) error {
	if err := run("", "git", "init", "-q", "--bare", "-b", "main", dir); err != nil {
		return err
	}
	cmd := exec.Command("git", "-C", dir, "fast-import", "--quiet")
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(in, 1<<20)
	werr := writeHistory(w, apps, commits)
	if werr == nil {
		werr = w.Flush()
	}
	in.Close()
	if err := cmd.Wait(); err != nil || werr != nil {
		return fmt.Errorf("git fast-import: %v %v\n%s", werr, err, stderr.String())
	}
	return nil
}

func writeHistory(w io.Writer, apps, commits int) error {
	data := func(b []byte) { fmt.Fprintf(w, "data %d\n", len(b)); w.Write(b); io.WriteString(w, "\n") }
	const when = 1735689600 // 2025-01-01T00:00:00Z
	commit := func(i int, msg string) {
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter gen <gen@example.com> %d +0000\n", when+60*i)
		data([]byte(msg))
	}
	commit(0, "env: generated with "+fmt.Sprint(apps)+" apps\n")
	for i := 0; i < apps; i++ {
		name := appName(i)
		files, err := benchrepo.App(name)
		if err != nil {
			return fmt.Errorf("app %s: %w", name, err)
		}
		paths := make([]string, 0, len(files))
		for p := range files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			fmt.Fprintf(w, "M 100644 inline apps/%s/%s\n", name, p)
			data(files[p])
		}
	}
	for i := 1; i < commits; i++ {
		commit(i, fmt.Sprintf("docs: change %d\n", i))
		io.WriteString(w, "M 100644 inline CHANGES.md\n")
		data([]byte(fmt.Sprintf("the latest change is change %d\n", i)))
	}
	_, err := io.WriteString(w, "done\n")
	return err
}

// run runs a command in dir ("" for the current one), its output shown
// only when it fails.
func run(dir, name string, args ...string) error {
	_, _, err := timed(dir, append([]string{name}, args...))
	return err
}
