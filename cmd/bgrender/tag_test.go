package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/bgrender/bgrender/pkg/state"
)

func TestParseTag(t *testing.T) {
	t.Parallel()
	for tag, want := range map[string]struct {
		version string
		color   state.Color
	}{
		"v2.0-green":       {"v2.0", state.Green},
		"v1.2.3-blue":      {"v1.2.3", state.Blue},
		"release-7-blue":   {"release-7", state.Blue},
		"1.0.0-rc.1-green": {"1.0.0-rc.1", state.Green},
	} {
		v, c, err := parseTag(tag)
		if err != nil || v != want.version || c != want.color {
			t.Errorf("parseTag(%q) = %q, %q, %v; want %q, %q", tag, v, c, err, want.version, want.color)
		}
	}
	for _, bad := range []string{"", "v2.0", "v2.0-red", "-green", "v2.0-Green", "v2 0-green", "v2:0-green", "v2.0-green\n", "v1-green-blue", "v1-blue-blue"} {
		if _, _, err := parseTag(bad); !errors.As(err, new(usageError)) {
			t.Errorf("parseTag(%q) = %v, want a usage error", bad, err)
		}
	}
	// Once accepted as version v1-green in blue.
	if _, _, err := parseTag("v1-green-blue"); err == nil || !strings.Contains(err.Error(), `the version "v1-green" ends in a color too; a tag has one color suffix, e.g. v1-blue`) {
		t.Errorf("parseTag(v1-green-blue) = %v", err)
	}
}

// FuzzParseTag: the tag parser never panics, and what it accepts is a valid
// version and color that reassemble into the tag.
func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"v2.0-green", "v1-blue", "x-blue-green", "-blue", "v\n-green"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		v, c, err := parseTag(tag)
		if err != nil {
			return
		}
		if state.ValidateVersion(v) != nil || tagPattern.MatchString(v) {
			t.Fatalf("parseTag(%q) accepted invalid version %q", tag, v)
		}
		if _, err := state.ParseColor(string(c)); err != nil || v+"-"+string(c) != tag {
			t.Fatalf("parseTag(%q) = %q, %q", tag, v, c)
		}
	})
}
