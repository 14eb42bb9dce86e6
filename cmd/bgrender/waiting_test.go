package main

import (
	"testing"
	"time"

	"github.com/bgrender/bgrender/pkg/config"
)

// TestWaitOptsMerged: flags override bgrender.yaml's wait section, and what
// neither sets gets the defaults.
func TestWaitOptsMerged(t *testing.T) {
	t.Parallel()
	cfg := config.Config{App: "myapp", Wait: config.Wait{Controller: config.ControllerFlux,
		Cooldown: config.Duration{Duration: 3 * time.Second}, StuckDeletion: config.Duration{Duration: time.Minute}}}
	for _, tc := range []struct {
		name                  string
		opts                  waitOpts
		cooldown, stuck, tout time.Duration
	}{
		{name: "the file", cooldown: 3 * time.Second, stuck: time.Minute, tout: 10 * time.Minute},
		{name: "flags", opts: waitOpts{cooldown: time.Second, stuckDeletion: 15 * time.Second, timeout: time.Minute},
			cooldown: time.Second, stuck: 15 * time.Second, tout: time.Minute},
		{name: "never stuck", opts: waitOpts{stuckDeletion: -1}, cooldown: 3 * time.Second, stuck: -1, tout: 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := tc.opts.merged(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if w.Cooldown.Duration != tc.cooldown || w.StuckDeletion.Duration != tc.stuck || w.Timeout.Duration != tc.tout || w.Namespace != "flux-system" {
				t.Fatalf("merged = %+v, want cooldown %s, stuckDeletion %s, timeout %s", w, tc.cooldown, tc.stuck, tc.tout)
			}
		})
	}
}
