package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/wait"
)

// waitOpts are the flags that choose and tune the controller to wait on;
// each overrides the wait section of bgrender.yaml.
type waitOpts struct {
	controller, name, namespace                string
	server, caFile                             string
	insecure                                   bool
	kubeconfig, kubeContext                    string
	timeout, cooldown, interval, stuckDeletion time.Duration
}

func waitFlags(o *waitOpts) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "controller", Destination: &o.controller,
			Usage: "GitOps controller to wait on: argocd (REST API), argocd-kube (Application via the Kubernetes API) or flux (default: wait.controller in bgrender.yaml)"},
		&cli.StringFlag{Name: "controller-name", Destination: &o.name,
			Usage: "name of the Argo CD Application or Flux Kustomization (default: wait.name, or the app name)"},
		&cli.StringFlag{Name: "controller-namespace", Destination: &o.namespace,
			Usage: "its namespace (default: wait.namespace, or argocd / flux-system)"},
		&cli.StringFlag{Name: "argocd-server", Destination: &o.server,
			Usage: "Argo CD API server URL; the token comes from $BGRENDER_ARGOCD_TOKEN (or $ARGOCD_AUTH_TOKEN)"},
		&cli.StringFlag{Name: "argocd-ca-file", Destination: &o.caFile,
			Usage: "CA bundle to verify the Argo CD server"},
		&cli.BoolFlag{Name: "argocd-insecure", Destination: &o.insecure,
			Usage: "skip TLS verification of the Argo CD server"},
		&cli.StringFlag{Name: "kubeconfig", Destination: &o.kubeconfig, EnvVars: []string{"KUBECONFIG"},
			Usage: "kubeconfig for argocd-kube and flux (default: $KUBECONFIG, then ~/.kube/config)"},
		&cli.StringFlag{Name: "kube-context", Destination: &o.kubeContext, Usage: "kubeconfig context"},
		&cli.DurationFlag{Name: "timeout", Destination: &o.timeout, EnvVars: []string{"BGRENDER_WAIT_TIMEOUT"},
			Usage: "give up waiting after this long (default: wait.timeout, or 10m)"},
		&cli.DurationFlag{Name: "cooldown", Destination: &o.cooldown, EnvVars: []string{"BGRENDER_WAIT_COOLDOWN"},
			Usage: "how long Argo CD must report Healthy after a sync (default: wait.cooldown, or 10s)"},
		&cli.DurationFlag{Name: "stuck-deletion", Destination: &o.stuckDeletion,
			Usage: "how long an object Argo CD is deleting may stay held by a finalizer before the wait fails naming it; negative: never (default: wait.stuckDeletion, or 5m)"},
		&cli.DurationFlag{Name: "poll-interval", Value: 2 * time.Second, Destination: &o.interval, Hidden: true},
	}
}

// merged returns the wait config with flags over bgrender.yaml over defaults.
func (o waitOpts) merged(cfg config.Config) (config.Wait, error) {
	w := cfg.Wait
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&w.Controller, o.controller)
	set(&w.Name, o.name)
	set(&w.Namespace, o.namespace)
	set(&w.Server, o.server)
	set(&w.CAFile, o.caFile)
	if o.insecure {
		w.InsecureSkipVerify = true
	}
	if o.timeout != 0 {
		w.Timeout.Duration = o.timeout
	}
	if o.cooldown != 0 {
		w.Cooldown.Duration = o.cooldown
	}
	if o.stuckDeletion != 0 {
		w.StuckDeletion.Duration = o.stuckDeletion
	}
	if err := w.Validate(); err != nil {
		return w, usagef("%v", err)
	}
	return w.WithDefaults(cfg.App), nil
}

// configured reports whether a controller to wait on is known.
func (o waitOpts) configured(cfg config.Config) bool {
	return o.controller != "" || cfg.Wait.Controller != ""
}

// source builds the wait.Source for the app.
func (g *globals) source(cfg config.Config, o waitOpts) (wait.Source, config.Wait, error) {
	w, err := o.merged(cfg)
	if err != nil {
		return nil, w, err
	}
	switch w.Controller {
	case "":
		return nil, w, usagef("no GitOps controller to wait on: set wait.controller in %s or pass --controller argocd|argocd-kube|flux", config.FileName)
	case config.ControllerArgoCD:
		token := g.getenv("BGRENDER_ARGOCD_TOKEN")
		if token == "" {
			token = g.getenv("ARGOCD_AUTH_TOKEN")
		}
		if token == "" {
			return nil, w, usagef("no Argo CD token: set $BGRENDER_ARGOCD_TOKEN (a token of an account that may get the application)")
		}
		client, err := httpClient(w)
		if err != nil {
			return nil, w, err
		}
		return &wait.ArgoCDREST{Server: w.Server, Token: token, App: w.Name, Cooldown: w.Cooldown.Duration, StuckDeletion: w.StuckDeletion.Duration, HTTPClient: client}, w, nil
	default:
		dyn, err := wait.KubeClient(o.kubeconfig, o.kubeContext)
		if err != nil {
			return nil, w, fmt.Errorf("kubeconfig: %w", err)
		}
		if w.Controller == config.ControllerFlux {
			return &wait.FluxKustomization{Client: dyn, Namespace: w.Namespace, Kustomization: w.Name, StuckDeletion: w.StuckDeletion.Duration}, w, nil
		}
		return &wait.ArgoCDKube{Client: dyn, Namespace: w.Namespace, App: w.Name, Cooldown: w.Cooldown.Duration, StuckDeletion: w.StuckDeletion.Duration}, w, nil
	}
}

func httpClient(w config.Wait) (*http.Client, error) {
	tr := httptransport.New()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: w.InsecureSkipVerify} //nolint:gosec // user's explicit choice
	if w.CAFile != "" {
		pem, err := os.ReadFile(w.CAFile)
		if err != nil {
			return nil, fmt.Errorf("wait.caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("wait.caFile %s: no PEM certificates in it", w.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// progress prints wait progress: one rewritten line on a terminal, a line
// per change (and every 30 s) in CI logs.
type progress struct {
	w        io.Writer
	terminal bool
	last     string
	lastAt   time.Duration
	printed  bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	if quiet {
		return &progress{w: io.Discard}
	}
	f, ok := w.(*os.File)
	return &progress{w: w, terminal: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) report(pr wait.Progress) {
	o := pr.Observation
	state := fmt.Sprintf("%s, %s", orDash(o.Sync), orDash(o.Health))
	line := fmt.Sprintf("waiting for %s to apply %s: %s", pr.Source, short(pr.Commit), state)
	if o.Waiting != "" {
		line += " (" + o.Waiting + ")"
	}
	elapsed := pr.Elapsed.Round(time.Second)
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s, %s", line, elapsed)
		p.printed = true
		return
	}
	if line != p.last || pr.Elapsed-p.lastAt >= 30*time.Second {
		fmt.Fprintf(p.w, "%s, %s\n", line, elapsed)
		p.last, p.lastAt = line, pr.Elapsed
	}
}

func (p *progress) done() {
	if p.terminal && p.printed {
		fmt.Fprintln(p.w)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
