package vet_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/vet"
)

// FuzzYAML: YAML never panics, and what it accepts is within its limits
// when actually expanded: kustomize's de-anchoring of every document yields
// no more nodes, and no deeper nesting, than the limits allow. (Accepted
// input is bounded, so expanding it here is too.)
func FuzzYAML(f *testing.F) {
	for _, s := range []string{
		"a: &a [1, 2]\nb: [*a, *a]\n",
		"x: &x {k: v}\ny:\n  <<: *x\n  z: 1\n",
		"a: &a\n  b: *a\n",
		"- &a [x, x, x]\n- &b [*a, *a, *a]\n- &c [*b, *b, *b]\n",
		"[[[[[[]]]]]]",
		"---\na: 1\n---\nb: 2\n",
		"",
	} {
		f.Add([]byte(s))
	}
	l := vet.Limits{FileBytes: 1 << 16, Nodes: 2000, Entries: 200, Depth: 40, Documents: 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := vet.YAML("f.yaml", data, l); err != nil {
			var le *vet.LimitError
			if !errors.As(err, &le) && !errors.Is(err, vet.ErrAliasCycle) {
				t.Fatalf("an error that is neither a limit nor a cycle: %v", err)
			}
			return
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			rn := yaml.NewRNode(&n)
			if err := rn.DeAnchor(); err != nil {
				return
			}
			nodes, depth := count(rn.YNode(), 0)
			if nodes > l.Nodes || depth > l.Depth+1 {
				t.Fatalf("accepted, but expands to %d nodes, %d deep (limits %d, %d)", nodes, depth, l.Nodes, l.Depth)
			}
		}
	})
}

func count(n *yaml.Node, level int64) (nodes, depth int64) {
	nodes, depth = 1, level
	for _, c := range n.Content {
		cn, cd := count(c, level+1)
		nodes += cn
		depth = max(depth, cd)
	}
	return nodes, depth
}
