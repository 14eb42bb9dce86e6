package main

import (
	"runtime/debug"
	"testing"
)

// TestSoftMemoryLimit: bgrender sets its soft memory limit unless
// $GOMEMLIMIT gives one, which then stays.
func TestSoftMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	if got := softMemoryLimit(func(string) string { return "" }); got != defaultMemoryLimit || debug.SetMemoryLimit(-1) != defaultMemoryLimit {
		t.Fatalf("limit %d, want %d", got, defaultMemoryLimit)
	}
	debug.SetMemoryLimit(1 << 30) // as the runtime sets it from GOMEMLIMIT=1GiB
	if got := softMemoryLimit(func(k string) string { return map[string]string{"GOMEMLIMIT": "1GiB"}[k] }); got != 1<<30 || debug.SetMemoryLimit(-1) != 1<<30 {
		t.Fatalf("with $GOMEMLIMIT: %d", got)
	}
}
