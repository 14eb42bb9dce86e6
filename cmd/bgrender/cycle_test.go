package main

import (
	"strings"
	"testing"
)

// step is one transition of the cycle and what the remote must show after it.
type step struct {
	args     []string
	trailers map[string]string // expected trailers (besides Bgrender-App)
	subject  string            // substring of the commit subject
	built    want
}

// TestCycleAgainstBareRemote drives the whole blue-green cycle through the CLI
// against a real bare remote and checks, after every transition, that exactly
// one commit landed with the right trailers and that the kustomize build of
// the app dir at the remote's head is the state's desired objects.
func TestCycleAgainstBareRemote(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	force := []string{"--force", "--reason", "smoke tests passed in job 812"}
	steps := []step{
		{args: []string{"init", "--name", "myapp", "--image", "ghcr.io/acme/myapp"},
			trailers: map[string]string{"Bgrender-Transition": "init"}, subject: "myapp: init",
			built: want{}},
		{args: []string{"deploy", "--version", "v1"},
			trailers: map[string]string{"Bgrender-Transition": "deploy", "Bgrender-Version": "v1", "Bgrender-Color": "blue"}, subject: "deploy v1 to blue",
			built: want{deployments: map[string]string{"blue": "v1"}, subsets: []string{"blue"}, rules: []string{"myapp-test->blue"}}},
		{args: append([]string{"promote"}, force...),
			trailers: map[string]string{"Bgrender-Transition": "promote", "Bgrender-Version": "v1", "Bgrender-Color": "blue"}, subject: "promote v1 in blue",
			built: want{deployments: map[string]string{"blue": "v1"}, subsets: []string{"blue"}, rules: []string{"myapp-default->blue"}}},
		{args: []string{"deploy", "--from-tag", "v2.0-green"},
			trailers: map[string]string{"Bgrender-Transition": "deploy", "Bgrender-Version": "v2.0", "Bgrender-Color": "green"}, subject: "deploy v2.0 to green",
			built: want{deployments: map[string]string{"blue": "v1", "green": "v2.0"}, subsets: []string{"blue", "green"}, rules: []string{"myapp-test->green", "myapp-default->blue"}}},
		{args: append([]string{"promote"}, force...),
			trailers: map[string]string{"Bgrender-Transition": "promote", "Bgrender-Version": "v2.0", "Bgrender-Color": "green"}, subject: "promote v2.0 in green",
			built: want{deployments: map[string]string{"blue": "v1", "green": "v2.0"}, subsets: []string{"blue", "green"}, rules: []string{"myapp-default->green"}}},
		{args: []string{"rollback"},
			trailers: map[string]string{"Bgrender-Transition": "rollback", "Bgrender-Version": "v1", "Bgrender-Color": "blue"}, subject: "rollback to v1 in blue",
			built: want{deployments: map[string]string{"blue": "v1", "green": "v2.0"}, subsets: []string{"blue", "green"}, rules: []string{"myapp-default->blue"}}},
		{args: []string{"decommission"},
			trailers: map[string]string{"Bgrender-Transition": "decommission", "Bgrender-Version": "v2.0", "Bgrender-Color": "green"}, subject: "decommission v2.0 in green",
			built: want{deployments: map[string]string{"blue": "v1"}, subsets: []string{"blue"}, rules: []string{"myapp-default->blue"}}},
		{args: []string{"deploy", "--version", "v3"},
			trailers: map[string]string{"Bgrender-Transition": "deploy", "Bgrender-Version": "v3", "Bgrender-Color": "green"}, subject: "deploy v3 to green",
			built: want{deployments: map[string]string{"blue": "v1", "green": "v3"}, subsets: []string{"blue", "green"}, rules: []string{"myapp-test->green", "myapp-default->blue"}}},
		{args: []string{"abort"},
			trailers: map[string]string{"Bgrender-Transition": "abort", "Bgrender-Version": "v3", "Bgrender-Color": "green"}, subject: "abort v3 in green",
			built: want{deployments: map[string]string{"blue": "v1"}, subsets: []string{"blue"}, rules: []string{"myapp-default->blue"}}},
	}
	releases := map[string]bool{}
	for i, s := range steps {
		before := len(e.log())
		r := e.run(0, s.args...)
		log := e.log()
		if len(log) != before+1 {
			t.Fatalf("step %d %v: %d commits, want %d (one per transition)", i, s.args, len(log), before+1)
		}
		c := log[0]
		tr := trailerMap(c)
		if tr["Bgrender-App"] != "myapp" {
			t.Errorf("step %d: trailer Bgrender-App = %q", i, tr["Bgrender-App"])
		}
		for k, v := range s.trailers {
			if tr[k] != v {
				t.Errorf("step %d %v: trailer %s = %q, want %q (all: %v)", i, s.args, k, tr[k], v, tr)
			}
		}
		if s.args[0] == "deploy" {
			id := tr["Bgrender-Release"]
			if id == "" || releases[id] {
				t.Errorf("step %d: release id %q is empty or not unique", i, id)
			}
			releases[id] = true
			if !strings.Contains(c.Message, id) {
				t.Errorf("step %d: subject does not name the release: %q", i, c.Message)
			}
		}
		if !strings.Contains(strings.SplitN(c.Message, "\n", 2)[0], s.subject) {
			t.Errorf("step %d: subject %q does not contain %q", i, strings.SplitN(c.Message, "\n", 2)[0], s.subject)
		}
		if !strings.Contains(r.stdout, c.Hash.String()[:7]) {
			t.Errorf("step %d: output does not show the commit %s:\n%s", i, c.Hash.String()[:7], r.stdout)
		}
		e.assertBuilt(s.built)
		check := e.run(0, "check")
		if !strings.Contains(check.stdout, "ok") {
			t.Errorf("step %d: check output %q", i, check.stdout)
		}
	}
	if !strings.Contains(e.log()[6].Message, "forced: smoke tests passed in job 812") {
		t.Errorf("the forced promotion's reason is not in its commit:\n%s", e.log()[6].Message)
	}
}

