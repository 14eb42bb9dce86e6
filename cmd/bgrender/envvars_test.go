package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// customEnvVars are the environment variables flags had by hand before the
// convention, with a different name; they stay, ahead of the conventional one.
func customEnvVars() map[string][]string {
	return map[string][]string{
		"kubeconfig": {"KUBECONFIG"},
		"timeout":    {"BGRENDER_WAIT_TIMEOUT"},
		"cooldown":   {"BGRENDER_WAIT_COOLDOWN"},
	}
}

// appFlag is one flag of the app, with the command path it belongs to.
type appFlag struct {
	cmd  []string // nil for a global flag
	flag cli.Flag
}

func (f appFlag) String() string {
	where := "global"
	if f.cmd != nil {
		where = strings.Join(f.cmd, " ")
	}
	return fmt.Sprintf("%s --%s", where, f.flag.Names()[0])
}

// allFlags lists every flag of the app, its commands and subcommands.
func allFlags(app *cli.App) []appFlag {
	var out []appFlag
	for _, f := range app.Flags {
		out = append(out, appFlag{nil, f})
	}
	for _, c := range allCommands(app) {
		for _, f := range c.cmd.Flags {
			out = append(out, appFlag{c.path, f})
		}
	}
	return out
}

// appCommand is one command with its path (["deploy"], or a subcommand's).
type appCommand struct {
	path []string
	cmd  *cli.Command
}

func allCommands(app *cli.App) []appCommand {
	var out []appCommand
	var walk func(parent []string, cmds []*cli.Command)
	walk = func(parent []string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := append(slices.Clone(parent), c.Name)
			out = append(out, appCommand{path, c})
			walk(path, c.Subcommands)
		}
	}
	walk(nil, app.Commands)
	return out
}

// TestEnvVarsEveryFlag: every flag of every command has its conventional
// $BGRENDER_<FLAG> (after the custom names some had before), except the
// safety overrides, which have none; and each is a flag type bindEnv knows.
func TestEnvVarsEveryFlag(t *testing.T) {
	t.Parallel()
	app := newApp(&globals{})
	custom := customEnvVars()
	denied := map[string]bool{}
	flags := allFlags(app)
	if len(flags) < 40 {
		t.Fatalf("only %d flags found: the walk misses commands", len(flags))
	}
	for _, f := range flags {
		name := f.flag.Names()[0]
		vars := envVarsOf(f.flag)
		if vars == nil {
			t.Errorf("%s: flag type %T is unknown to envVarsOf, so bindEnv cannot give it $%s: add the type to envVarsOf", f, f.flag, flagEnvVar(name))
			continue
		}
		if noEnv(name) {
			denied[name] = true
			if len(*vars) != 0 {
				t.Errorf("%s is a safety override and must have no environment variable, has %v", f, *vars)
			}
			continue
		}
		want := append(slices.Clone(custom[name]), flagEnvVar(name))
		if !slices.Equal(*vars, want) {
			t.Errorf("%s: environment variables %v, want %v (a name other than $%s set by hand belongs in customEnvVars)", f, *vars, want, flagEnvVar(name))
		}
	}
	for _, name := range []string{"force", "replace"} {
		if !denied[name] {
			t.Errorf("no flag --%s found: the deny list is stale", name)
		}
	}
	for _, f := range []*cli.BoolFlag{cli.HelpFlag.(*cli.BoolFlag), cli.VersionFlag.(*cli.BoolFlag), cli.BashCompletionFlag.(*cli.BoolFlag)} {
		if len(f.EnvVars) != 0 {
			t.Errorf("urfave/cli's own --%s was given %v: it is shared by every app", f.Name, f.EnvVars)
		}
	}
	if got := flagEnvVar("expect-release"); got != "BGRENDER_EXPECT_RELEASE" {
		t.Errorf("flagEnvVar(expect-release) = %s", got)
	}
}

// TestEnvVarsInHelp: each command's --help shows every visible flag's
// conventional variable as [$BGRENDER_...], and none for the safety overrides.
func TestEnvVarsInHelp(t *testing.T) {
	t.Parallel()
	app := newApp(&globals{})
	helps := map[string]string{}
	for _, f := range allFlags(app) {
		if df, ok := f.flag.(cli.VisibleFlag); ok && !df.IsVisible() {
			continue
		}
		name := f.flag.Names()[0]
		key := strings.Join(f.cmd, " ")
		if _, ok := helps[key]; !ok {
			helps[key] = mustBG(t, 0, append(slices.Clone(f.cmd), "--help")...).stdout
		}
		help := helps[key]
		line := flagHelpLine(help, name)
		if line == "" {
			t.Errorf("%s: not in the help output:\n%s", f, help)
			continue
		}
		if noEnv(name) {
			if strings.Contains(line, "[$") {
				t.Errorf("%s: help shows an environment variable for a safety override: %s", f, line)
			}
			continue
		}
		if !strings.Contains(line, "$"+flagEnvVar(name)) {
			t.Errorf("%s: help line lacks [$%s]: %s", f, flagEnvVar(name), line)
		}
	}
}

