package state

import (
	"strings"
	"testing"
)

func TestMarshalParseRoundTrip(t *testing.T) {
	s := New("myapp")
	states := []State{s}
	for _, step := range []func(State) (State, error){
		func(s State) (State, error) { return Deploy(s, deploy("v1", "r1")) },
		func(s State) (State, error) { return Promote(s, forced) },
		func(s State) (State, error) { return Deploy(s, deploy("1.0", "r2")) },
		func(s State) (State, error) {
			return Promote(s, PromoteRequest{Force: true, Reason: "incident #12: hotfix, see https://x"})
		},
		Rollback, Decommission,
	} {
		s = must(t)(step(s))
		states = append(states, s)
	}
	for _, s := range states {
		data, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse("state.yaml", data)
		if err != nil {
			t.Fatalf("parse of marshalled state: %v\n%s", err, data)
		}
		again, err := Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(data) {
			t.Fatalf("round trip changed the bytes:\n%s\n---\n%s", data, again)
		}
	}
}

func TestMarshalQuotesVersionsThatLookLikeNumbers(t *testing.T) {
	s := must(t)(Deploy(New("myapp"), deploy("1.0", "r1")))
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("s", data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Test.Version != "1.0" {
		t.Fatalf("version %q, want 1.0", got.Test.Version)
	}
}

func TestParseErrors(t *testing.T) {
	valid := "apiVersion: bgrender.io/v1alpha1\nkind: ReleaseState\napp: myapp\nactive: null\ntest: null\nstandby: null\nlastTransition:\n  name: init\n"
	if _, err := Parse("ok.yaml", []byte(valid)); err != nil {
		t.Fatalf("valid state refused: %v", err)
	}
	tests := map[string]struct {
		data string
		want string
	}{
		"empty":           {"", "empty state file"},
		"syntax":          {"app: [\n", "line"},
		"unknown field":   {valid + "colour: blue\n", "colour"},
		"wrong kind":      {strings.Replace(valid, "ReleaseState", "Other", 1), "kind"},
		"wrong version":   {strings.Replace(valid, "v1alpha1", "v9", 1), "apiVersion"},
		"bad app":         {strings.Replace(valid, "app: myapp", "app: My_App", 1), "app"},
		"same color":      {strings.Replace(strings.Replace(valid, "active: null", "active: {id: r1, version: v1, color: blue}", 1), "standby: null", "standby: {id: r2, version: v2, color: blue}", 1), "already taken"},
		"standby only":    {strings.Replace(valid, "standby: null", "standby: {id: r2, version: v2, color: blue}", 1), "needs an active"},
		"bad color":       {strings.Replace(valid, "test: null", "test: {id: r2, version: v2, color: red}", 1), "red"},
		"bad transition":  {strings.Replace(valid, "name: init", "name: yolo", 1), "lastTransition.name"},
		"two documents":   {valid + "---\n" + valid, "more than one"},
		"injected anchor": {strings.Replace(valid, "test: null", "test: {id: r2, version: \"v2\\n  x: &a\", color: green}", 1), "version"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("state.yaml", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "state.yaml") {
				t.Fatalf("error = %v, want it to name the file and mention %q", err, tc.want)
			}
		})
	}
}
