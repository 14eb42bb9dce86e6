package config

import (
	"fmt"
	"regexp"
	"strings"
)

// When a hook runs.
const (
	// HookBeforeDeploy runs before the new color's pods exist (its
	// Deployment is applied at 0 replicas, its ConfigMaps and Secrets in
	// place): a migration that must precede them.
	HookBeforeDeploy = "beforeDeploy"
	// HookAfterDeploy runs once the new color is up, before promotion: the
	// classic place for migrations and in-cluster tests.
	HookAfterDeploy = "afterDeploy"
)

// Hook is a command run as a Kubernetes Job for a release, committed as its
// own transition and waited on like every other.
type Hook struct {
	// Name names the hook (a DNS-1123 label): the Job is
	// <app>-<hook>-<release>[-<attempt>].
	Name string `yaml:"name"`
	// When is beforeDeploy or afterDeploy.
	When string `yaml:"when"`
	// Command is the container's command and arguments, e.g.
	// [npm, run, migrate].
	Command []string `yaml:"command"`
	// Image defaults to the release's (<image>:<version>).
	Image string `yaml:"image,omitempty"`
	// BackoffLimit is the Job's retries (default 0: a migration that
	// failed once is looked at by a person, not run again).
	BackoffLimit *int `yaml:"backoffLimit,omitempty"`
	// ActiveDeadlineSeconds bounds the Job (default 600).
	ActiveDeadlineSeconds int `yaml:"activeDeadlineSeconds,omitempty"`
	// Resources are the container's requests and limits, e.g.
	// {requests: {cpu: 100m, memory: 128Mi}}.
	Resources map[string]map[string]string `yaml:"resources,omitempty"`
}

// DefaultHookDeadline is a hook Job's activeDeadlineSeconds when none is set.
const DefaultHookDeadline = 600

// Deadline is the hook's activeDeadlineSeconds, defaulted.
func (h Hook) Deadline() int {
	if h.ActiveDeadlineSeconds == 0 {
		return DefaultHookDeadline
	}
	return h.ActiveDeadlineSeconds
}

// Retries is the hook's backoffLimit, defaulted.
func (h Hook) Retries() int {
	if h.BackoffLimit == nil {
		return 0
	}
	return *h.BackoffLimit
}

// HookNamed returns the hook with that name.
func (c Config) HookNamed(name string) (Hook, bool) {
	for _, h := range c.Hooks {
		if h.Name == name {
			return h, true
		}
	}
	return Hook{}, false
}

// HooksWhen lists the hooks that run at when, in the order of the file.
func (c Config) HooksWhen(when string) []Hook {
	var out []Hook
	for _, h := range c.Hooks {
		if h.When == when {
			out = append(out, h)
		}
	}
	return out
}

// quantity is a Kubernetes resource quantity such as 100m, 128Mi, 1.5, 2G.
var quantity = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`)

// maxHookNames leaves room, in a Job's 63-character name (its pods' job-name
// label), for at least 10 characters that tell the runs apart (the release
// id and the attempt, or their digest).
const maxHookNames = 63 - len("-0123456789")

func validateHooks(app string, hooks []Hook) error {
	seen := map[string]bool{}
	for i, h := range hooks {
		field := fmt.Sprintf("hooks[%d]", i)
		if len(h.Name) > 63 || !dns1123Subdomain.MatchString(h.Name) || strings.Contains(h.Name, ".") {
			return fmt.Errorf("%s.name %q: must be a DNS-1123 label, e.g. migrate", field, h.Name)
		}
		if seen[h.Name] {
			return fmt.Errorf("%s.name %q: two hooks have that name", field, h.Name)
		}
		seen[h.Name] = true
		if n := len(app) + 1 + len(h.Name); n > maxHookNames {
			return fmt.Errorf("%s.name %q: with the app's name it makes Job names longer than Kubernetes allows (%s-%s is %d characters, at most %d)", field, h.Name, app, h.Name, n, maxHookNames)
		}
		switch h.When {
		case HookBeforeDeploy, HookAfterDeploy:
		default:
			return fmt.Errorf("%s.when %q: must be %s or %s", field, h.When, HookBeforeDeploy, HookAfterDeploy)
		}
		if len(h.Command) == 0 || h.Command[0] == "" {
			return fmt.Errorf("%s.command: the command to run, e.g. [npm, run, migrate]", field)
		}
		for j, arg := range h.Command {
			if strings.ContainsRune(arg, 0) {
				return fmt.Errorf("%s.command[%d]: must not contain NUL", field, j)
			}
		}
		if h.Image != "" && !imageRef.MatchString(h.Image) {
			return fmt.Errorf("%s.image %q: must be an image reference with a tag or digest, e.g. ghcr.io/acme/tools:1.2", field, h.Image)
		}
		if h.BackoffLimit != nil && (*h.BackoffLimit < 0 || *h.BackoffLimit > 10) {
			return fmt.Errorf("%s.backoffLimit %d: must be between 0 and 10", field, *h.BackoffLimit)
		}
		if h.ActiveDeadlineSeconds < 0 || h.ActiveDeadlineSeconds > 86400 {
			return fmt.Errorf("%s.activeDeadlineSeconds %d: must be between 1 and 86400", field, h.ActiveDeadlineSeconds)
		}
		for kind, rs := range h.Resources {
			if kind != "requests" && kind != "limits" {
				return fmt.Errorf("%s.resources.%s: must be requests or limits", field, kind)
			}
			for name, q := range rs {
				if name != "cpu" && name != "memory" && name != "ephemeral-storage" {
					return fmt.Errorf("%s.resources.%s.%s: must be cpu, memory or ephemeral-storage", field, kind, name)
				}
				if !quantity.MatchString(q) {
					return fmt.Errorf("%s.resources.%s.%s %q: must be a quantity such as 100m or 128Mi", field, kind, name, q)
				}
			}
		}
	}
	return nil
}

// imageRef is an image repository with a tag or a digest.
var imageRef = regexp.MustCompile(`^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$`)