// flagHelpLine finds the help line of --name in the options.
func flagHelpLine(help, name string) string {
	if i := strings.LastIndex(help, "OPTIONS:\n"); i >= 0 {
		help = help[i:]
	}
	for _, l := range strings.Split(help, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "--"+name+" ") || strings.HasPrefix(l, "--"+name+",") {
			return l
		}
	}
	return ""
}

// TestEnvVarsTakeEffect: settings from the environment reach the commands —
// globals and command flags alike, including flags that had no variable
// before bindEnv — while the safety overrides ignore theirs.
func TestEnvVarsTakeEffect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	setenv(t, "BGRENDER_REPO", e.url)
	setenv(t, "BGRENDER_APP", e.app)
	setenv(t, "BGRENDER_NAME", "myapp") // init --name
	setenv(t, "BGRENDER_IMAGE", "ghcr.io/acme/myapp")
	mustBG(t, 0, "init")
	if got := gitopstest.Files(t, e.url, e.branch, e.app)["bgrender.yaml"]; !strings.Contains(got, "image: ghcr.io/acme/myapp") {
		t.Fatalf("init did not take --image from $BGRENDER_IMAGE; bgrender.yaml:\n%s", got)
	}

	head := e.head()
	setenv(t, "BGRENDER_OUTPUT", "json")
	setenv(t, "BGRENDER_DRY_RUN", "true")
	setenv(t, "BGRENDER_VERSION", "v7") // deploy --version, not the global --version
	setenv(t, "BGRENDER_COLOR", "green")
	var res transitionResult
	decodeJSON(t, mustBG(t, 0, "deploy").stdout, &res)
	if !res.DryRun || res.Release == nil || res.Release.Version != "v7" || res.Release.Color != "green" {
		t.Fatalf("dry-run deploy from the environment: %+v", res)
	}
	if e.head() != head {
		t.Fatalf("$BGRENDER_DRY_RUN=true, yet the remote moved")
	}

	setenv(t, "BGRENDER_DRY_RUN", "false")
	res = transitionResult{}
	decodeJSON(t, mustBG(t, 0, "deploy").stdout, &res)
	if res.DryRun || res.Commit != e.head() || res.Test == nil || res.Test.Version != "v7" || res.Test.Color != "green" {
		t.Fatalf("deploy from the environment: %+v", res)
	}

	// The safety overrides take nothing from the environment: a forced
	// promote would land, a replacing deploy would too.
	setenv(t, "BGRENDER_FORCE", "true")
	setenv(t, "BGRENDER_REPLACE", "true")
	if r := mustBG(t, exitRefused, "promote"); !strings.Contains(r.stderr, "no verification evidence") {
		t.Errorf("promote with $BGRENDER_FORCE set: %s", r.stderr)
	}
	if r := mustBG(t, exitRefused, "deploy", "--version", "v8"); !strings.Contains(r.stderr, "already under test") {
		t.Errorf("deploy with $BGRENDER_REPLACE set: %s", r.stderr)
	}
	head = e.head()
	mustBG(t, 0, "deploy", "--version", "v8", "--color", "green", "--replace")
	if e.head() == head {
		t.Errorf("--replace on the command line did not replace")
	}
}

// TestEnvVarBadValue: a variable that is no value for its flag is a usage
// error naming the variable and the flag, and nothing runs.
func TestEnvVarBadValue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	head := e.head()
	setenv(t, "BGRENDER_DRY_RUN", "maybe")
	r := e.run(exitUsage, "deploy", "--version", "v1")
	if !strings.Contains(r.stderr, "$BGRENDER_DRY_RUN") || !strings.Contains(r.stderr, "--dry-run") {
		t.Errorf("stderr does not name the variable and the flag:\n%s", r.stderr)
	}
	setenv(t, "BGRENDER_DRY_RUN", "")
	setenv(t, "BGRENDER_TIMEOUT", "soon")
	if r := e.run(exitUsage, "deploy", "--version", "v1"); !strings.Contains(r.stderr, "$BGRENDER_TIMEOUT") {
		t.Errorf("a command flag's bad variable: %s", r.stderr)
	}
	if e.head() != head {
		t.Fatal("a run with a bad variable committed")
	}
}
