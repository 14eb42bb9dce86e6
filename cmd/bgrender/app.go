package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/vet"
)

// globals holds the flags that come before the command, and the streams.
type globals struct {
	repo, branch, app string
	remote            string
	dryRun, noPush    bool
	output            string
	authorName        string
	authorEmail       string
	gitUsername       string
	gitToken          string
	sshKey            string
	sshKeyPassphrase  string
	signKey           string
	signKeyPassphrase string
	signer            gitops.Signer // loaded from --sign-key on first use

	// pr is set while a transition runs with --pr: it is proposed on its
	// own branch as a pull request.
	pr *prOpts

	// getenv reads the environment (forge tokens).
	getenv func(string) string

	// builder serialises kustomize builds: kustomize keeps process-wide state.
	builder *render.Builder

	// limitOpts are the --max-* flags; limits what they set (zero: the
	// defaults), for reading app dirs and for builds.
	limitOpts limitOpts
	limits    vet.Limits

	// jitter randomises a retry's backoff (nil: none).
	jitter func(time.Duration) time.Duration

	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	// sleep waits between smoke check retries (nil: a real timer).
	sleep func(context.Context, time.Duration) error
}

func (g *globals) json() bool { return g.output == "json" }

// run is the whole program: it parses args, runs one command and returns the
// exit code. Nothing below it calls os.Exit.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, args, stdin, stdout, stderr)
}

// runWith is run with what it takes from the process (environment, clock,
// sleeps) replaced by opts, for tests.
func runWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, opts ...func(*globals)) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, getenv: os.Getenv, builder: &render.Builder{},
		jitter: func(d time.Duration) time.Duration { return d/2 + rand.N(d) }}
	for _, o := range opts {
		o(g)
	}
	app := newApp(g)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	var sig signalError
	if cause := context.Cause(ctx); errors.As(cause, &sig) && ctx.Err() != nil {
		fmt.Fprintf(stderr, "bgrender: %v: %v\n", sig, err)
		return signalCode(sig.sig)
	}
	var f findingsError
	if !errors.As(err, &f) {
		fmt.Fprintf(stderr, "bgrender: %v\n", err)
	}
	code := exitCode(err)
	if code == exitUsage {
		fmt.Fprintln(stderr, "Run 'bgrender --help' or 'bgrender COMMAND --help' for usage.")
	}
	return code
}

func newApp(g *globals) *cli.App {
	app := &cli.App{
		Name:  "bgrender",
		Usage: "blue-green releases on Kubernetes and Istio, one git commit per transition",
		Description: `bgrender never touches the cluster. It rewrites an environment repo: for each
state of a blue-green release it renders kustomize overlays (the Deployment of
each color, the cookie test route, the default route), commits the transition
and pushes it, and Argo CD or Flux applies what lands.

Exit codes: 0 done, 1 error, 2 usage, 3 refused by a safety check (nothing changed).

Examples:
   bgrender demo                                          # a whole cycle in a throwaway repo
   bgrender --app apps/myapp init --name myapp --image ghcr.io/acme/myapp
   bgrender --app apps/myapp deploy --version v2.0        # into the idle color, behind the test route
   bgrender --app apps/myapp deploy --from-tag v2.0-green
   bgrender --app apps/myapp promote --force --reason "smoke tests passed in job 812"
   bgrender --app apps/myapp rollback
   bgrender --repo https://git.example.com/env.git --app apps/myapp -o json status
   bgrender check --all                                   # what an env-repo pull request check runs`,
		Version:              buildVersion().summary(),
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		Writer:               g.stdout,
		ErrWriter:            g.stderr,
		Reader:               g.stdin,
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError:         onUsageError,
		Flags:                globalFlags(g),
		Before: func(c *cli.Context) error {
			if g.output != "text" && g.output != "json" {
				return usagef("-o %q: must be text or json", g.output)
			}
			l, err := g.limitOpts.limits()
			if err != nil {
				return err
			}
			g.limits = l
			if g.builder != nil {
				g.builder.Limits = l
			}
			g.locate(c.IsSet("app"), c.Args().First())
			return nil
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unknown command %q", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{
			initCommand(g),
			deployCommand(g),
			promoteCommand(g),
			rollbackCommand(g),
			abortCommand(g),
			routeCommand(g),
			waitCommand(g),
			verifyCommand(g),
			hookCommand(g),
			unholdCommand(g),
			analyzeCommand(g),
			releaseCommand(g),
			decommissionCommand(g),
			statusCommand(g),
			checkCommand(g),
			renderCommand(g),
			migrateCommand(g),
			demoCommand(g),
			completionCommand(g),
			versionCommand(g),
		},
	}
	globalNames := map[string]bool{}
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			globalNames[n] = true
		}
	}
	for _, c := range app.Commands {
		c.OnUsageError = commandUsageError(c.Name, globalNames)
	}
	bindEnv(app, g.getenv)
	return app
}

