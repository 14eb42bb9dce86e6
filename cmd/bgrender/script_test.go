package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bgrender/bgrender/pkg/gitops"
)

// TestMain lets the test binary be bgrender itself: run under the name
// "bgrender" (testscript's commands, binary(t)) it is the real program,
// main() with its signal handling, and exits.
func TestMain(m *testing.M) {
	testscript.Main(removingBinary{m}, map[string]func(){"bgrender": main})
}

// removingBinary runs the tests, then removes the directory of binary's
// link to the test binary.
type removingBinary struct{ m *testing.M }

func (r removingBinary) Run() int {
	// Many tests spend much of their time waiting (on child processes,
	// servers, smoke check retries): unless -parallel is given, run more of
	// them at once than there are cores, so that the waits overlap work.
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", strconv.Itoa(2*runtime.GOMAXPROCS(0)))
	}
	// The tests allocate much and keep little: unless GOGC is set, collect
	// garbage less often, here and in the bgrender processes they start
	// (about 15% less CPU for the suite).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
		os.Setenv("GOGC", "400")
	}
	code := r.m.Run()
	if binFile != "" {
		os.RemoveAll(filepath.Dir(binFile))
	}
	return code
}

// TestScripts runs the txtar CLI scripts in testdata/script. Each script gets
// $REMOTE, the file:// URL of an empty bare repository, and the commands
// `remote-log` (subject and trailers of the remote's commits, newest first)
// and `remote-file PATH` (a file at the remote's head).
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			dir := filepath.Join(env.WorkDir, "remote.git")
			if err := gitops.InitBare(dir, "main"); err != nil {
				return err
			}
			env.Setenv("REMOTE", "file://"+dir)
			env.Setenv("BGRENDER_AUTHOR_NAME", "ci")
			env.Setenv("BGRENDER_AUTHOR_EMAIL", "ci@example.com")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"remote-log": func(ts *testscript.TestScript, neg bool, args []string) {
				for c := headCommit(ts, cloneRemote(ts)); c != nil; {
					fmt.Fprintln(ts.Stdout(), strings.SplitN(c.Message, "\n", 2)[0])
					for _, tr := range gitops.ParseTrailers(c.Message) {
						fmt.Fprintf(ts.Stdout(), "  %s: %s\n", tr.Key, tr.Value)
					}
					if c.NumParents() == 0 {
						break
					}
					var err error
					if c, err = c.Parent(0); err != nil {
						ts.Fatalf("parent of %s: %v", c.Hash, err)
					}
				}
			},
			"remote-file": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: remote-file PATH")
				}
				f, err := headCommit(ts, cloneRemote(ts)).File(args[0])
				if err != nil {
					ts.Fatalf("%s at the remote head: %v", args[0], err)
				}
				content, err := f.Contents()
				if err != nil {
					ts.Fatalf("read %s: %v", args[0], err)
				}
				fmt.Fprint(ts.Stdout(), content)
			},
		},
	})
}

// cloneRemote clones the script's remote into memory for inspection.
func cloneRemote(ts *testscript.TestScript) *git.Repository {
	repo, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{URL: ts.Getenv("REMOTE")})
	if err != nil {
		ts.Fatalf("clone %s: %v", ts.Getenv("REMOTE"), err)
	}
	return repo
}

func headCommit(ts *testscript.TestScript, repo *git.Repository) *object.Commit {
	ref, err := repo.Head()
	if err != nil {
		ts.Fatalf("remote head: %v", err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		ts.Fatalf("remote head commit: %v", err)
	}
	return c
}
