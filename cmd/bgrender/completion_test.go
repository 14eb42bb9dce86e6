package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The shells are real ones: bash, zsh and fish, and bash-completion (whose
// word splitting the bash script uses when it is loaded). CI installs them
// (Debian packages bash-completion, zsh, fish).

// completionCase is a command line being completed: the words up to the
// cursor, the last one the word being typed.
type completionCase struct {
	words []string
	want  []string // exactly these candidates, in any order
	has   []string // at least these
	not   []string // none of these
	noRun bool     // the binary must not run at all
}

func completionCases() map[string]completionCase {
	return map[string]completionCase{
		"command":              {words: []string{"bgrender", "dep"}, want: []string{"deploy"}},
		"all commands":         {words: []string{"bgrender", ""}, has: []string{"deploy", "promote", "status", "completion", "version"}, not: []string{"help"}},
		"after global flags":   {words: []string{"bgrender", "--app", "apps/x", "ro"}, want: []string{"rollback", "route"}},
		"global flag":          {words: []string{"bgrender", "--ou"}, want: []string{"--output"}},
		"command flags":        {words: []string{"bgrender", "deploy", "--"}, has: []string{"--version", "--from-tag", "--color", "--replace", "--no-wait"}, not: []string{"--generate-bash-completion", "--repo", "-h"}},
		"command flag":         {words: []string{"bgrender", "deploy", "--from"}, want: []string{"--from-tag"}},
		"completion shells":    {words: []string{"bgrender", "completion", ""}, want: []string{"bash", "zsh", "fish"}},
		"after -- never runs":  {words: []string{"bgrender", "promote", "--force", "--reason", "x", "--", ""}, noRun: true},
		"flags after -- never": {words: []string{"bgrender", "rollback", "--", "--"}, noRun: true},
	}
}

// completionEnv is a directory holding the completion scripts and a
// bgrender on PATH that logs its arguments, then runs the real binary.
type completionEnv struct {
	dir     string // scripts: bgrender.bash, _bgrender (zsh), bgrender.fish
	home    string
	log     string
	environ []string
}

func newCompletionEnv(t *testing.T) *completionEnv {
	t.Helper()
	bin := binary(t)
	dir := t.TempDir()
	c := &completionEnv{dir: dir, home: filepath.Join(dir, "home"), log: filepath.Join(dir, "calls.log")}
	binDir := filepath.Join(dir, "bin")
	for _, d := range []string{c.home, binDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wrapper := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + c.log + "'\nexec '" + bin + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(binDir, "bgrender"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if k == "PATH" || k == "HOME" || strings.HasPrefix(k, envPrefix) || strings.HasPrefix(k, "XDG_") {
			continue
		}
		c.environ = append(c.environ, e)
	}
	c.environ = append(c.environ, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+c.home, "TERM=xterm")
	for file, shell := range map[string]string{"bgrender.bash": "bash", "_bgrender": "zsh", "bgrender.fish": "fish"} {
		out, err := exec.Command(bin, "completion", shell).Output()
		if err != nil {
			t.Fatalf("bgrender completion %s: %v", shell, err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *completionEnv) script(name string) string { return filepath.Join(c.dir, name) }

// shell runs a shell (the command and its arguments) and returns its stdout.
func (c *completionEnv) shell(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(args[0]); err != nil {
		t.Fatalf("%s is not installed: the completion tests need the Debian packages bash-completion, zsh and fish", args[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env, cmd.Dir, cmd.WaitDelay = c.environ, c.home, 5*time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	if errb.Len() > 0 {
		t.Errorf("%s: stderr:\n%s", strings.Join(args, " "), errb.String())
	}
	return out.String()
}

// calls returns and forgets the command lines the wrapper ran.
func (c *completionEnv) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(c.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(c.log); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// check compares the candidates a shell offered with the case.
func (c *completionEnv) check(t *testing.T, shell string, tc completionCase, out string) {
	t.Helper()
	got := strings.Fields(out)
	line := strings.Join(tc.words, " ")
	if calls := c.calls(t); tc.noRun && len(calls) > 0 {
		t.Errorf("%s: completing %q ran bgrender: %q", shell, line, calls)
	} else if !tc.noRun && len(calls) == 0 && shell != "fish" {
		t.Errorf("%s: completing %q did not ask bgrender", shell, line)
	}
	if tc.want != nil || tc.noRun {
		w, g := slices.Sorted(slices.Values(tc.want)), slices.Sorted(slices.Values(got))
		if !slices.Equal(w, g) {
			t.Errorf("%s: %q offers %q, want %q", shell, line, g, w)
		}
	}
	for _, w := range tc.has {
		if !slices.Contains(got, w) {
			t.Errorf("%s: %q offers %q, want %s among them", shell, line, got, w)
		}
	}
	for _, n := range tc.not {
		if slices.Contains(got, n) {
			t.Errorf("%s: %q offers %s: %q", shell, line, n, got)
		}
	}
}

// TestCompletionBash sources the bash script and runs its completion
// function as bash would, with and without bash-completion loaded.
func TestCompletionBash(t *testing.T) {
	t.Parallel()
	c := newCompletionEnv(t)
	c.shell(t, "bash", "-n", c.script("bgrender.bash"))
	if got := c.shell(t, "bash", "-c", `source "$1" && complete -p bgrender`, "bash", c.script("bgrender.bash")); !strings.Contains(got, "-F _bgrender_complete bgrender") {
		t.Fatalf("the script does not register a completion for bgrender: %q", got)
	}
	const complete = `
COMP_WORDS=("${@:2}")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${*:2}"
COMP_POINT=${#COMP_LINE}
_bgrender_complete
printf '%s\n' "${COMPREPLY[@]}"`
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Fatalf("%v: install the Debian package bash-completion", err)
	}
	// Installed where bash-completion loads it on first use.
	installed := filepath.Join(c.home, ".local", "share", "bash-completion", "completions")
	if err := os.MkdirAll(installed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(c.script("bgrender.bash"), filepath.Join(installed, "bgrender")); err != nil {
		t.Fatal(err)
	}
	variants := map[string]string{
		"plain":           `source "$1"`,
		"bash-completion": "source " + bashCompletion + ` && source "$1"`,
		"installed":       "source " + bashCompletion + " && __load_completion bgrender",
	}
	for name, tc := range completionCases() {
		for variant, prelude := range variants {
			t.Run(name+"/"+variant, func(t *testing.T) {
				args := append([]string{"bash", "-c", prelude + complete, "bash", c.script("bgrender.bash")}, tc.words...)
				c.check(t, "bash", tc, c.shell(t, args...))
			})
		}
	}
}

// TestCompletionZsh loads the zsh script both ways the help describes (sourced
// after compinit, and autoloaded from $fpath), runs its completion function
// with compadd stubbed, and completes in an interactive zsh on a pty.
func TestCompletionZsh(t *testing.T) {
	t.Parallel()
	c := newCompletionEnv(t)
	c.shell(t, "zsh", "-n", c.script("_bgrender"))
	fpathDir := filepath.Join(c.dir, "zfunc")
	if err := os.Mkdir(fpathDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(c.script("_bgrender"), filepath.Join(fpathDir, "_bgrender")); err != nil {
		t.Fatal(err)
	}
	loads := map[string]string{
		"source": `autoload -U compinit && compinit -u -D && source ` + c.script("_bgrender"),
		"fpath":  `fpath=(` + fpathDir + ` $fpath) && autoload -U compinit && compinit -u -D`,
	}
	for mode, load := range loads {
		if got := c.shell(t, "zsh", "-f", "-c", load+` && print -r -- "$_comps[bgrender]"`); strings.TrimSpace(got) != "_bgrender" {
			t.Errorf("%s: the completion for bgrender is %q, want _bgrender", mode, got)
		}
	}
	// compadd only works inside a completion widget: the stub adds what real
	// compadd would, the candidates that start with the word being typed.
	const stub = `
compadd() { shift; local w; for w; do [[ $w == ${PREFIX}* ]] && print -r -- $w; done; return 0 }
_files() { return 0 }
words=("$@"); CURRENT=$#; PREFIX=${words[CURRENT]}
_bgrender`
	// The cases need no compinit (the loads above are its test): a stub
	// compdef lets the script be sourced in a plain, quick zsh.
	const noCompinit = `compdef() { :; } && source `
	for name, tc := range completionCases() {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"zsh", "-f", "-c", noCompinit + c.script("_bgrender") + stub, "zsh"}, tc.words...)
			c.check(t, "zsh", tc, c.shell(t, args...))
		})
	}
	// A real completion in ZLE: type, press Tab, read what the line became.
	for mode, load := range loads {
		script := `
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1='%% '; unsetopt beep; ` + load + `; print RE''ADY"
zpty -r z line '*READY*'
zpty -w -n z $'bgrender dep\t'
zpty -r z line '*deploy*'
zpty -w -n z $'\C-u'
zpty -w -n z $'bgrender deploy --from\t'
zpty -r z line '*from-tag*'
zpty -d z
print -r -- ok`
		if got := c.shell(t, "zsh", "-f", "-c", script); !strings.HasSuffix(got, "ok\n") {
			t.Errorf("%s: interactive completion: %q", mode, got)
		}
	}
	c.calls(t)
}

// TestCompletionFish checks the fish script's syntax and completes with it,
// sourced and installed where the help says.
func TestCompletionFish(t *testing.T) {
	t.Parallel()
	c := newCompletionEnv(t)
	c.shell(t, "fish", "-n", c.script("bgrender.fish"))
	cases := map[string]completionCase{
		"command":           {words: []string{"bgrender", "dep"}, want: []string{"deploy"}},
		"all commands":      {words: []string{"bgrender", ""}, has: []string{"deploy", "promote", "status", "completion", "version"}, not: []string{"help"}},
		"global flag":       {words: []string{"bgrender", "--ou"}, want: []string{"--output"}},
		"command flags":     {words: []string{"bgrender", "deploy", "--"}, has: []string{"--version", "--from-tag", "--color", "--replace", "--no-wait"}, not: []string{"--repo", "--poll-interval"}},
		"command flag":      {words: []string{"bgrender", "deploy", "--from"}, want: []string{"--from-tag"}},
		"completion shells": {words: []string{"bgrender", "completion", ""}, want: []string{"bash", "zsh", "fish"}},
	}
	installed := filepath.Join(c.home, ".config", "fish", "completions")
	if err := os.MkdirAll(installed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(c.script("bgrender.fish"), filepath.Join(installed, "bgrender.fish")); err != nil {
		t.Fatal(err)
	}
	for name, tc := range cases {
		for mode, load := range map[string][]string{
			"source":    {"fish", "-N", "-c", "source " + c.script("bgrender.fish") + "; complete -C $argv[1]"},
			"installed": {"fish", "-c", "complete -C $argv[1]"},
		} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				out := c.shell(t, append(load, strings.Join(tc.words, " "))...)
				var words []string
				for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
					if w, _, _ := strings.Cut(l, "\t"); w != "" {
						words = append(words, w)
					}
				}
				c.check(t, "fish", tc, strings.Join(words, "\n"))
			})
		}
	}
}

// TestCompletionUsage: an unknown or missing shell is a usage error that
// names it and the valid ones.
func TestCompletionUsage(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"unknown": {"completion", "tcsh"},
		"none":    {"completion"},
		"two":     {"completion", "bash", "zsh"},
	} {
		t.Run(name, func(t *testing.T) {
			r := mustBG(t, exitUsage, args...)
			if !strings.Contains(r.stderr, "bash, zsh, fish") || (name == "unknown" && !strings.Contains(r.stderr, `"tcsh"`)) {
				t.Errorf("stderr does not name the argument and the shells:\n%s", r.stderr)
			}
		})
	}
	if r := mustBG(t, 0, "completion", "bash"); r.stdout != bashCompletion {
		t.Errorf("completion bash printed something else than the script")
	}
}