func onUsageError(_ *cli.Context, err error, _ bool) error { return usageError{Err: err} }

// undefinedFlag is urfave/cli's message for a flag a command does not have.
var undefinedFlag = regexp.MustCompile(`flag provided but not defined: -+([^\s=]+)`)

// commandUsageError says, for a global flag given after the command, to put
// it before the command.
func commandUsageError(cmd string, global map[string]bool) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		if m := undefinedFlag.FindStringSubmatch(err.Error()); m != nil && global[m[1]] {
			flag := "--" + m[1]
			if len(m[1]) == 1 {
				flag = "-" + m[1]
			}
			return usagef("%s is a global flag: put it before the command (bgrender %s ... %s ...)", flag, flag, cmd)
		}
		return usageError{Err: err}
	}
}

func globalFlags(g *globals) []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "repo", Value: ".", Destination: &g.repo,
			Usage: "env repo: a local checkout (any directory inside it, as for git), or a remote URL (https://, ssh://, file://, git@host:path) cloned into memory"},
		&cli.StringFlag{Name: "branch", Destination: &g.branch,
			Usage: "branch to read and commit to (default: the checked-out branch, or the remote's default branch)"},
		&cli.StringFlag{Name: "app", Value: ".", Destination: &g.app,
			Usage: "app directory, relative to the repo root (default: the app dir you are in, inside a local checkout)"},
		&cli.StringFlag{Name: "remote", Destination: &g.remote,
			Usage: "the remote of a local checkout to push to (default: the branch's upstream remote, else origin)"},
		&cli.BoolFlag{Name: "dry-run", Destination: &g.dryRun,
			Usage: "print the unified diff of the transition; write, commit and push nothing"},
		&cli.BoolFlag{Name: "no-push", Destination: &g.noPush,
			Usage: "commit locally without pushing (local checkouts only)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Destination: &g.output,
			Usage: "output format: text or json"},
		&cli.StringFlag{Name: "author-name", Value: "bgrender", Destination: &g.authorName,
			Usage: "commit author name"},
		&cli.StringFlag{Name: "author-email", Value: "bgrender@localhost", Destination: &g.authorEmail,
			Usage: "commit author email"},
		&cli.StringFlag{Name: "git-username", Destination: &g.gitUsername,
			Usage: "username for HTTPS remotes (default \"git\" when a token is set)"},
		&cli.StringFlag{Name: "git-token", Destination: &g.gitToken,
			Usage: "token or password for HTTPS remotes; prefer the environment variable", DefaultText: "from $BGRENDER_GIT_TOKEN"},
		&cli.StringFlag{Name: "ssh-key", Destination: &g.sshKey,
			Usage: "private key file for SSH remotes"},
		&cli.StringFlag{Name: "ssh-key-passphrase", Destination: &g.sshKeyPassphrase,
			Usage: "passphrase of --ssh-key", DefaultText: "from $BGRENDER_SSH_KEY_PASSPHRASE"},
		&cli.StringFlag{Name: "sign-key", Destination: &g.signKey,
			Usage: "sign every commit with this key: an armored OpenPGP private key (gpg --export-secret-keys --armor) or an OpenSSH private key (git's gpg.format=ssh)"},
		&cli.StringFlag{Name: "sign-key-passphrase", Destination: &g.signKeyPassphrase,
			Usage: "passphrase of --sign-key", DefaultText: "from $BGRENDER_SIGN_KEY_PASSPHRASE"},
	}, limitFlags(&g.limitOpts)...)
}

// examples formats a command's help examples.
func examples(lines ...string) string {
	return "Examples:\n   " + strings.Join(lines, "\n   ")
}
