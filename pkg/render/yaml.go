package render

import (
	"fmt"
	"strconv"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// field is one key of a mapping under construction. A nil value omits the key,
// which keeps optional fields out of the callers' control flow.
type field struct {
	key   string
	value *yaml.RNode
}

func kv(key string, value *yaml.RNode) field { return field{key: key, value: value} }

// nodes builds kyaml node trees and remembers the first error, so that a
// document reads as one nested expression and is checked once at the end.
type nodes struct{ err error }

// mapping returns a mapping node with the fields in the given order. Keys are
// string-tagged so that a key such as "1" or "on" stays a string.
func (b *nodes) mapping(fields ...field) *yaml.RNode {
	m := yaml.NewMapRNode(nil)
	for _, f := range fields {
		if f.value == nil {
			continue
		}
		if err := m.PipeE(yaml.MapEntrySetter{Key: str(f.key), Value: f.value}); err != nil && b.err == nil {
			b.err = fmt.Errorf("set field %q: %w", f.key, err)
		}
	}
	return m
}

// seq returns a sequence of the given nodes.
func seq(items ...*yaml.RNode) *yaml.RNode {
	l := yaml.NewListRNode()
	for _, item := range items {
		l.YNode().Content = append(l.YNode().Content, item.YNode())
	}
	return l
}

// strs returns a sequence of strings.
func strs(values ...string) *yaml.RNode {
	items := make([]*yaml.RNode, 0, len(values))
	for _, v := range values {
		items = append(items, str(v))
	}
	return seq(items...)
}

// str returns a string scalar. Values that a YAML 1.1 or 1.2 parser would read
// as something else ("1.0", "true", "on", "a:b" is fine) are double-quoted, so
// kustomize and Kubernetes see the string.
func str(s string) *yaml.RNode {
	n := yaml.NewStringRNode(s)
	if yaml.IsValueNonString(s) {
		n.YNode().Style = yaml.DoubleQuotedStyle
	}
	return n
}

// integer returns an int-tagged scalar.
func integer(i int) *yaml.RNode {
	return yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: strconv.Itoa(i)})
}

// boolean returns a bool-tagged scalar.
func boolean(v bool) *yaml.RNode {
	return yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagBool, Value: strconv.FormatBool(v)})
}

// document serialises root as one YAML document that starts with comment
// (each line already prefixed with "# ").
func document(comment string, root *yaml.RNode) ([]byte, error) {
	root.YNode().HeadComment = comment
	s, err := root.String()
	if err != nil {
		return nil, fmt.Errorf("serialise YAML: %w", err)
	}
	return []byte(s), nil
}

// object starts a Kubernetes object with apiVersion, kind and metadata, then
// the remaining fields in order.
func (b *nodes) object(apiVersion, kind string, metadata *yaml.RNode, rest ...field) *yaml.RNode {
	fields := append([]field{
		kv("apiVersion", str(apiVersion)),
		kv("kind", str(kind)),
		kv("metadata", metadata),
	}, rest...)
	return b.mapping(fields...)
}