// TestRefusalsLeaveRemoteUntouched checks every refusal exits 3 and changes nothing.
func TestRefusalsLeaveRemoteUntouched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	// Before any release.
	for _, args := range [][]string{
		{"promote", "--force", "--reason", "x"},
		{"rollback"},
		{"abort"},
		{"decommission"},
		{"init", "--name", "myapp", "--image", "ghcr.io/acme/myapp"},
	} {
		e.refused(args, "")
	}
	e.run(0, "deploy", "--version", "v1")
	e.refused([]string{"deploy", "--version", "v2"}, "already under test")
	e.refused([]string{"promote"}, "no verification evidence")
	e.run(0, "promote", "--force", "--reason", "ok")
	e.refused([]string{"deploy", "--version", "v2", "--color", "blue"}, "is live in blue")
	e.refused([]string{"deploy", "--from-tag", "v2-blue"}, "is live in blue")
	e.refused([]string{"rollback"}, "no standby")
	e.refused([]string{"decommission"}, "no standby")
	e.run(0, "deploy", "--version", "v2")
	e.refused([]string{"deploy", "--version", "v3", "--color", "blue", "--replace"}, "is live in blue")
	e.run(0, "deploy", "--version", "v2.1", "--replace")
	e.run(0, "promote", "--force", "--reason", "ok")
	e.run(0, "decommission")
	e.refused([]string{"rollback"}, "decommissioned")
}

