package config

import (
	"fmt"
	"net/url"
	"time"
)

// Controllers bgrender can wait on.
const (
	ControllerArgoCD     = "argocd"      // Argo CD REST API
	ControllerArgoCDKube = "argocd-kube" // Argo CD Application through the Kubernetes API
	ControllerFlux       = "flux"        // Flux Kustomization through the Kubernetes API
)

// Wait says which GitOps controller applies the app dir and how to read it.
// The Argo CD token comes from the environment, never from this file.
type Wait struct {
	// Controller is argocd, argocd-kube or flux; empty means none configured.
	Controller string `yaml:"controller,omitempty"`
	// Name of the Argo CD Application or Flux Kustomization (default: the app).
	Name string `yaml:"name,omitempty"`
	// Namespace of that object (default argocd, or flux-system for Flux).
	Namespace string `yaml:"namespace,omitempty"`
	// Server is the Argo CD API server URL (controller argocd).
	Server string `yaml:"server,omitempty"`
	// InsecureSkipVerify skips TLS verification of Server.
	InsecureSkipVerify bool `yaml:"insecureSkipVerify,omitempty"`
	// CAFile verifies Server with this CA bundle.
	CAFile string `yaml:"caFile,omitempty"`
	// Cooldown: how long Healthy must hold after a sync (Argo CD), default 10s.
	Cooldown Duration `yaml:"cooldown,omitempty"`
	// Timeout of one wait, default 10m.
	Timeout Duration `yaml:"timeout,omitempty"`
	// StuckDeletion: how long an object Argo CD is deleting may stay in
	// deletion (held by a finalizer) before a wait fails naming it, default
	// 5m; "-1s" (negative) waits to the timeout.
	StuckDeletion Duration `yaml:"stuckDeletion,omitempty"`
}

// Duration is a time.Duration written as "10s" in YAML.
type Duration struct{ time.Duration }

// UnmarshalYAML reads "10s", "2m".
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as "10s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// IsZero lets omitempty drop unset durations.
func (d Duration) IsZero() bool { return d.Duration == 0 }

// WithDefaults fills in what the user left out, for app.
func (w Wait) WithDefaults(app string) Wait {
	if w.Name == "" {
		w.Name = app
	}
	if w.Namespace == "" {
		w.Namespace = "argocd"
		if w.Controller == ControllerFlux {
			w.Namespace = "flux-system"
		}
	}
	if w.Cooldown.Duration == 0 {
		w.Cooldown.Duration = 10 * time.Second
	}
	if w.Timeout.Duration == 0 {
		w.Timeout.Duration = 10 * time.Minute
	}
	if w.StuckDeletion.Duration == 0 {
		w.StuckDeletion.Duration = 5 * time.Minute
	}
	return w
}

// Validate checks the wait section, naming fields as in bgrender.yaml.
func (w Wait) Validate() error {
	switch w.Controller {
	case "", ControllerArgoCD, ControllerArgoCDKube, ControllerFlux:
	default:
		return fmt.Errorf("wait.controller %q: must be %s, %s or %s", w.Controller, ControllerArgoCD, ControllerArgoCDKube, ControllerFlux)
	}
	if w.Name != "" && !dns1123Subdomain.MatchString(w.Name) {
		return fmt.Errorf("wait.name %q: must be a Kubernetes object name", w.Name)
	}
	if w.Namespace != "" && !dns1123Subdomain.MatchString(w.Namespace) {
		return fmt.Errorf("wait.namespace %q: must be a Kubernetes namespace", w.Namespace)
	}
	if w.Server != "" {
		u, err := url.Parse(w.Server)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return fmt.Errorf("wait.server: must be an http(s) URL without credentials, e.g. https://argocd.example.com")
		}
	}
	if w.Controller == ControllerArgoCD && w.Server == "" {
		return fmt.Errorf("wait.server: the Argo CD API server URL is required with controller %s", ControllerArgoCD)
	}
	for name, d := range map[string]Duration{"wait.cooldown": w.Cooldown, "wait.timeout": w.Timeout} {
		if d.Duration < 0 {
			return fmt.Errorf("%s %s: must not be negative", name, d)
		}
	}
	return nil
}

// TokenTarget says where bgrender sends the Argo CD token under this wait
// section, and how it checks whom it talks to: the server URL, with the CA
// file or the skipped TLS verification. It is "" when no token is sent
// (another controller, or no server). Two sections with the same TokenTarget
// send the token to the same place.
func (w Wait) TokenTarget() string {
	if w.Server == "" || (w.Controller != "" && w.Controller != ControllerArgoCD) {
		return ""
	}
	t := w.Server
	if w.CAFile != "" {
		t += " (CA file " + w.CAFile + ")"
	}
	if w.InsecureSkipVerify {
		t += " (TLS not verified)"
	}
	return t
}
