package main

import (
	"os"
	"testing"
)

func TestZZProfileCheckBase(t *testing.T) {
	repo := os.Getenv("PROF_REPO")
	if repo == "" {
		t.Skip()
	}
	for range 5 {
		r := bg(t, "--repo", repo, "--branch", "pr", "check", "--all", "--base", "main")
		if r.code != 0 {
			t.Fatal(r.stdout, r.stderr[:min(2000, len(r.stderr))])
		}
	}
}
