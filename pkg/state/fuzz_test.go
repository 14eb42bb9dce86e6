package state

import (
	"testing"
)

// FuzzParse feeds arbitrary bytes to the state parser: it must never panic,
// and whatever it accepts must marshal and parse back to the same bytes.
func FuzzParse(f *testing.F) {
	s := New("myapp")
	for _, step := range []func(State) (State, error){
		func(s State) (State, error) { return Deploy(s, DeployRequest{Version: "v1", ReleaseID: "r1"}) },
		func(s State) (State, error) { return Promote(s, PromoteRequest{Force: true, Reason: "x: y"}) },
		func(s State) (State, error) { return Deploy(s, DeployRequest{Version: "1.0", ReleaseID: "r2"}) },
	} {
		var err error
		if s, err = step(s); err != nil {
			f.Fatal(err)
		}
		data, err := Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: bgrender.io/v1alpha1\nkind: ReleaseState\napp: a\nactive: &x {id: r, version: v, color: blue}\nstandby: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		out, err := Marshal(st)
		if err != nil {
			t.Fatalf("parsed state does not marshal: %v", err)
		}
		again, err := Parse("again.yaml", out)
		if err != nil {
			t.Fatalf("marshalled state does not parse: %v\n%s", err, out)
		}
		out2, err := Marshal(again)
		if err != nil || string(out2) != string(out) {
			t.Fatalf("round trip not stable:\n%s\n---\n%s", out, out2)
		}
	})
}
