package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// File format identifiers. SchemaVersion changes when the layout of the state
// file changes incompatibly.
const (
	APIVersion = "bgrender.io/v1alpha1"
	Kind       = "ReleaseState"
	// FileName is the state file's name inside an app directory.
	FileName = "bgrender-state.yaml"
)

const header = "# Written by bgrender at every transition; do not edit by hand.\n# Read it with `bgrender status`; check it with `bgrender check`.\n"

type document struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	State      `yaml:",inline"`
}

// Marshal writes s as the state file. The output is deterministic.
func Marshal(s State) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(document{APIVersion: APIVersion, Kind: Kind, State: s}); err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	return buf.Bytes(), nil
}

// Parse reads a state file. Unknown fields, a wrong apiVersion or kind, and
// states that break an invariant are errors; name is used in messages.
func Parse(name string, data []byte) (State, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc document
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return State{}, fmt.Errorf("%s: empty state file", name)
		}
		return State{}, fmt.Errorf("%s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return State{}, fmt.Errorf("%s: more than one YAML document", name)
	}
	if doc.APIVersion != APIVersion {
		return State{}, fmt.Errorf("%s: apiVersion %q: want %q", name, doc.APIVersion, APIVersion)
	}
	if doc.Kind != Kind {
		return State{}, fmt.Errorf("%s: kind %q: want %q", name, doc.Kind, Kind)
	}
	if err := doc.State.Validate(); err != nil {
		return State{}, fmt.Errorf("%s: %w", name, err)
	}
	return doc.State, nil
}

// Validate checks the invariants every state must hold.
func (s State) Validate() error {
	if err := ValidateAppName(s.App); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	seen := map[Color]string{}
	for _, role := range []struct {
		name string
		r    *Release
	}{{"active", s.Active}, {"test", s.Test}, {"standby", s.Standby}} {
		if role.r == nil {
			continue
		}
		if err := role.r.validate(); err != nil {
			return fmt.Errorf("%s: %w", role.name, err)
		}
		if other, ok := seen[role.r.Color]; ok {
			return fmt.Errorf("%s: color %s is already taken by the %s release", role.name, role.r.Color, other)
		}
		seen[role.r.Color] = role.name
	}
	if a := s.Adopted; a != nil {
		if !dns1123Label.MatchString(a.Deployment) || len(a.Deployment) > 63 {
			return fmt.Errorf("adopted.deployment %q: must be a Deployment name (a DNS-1123 label)", a.Deployment)
		}
		if err := validateSnapshot(a.Snapshot); err != nil {
			return fmt.Errorf("adopted: %w", err)
		}
	}
	if s.Standby != nil && s.Active == nil {
		return errors.New("standby: a standby release needs an active release")
	}
	if s.Test != nil && s.Test.Promotion != nil {
		return errors.New("test: a release under test cannot have been promoted")
	}
	for _, role := range []struct {
		name string
		r    *Release
	}{{"active", s.Active}, {"standby", s.Standby}} {
		if role.r != nil && role.r.Replaces != nil {
			return fmt.Errorf("%s: only a release under test replaces a standby", role.name)
		}
	}
	if t := s.Test; t != nil && t.Replaces != nil {
		r := t.Replaces
		if err := r.validate(); err != nil {
			return fmt.Errorf("test.replaces: %w", err)
		}
		switch {
		case r.Replaces != nil:
			return errors.New("test.replaces: a replaced standby replaces nothing")
		case r.Color != t.Color:
			return fmt.Errorf("test.replaces: the replaced standby was in %s, the release under test is in %s", r.Color, t.Color)
		case s.Standby != nil:
			return errors.New("test.replaces: there is a standby already")
		case s.Active == nil:
			return errors.New("test.replaces: a standby needs an active release")
		case r.Promotion == nil:
			return errors.New("test.replaces: a standby was promoted once; this one has no promotion record")
		}
	}
	for _, role := range []struct {
		name string
		r    *Release
	}{{"active", s.Active}, {"standby", s.Standby}} {
		if role.r != nil && role.r.Unrouted {
			return fmt.Errorf("%s: only a release under test can be unrouted", role.name)
		}
		if role.r != nil && role.r.Held {
			return fmt.Errorf("%s: only a release under test can be held", role.name)
		}
	}
	if t := s.Test; t != nil && t.Held && !t.Unrouted {
		return errors.New("test: a held release has no pods, so no test route either")
	}
	switch s.Last.Name {
	case TInit, TDeploy, TPromote, TRollback, TAbort, TDecommission, TVerify, TRoute, TUnroute, TRouteAdopted, THook, THookDone, TUnhold:
	default:
		return fmt.Errorf("lastTransition.name: unknown transition %q", s.Last.Name)
	}
	return nil
}

func (r Release) validate() error {
	if _, err := ParseColor(string(r.Color)); err != nil {
		return err
	}
	if r.Evidence != nil && r.Evidence.Release != r.ID {
		return fmt.Errorf("evidence.release %q: the evidence is not for release %q", r.Evidence.Release, r.ID)
	}
	if err := ValidateVersion(r.Version); err != nil {
		return err
	}
	if r.Snapshot != "" {
		if err := validateSnapshot(r.Snapshot); err != nil {
			return err
		}
	}
	if err := validateHookRuns(r.Hooks); err != nil {
		return err
	}
	return ValidateReleaseID(r.ID)
}

// validateSnapshot checks a snapshot digest: "sha256:" and 64 hex digits.
func validateSnapshot(d string) error {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return fmt.Errorf("snapshot %q: must be sha256: and 64 lowercase hex digits", d)
	}
	return nil
}
