package main

import (
	"slices"
	"strings"
	"testing"
)

// TestHelpEveryCommandHasExamples: `bgrender --help` and `bgrender CMD --help`,
// for every command and subcommand, exit 0 and show examples.
func TestHelpEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	var missing []string
	check := func(name string, args ...string) {
		t.Helper()
		r := bg(t, args...)
		if r.code != exitOK {
			t.Errorf("bgrender %s: exit %d, want 0\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "Examples:") {
			missing = append(missing, name)
		}
	}
	check("bgrender", "--help")
	cmds := allCommands(newApp(&globals{}))
	for _, c := range cmds {
		if c.cmd.Hidden {
			continue
		}
		check(strings.Join(c.path, " "), append(slices.Clone(c.path), "--help")...)
	}
	if len(cmds) < 16 {
		t.Errorf("only %d commands found", len(cmds))
	}
	if len(missing) > 0 {
		t.Errorf("help without Examples: (add examples(...) to the Description): %s", strings.Join(missing, ", "))
	}
}