// refused runs a command that must be refused (exit 3) and leave the remote as it was.
func (e *env) refused(args []string, msg string) {
	e.t.Helper()
	before := e.head()
	r := e.run(3, args...)
	if msg != "" && !strings.Contains(r.stderr, msg) {
		e.t.Errorf("%v: stderr %q does not say %q", args, r.stderr, msg)
	}
	if after := e.head(); after != before {
		e.t.Errorf("%v was refused but the remote moved from %s to %s", args, before, after)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	head := e.head()
	for name, tc := range map[string]struct {
		args []string
		msg  string
	}{
		"no version":           {[]string{"deploy"}, "--version"},
		"bad version":          {[]string{"deploy", "--version", "v1: {x}"}, "--version"},
		"bad tag":              {[]string{"deploy", "--from-tag", "v2-red"}, "--from-tag"},
		"tag and version":      {[]string{"deploy", "--from-tag", "v2-green", "--version", "v2"}, "--from-tag"},
		"bad color":            {[]string{"deploy", "--version", "v2", "--color", "red"}, "--color"},
		"unknown flag":         {[]string{"deploy", "--versoin", "v2"}, "versoin"},
		"force without reason": {[]string{"promote", "--force"}, "--reason"},
		"reason without force": {[]string{"promote", "--reason", "x"}, "--force"},
		"bad output":           {[]string{"-o", "yaml", "status"}, "-o"},
		"app outside repo":     {[]string{"--app", "../x", "status"}, "--app"},
	} {
		t.Run(name, func(t *testing.T) {
			r := bg(t, append([]string{"--repo", e.url, "--app", e.app}, tc.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("exit %d stderr %q; want exit 2 mentioning %q", r.code, r.stderr, tc.msg)
			}
		})
	}
	if e.head() != head {
		t.Fatal("a usage error moved the remote")
	}
}

// TestBadInputNamesTheField: values that would inject YAML or are malformed
// are refused before anything is written, with a message naming the field.
func TestBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apps/myapp")
	e.run(0, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	e.run(0, "deploy", "--version", "v1")
	head := e.head()
	for name, tc := range map[string]struct {
		args []string
		msg  string
	}{
		"version with ': '":    {[]string{"deploy", "--replace", "--version", "v1: x"}, "--version"},
		"version with newline": {[]string{"deploy", "--replace", "--version", "v1\nimage: evil"}, "--version"},
		"version anchor":       {[]string{"deploy", "--replace", "--version", "&a"}, "--version"},
		"version alias":        {[]string{"deploy", "--replace", "--version", "*a"}, "--version"},
		"version flow map":     {[]string{"deploy", "--replace", "--version", "{a: b}"}, "--version"},
		"reason newline":       {[]string{"promote", "--force", "--reason", "ok\nBgrender-App: other"}, "--reason"},
		"init image digest":    {[]string{"--app", "apps/x", "init", "--name", "x", "--image", "ghcr.io/a/x@sha256:00"}, "image"},
		"init namespace":       {[]string{"--app", "apps/x", "init", "--name", "x", "--image", "a/x", "--namespace", "a: b"}, "namespace"},
		"init host":            {[]string{"--app", "apps/x", "init", "--name", "x", "--image", "a/x", "--host", "a\nb"}, "gateway.hosts[0]"},
		"init readiness":       {[]string{"--app", "apps/x", "init", "--name", "x", "--image", "a/x", "--readiness-path", "ready"}, "readinessPath"},
		"init name":            {[]string{"--app", "apps/x", "init", "--name", "-x", "--image", "a/x"}, "app name"},
		"bad duration":         {[]string{"wait", "--timeout", "soon"}, "timeout"},
		"bad commit":           {[]string{"wait", "--commit", "HEAD~1"}, "--commit"},
		"gateway url":          {[]string{"verify", "--gateway-url", "ftp://x"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := bg(t, append([]string{"--repo", e.url, "--app", e.app}, tc.args...)...)
			if r.code == 0 || (tc.msg != "" && !strings.Contains(r.stderr, tc.msg)) {
				t.Fatalf("exit %d, stderr %q; want a refusal naming %q", r.code, r.stderr, tc.msg)
			}
		})
	}
	if e.head() != head {
		t.Fatal("bad input changed the remote")
	}
}
