package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// envPrefix starts the conventional environment variable of every flag:
// --expect-release is also $BGRENDER_EXPECT_RELEASE.
const envPrefix = "BGRENDER_"

// noEnv reports the flags deliberately without an environment variable: the
// safety overrides. A value left in a CI job's environment would silently
// apply to every later command of the job, so each use must be spelled out
// on the command line.
func noEnv(flag string) bool {
	switch flag {
	case "force", // promote without verification evidence
		"replace": // deploy over a release that is under test
		return true
	}
	return false
}

// flagEnvVar is the conventional environment variable of a flag name.
func flagEnvVar(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// bindEnv gives every flag of the app, its commands and their subcommands
// its conventional environment variable, after any it already has (those
// keep their precedence), so flags added later get one too. The flags in
// noEnv get none, even one given by hand.
//
// The variables are read through getenv (nil: none), in the Before of the
// app (for its flags) and of each command (for its flags): a flag not
// given on the command line takes the value of the first of its variables
// that getenv has. urfave/cli reads the process's environment as well,
// which for the program (getenv is os.Getenv) is the same thing; a test
// passes its own getenv and needs no t.Setenv.
func bindEnv(app *cli.App, getenv func(string) string) {
	bindFlags(app.Flags)
	app.Before = withEnv(app.Before, app.Flags, getenv)
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			bindFlags(c.Flags)
			c.Before = withEnv(c.Before, c.Flags, getenv)
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
}

// withEnv runs before after setting flags from their variables.
func withEnv(before cli.BeforeFunc, flags []cli.Flag, getenv func(string) string) cli.BeforeFunc {
	return func(c *cli.Context) error {
		if getenv != nil {
			if err := applyEnv(c, flags, getenv); err != nil {
				return err
			}
		}
		if before != nil {
			return before(c)
		}
		return nil
	}
}

// applyEnv sets each of flags not set yet from the first of its variables
// that getenv has.
func applyEnv(c *cli.Context, flags []cli.Flag, getenv func(string) string) error {
	for _, f := range flags {
		vars := envVarsOf(f)
		name := f.Names()[0]
		if vars == nil || urfaveFlag(f) || c.IsSet(name) {
			continue
		}
		for _, v := range *vars {
			val := getenv(v)
			if val == "" {
				continue
			}
			if err := c.Set(name, val); err != nil {
				return usagef("$%s: %q is not a value for --%s: %v", v, val, name, err)
			}
			break
		}
	}
	return nil
}

func bindFlags(flags []cli.Flag) {
	for _, f := range flags {
		if urfaveFlag(f) {
			continue
		}
		vars := envVarsOf(f)
		if vars == nil {
			continue // TestEnvVarsEveryFlag fails on a flag type envVarsOf does not know
		}
		name := f.Names()[0]
		if noEnv(name) {
			*vars = nil
			continue
		}
		if v := flagEnvVar(name); !slices.Contains(*vars, v) {
			*vars = append(*vars, v)
		}
	}
}

// urfaveFlag reports urfave/cli's own flags (help, version, completion):
// they are package-level values shared by every app, and must stay unbound.
func urfaveFlag(f cli.Flag) bool {
	return f == cli.HelpFlag || f == cli.VersionFlag || f == cli.BashCompletionFlag
}

// envVarsOf returns a pointer to the EnvVars of a flag, or nil when the flag
// type is not one of urfave/cli v2's.
func envVarsOf(f cli.Flag) *[]string {
	switch f := f.(type) {
	case *cli.StringFlag:
		return &f.EnvVars
	case *cli.BoolFlag:
		return &f.EnvVars
	case *cli.DurationFlag:
		return &f.EnvVars
	case *cli.IntFlag:
		return &f.EnvVars
	case *cli.Int64Flag:
		return &f.EnvVars
	case *cli.UintFlag:
		return &f.EnvVars
	case *cli.Uint64Flag:
		return &f.EnvVars
	case *cli.Float64Flag:
		return &f.EnvVars
	case *cli.StringSliceFlag:
		return &f.EnvVars
	case *cli.IntSliceFlag:
		return &f.EnvVars
	case *cli.Int64SliceFlag:
		return &f.EnvVars
	case *cli.UintSliceFlag:
		return &f.EnvVars
	case *cli.Uint64SliceFlag:
		return &f.EnvVars
	case *cli.Float64SliceFlag:
		return &f.EnvVars
	case *cli.PathFlag:
		return &f.EnvVars
	case *cli.TimestampFlag:
		return &f.EnvVars
	case *cli.GenericFlag:
		return &f.EnvVars
	}
	return nil
}
