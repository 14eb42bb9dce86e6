package vet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Limits bound what an app dir may cost to read and build. A zero field
// means no limit of that kind.
type Limits struct {
	// FileBytes bounds the size of one file. Kubernetes objects are at most
	// about 1.5 MiB (a ConfigMap's data at most 1 MiB).
	FileBytes int64
	// DirBytes bounds the size of all the files of an app dir together.
	DirBytes int64
	// Nodes bounds the YAML nodes of one file, counted as if every alias were
	// expanded, which is what kustomize does when it reads the file.
	Nodes int64
	// Entries bounds the entries of one mapping (merge keys included) or the
	// items of one sequence: kustomize's build time grows with the square of
	// it (20,000 ConfigMap keys take seconds).
	Entries int64
	// Depth bounds how deeply collections nest.
	Depth int64
	// Documents bounds the YAML documents of an app dir together: each is an
	// object to kustomize, whose build time grows with the square of their
	// number.
	Documents int64
}

// DefaultLimits are generous for an app's manifests and keep the worst
// build within them to seconds.
func DefaultLimits() Limits {
	return Limits{
		FileBytes: 2 << 20,
		DirBytes:  8 << 20,
		Nodes:     100_000,
		Entries:   5_000,
		Depth:     100,
		Documents: 1_000,
	}
}

// Limit names one of the Limits.
type Limit string

// The limits, as LimitError names them.
const (
	LimitFileBytes Limit = "file size"
	LimitDirBytes  Limit = "app dir size"
	LimitNodes     Limit = "YAML nodes"
	LimitEntries   Limit = "entries in one YAML mapping or sequence"
	LimitDepth     Limit = "YAML nesting depth"
	LimitDocuments Limit = "YAML documents"
)

// LimitError reports a file over a limit.
type LimitError struct {
	// File is the file's path as given to Files or YAML.
	File string
	// Limit is the limit exceeded.
	Limit Limit
	// Value is the file's value, or a lower bound of it when Over is set:
	// counting stops once past the limit.
	Value int64
	Over  bool
	// Max is the limit's value.
	Max int64
}

func (e *LimitError) Error() string {
	v := fmt.Sprint(e.Value)
	if e.Over {
		v = "more than " + fmt.Sprint(e.Max)
	}
	what := string(e.Limit)
	switch e.Limit {
	case LimitFileBytes, LimitDirBytes:
		return fmt.Sprintf("%s: %s %s bytes, over the limit of %d", e.File, what, v, e.Max)
	case LimitNodes:
		what += " once aliases are expanded"
	case LimitEntries:
		what = "entries in one mapping or sequence"
	}
	return fmt.Sprintf("%s: %s %s, over the limit of %d", e.File, v, what, e.Max)
}

// ErrAliasCycle is wrapped by YAML's error for an alias inside the node it
// refers to: its expansion never ends.
var ErrAliasCycle = errors.New("a YAML alias refers to a node that contains it")

// Files checks the files of an app dir, keyed by path, against l: each
// file's size, their total size, and for every file that parses as YAML its
// nodes, depth, entries and documents (the documents of all files
// together). Files that are not YAML are only measured: kustomize reports
// them if it reads them. It returns one error per file over a limit, sorted
// by path, then the directory's own limits; nil when all are within them.
func Files(files map[string][]byte, l Limits) []error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var errs []error
	var total, docs int64
	for _, p := range paths {
		data := files[p]
		total += int64(len(data))
		n, err := yamlDocs(p, data, l)
		docs += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if l.DirBytes > 0 && total > l.DirBytes {
		errs = append(errs, &LimitError{File: ".", Limit: LimitDirBytes, Value: total, Max: l.DirBytes})
	}
	if l.Documents > 0 && docs > l.Documents {
		errs = append(errs, &LimitError{File: ".", Limit: LimitDocuments, Value: docs, Max: l.Documents})
	}
	return errs
}

// YAML checks one file's content against l's per-file limits and its
// documents against Documents. name is used in errors.
func YAML(name string, data []byte, l Limits) error {
	n, err := yamlDocs(name, data, l)
	if err != nil {
		return err
	}
	if l.Documents > 0 && n > l.Documents {
		return &LimitError{File: name, Limit: LimitDocuments, Value: n, Max: l.Documents}
	}
	return nil
}

// yamlDocs checks one file and returns its number of YAML documents (0 when
// it does not parse as YAML).
func yamlDocs(name string, data []byte, l Limits) (int64, error) {
	if l.FileBytes > 0 && int64(len(data)) > l.FileBytes {
		return 0, &LimitError{File: name, Limit: LimitFileBytes, Value: int64(len(data)), Max: l.FileBytes}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	c := counter{name: name, l: l}
	var docs int64
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			// Not YAML (or not any more): nothing here expands; whoever
			// parses it reports the syntax error.
			return docs, nil
		}
		if isEmptyDoc(&doc) {
			continue
		}
		docs++
		if err := c.doc(&doc); err != nil {
			return docs, err
		}
	}
}

func isEmptyDoc(n *yaml.Node) bool {
	return n.Kind == yaml.DocumentNode && (len(n.Content) == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" && n.Content[0].Value == ""))
}

// counter measures YAML node trees as if their aliases were expanded,
// without expanding them: an anchored node (the only kind an alias can
// refer to) is measured once and remembered.
type counter struct {
	name  string
	l     Limits
	nodes int64 // of the file so far

	memo    map[*yaml.Node]measured // anchored nodes measured
	active  map[*yaml.Node]bool     // anchored nodes being measured: an alias to one is a cycle
	entries map[*yaml.Node]int64    // anchored mappings' entries, merges included
}

// measured is a subtree's size once expanded: nodes, and nesting below it.
type measured struct{ size, height int64 }

func (c *counter) doc(n *yaml.Node) error {
	m, err := c.measure(n, 0)
	if err != nil {
		return err
	}
	c.nodes = sat(c.nodes, m.size)
	if c.l.Nodes > 0 && c.nodes > c.l.Nodes {
		return &LimitError{File: c.name, Limit: LimitNodes, Value: c.nodes, Over: true, Max: c.l.Nodes}
	}
	return nil
}

// measure measures n, checking depth and entries on the way; level is n's
// depth in the tree as written.
func (c *counter) measure(n *yaml.Node, level int64) (measured, error) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return measured{size: 1}, nil
		}
		n = n.Alias
		if c.active[n] {
			return measured{}, fmt.Errorf("%s: line %d: %w", c.name, n.Line, ErrAliasCycle)
		}
	}
	if m, ok := c.memo[n]; ok {
		if d := level + m.height; c.l.Depth > 0 && d > c.l.Depth {
			return measured{}, &LimitError{File: c.name, Limit: LimitDepth, Value: d, Max: c.l.Depth}
		}
		return m, nil
	}
	if c.l.Depth > 0 && level > c.l.Depth {
		return measured{}, &LimitError{File: c.name, Limit: LimitDepth, Value: level, Over: true, Max: c.l.Depth}
	}
	if n.Anchor != "" {
		if c.active == nil {
			c.active, c.memo = map[*yaml.Node]bool{}, map[*yaml.Node]measured{}
		}
		c.active[n] = true
		defer delete(c.active, n)
	}
	m := measured{size: 1}
	for _, ch := range n.Content {
		cm, err := c.measure(ch, level+1)
		if err != nil {
			return measured{}, err
		}
		m.size = sat(m.size, cm.size)
		if c.l.Nodes > 0 && sat(c.nodes, m.size) > c.l.Nodes {
			return measured{}, &LimitError{File: c.name, Limit: LimitNodes, Value: sat(c.nodes, m.size), Over: true, Max: c.l.Nodes}
		}
		m.height = max(m.height, cm.height+1)
	}
	if err := c.checkEntries(n); err != nil {
		return measured{}, err
	}
	if n.Anchor != "" {
		c.memo[n] = m
	}
	return m, nil
}

// checkEntries checks a measured collection's entries: a sequence's items,
// a mapping's keys plus those its merge keys (<<) bring in.
func (c *counter) checkEntries(n *yaml.Node) error {
	var e int64
	switch n.Kind {
	case yaml.SequenceNode:
		e = int64(len(n.Content))
	case yaml.MappingNode:
		e = c.mappingEntries(n)
	default:
		return nil
	}
	if c.l.Entries > 0 && e > c.l.Entries {
		return &LimitError{File: c.name, Limit: LimitEntries, Value: e, Max: c.l.Entries}
	}
	return nil
}

// mappingEntries counts a mapping's entries with those its merge keys
// bring in. Merged mappings are anchored and were measured first, so they
// hold no cycle; each is counted once.
func (c *counter) mappingEntries(n *yaml.Node) int64 {
	if e, ok := c.entries[n]; ok {
		return e
	}
	var e int64
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
			e++
			continue
		}
		for _, m := range mergeSources(v) {
			e = sat(e, c.mappingEntries(m))
		}
	}
	if n.Anchor != "" {
		if c.entries == nil {
			c.entries = map[*yaml.Node]int64{}
		}
		c.entries[n] = e
	}
	return e
}

// mergeSources are the mappings a merge key's value brings in.
func mergeSources(v *yaml.Node) []*yaml.Node {
	deref := func(n *yaml.Node) *yaml.Node {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		return n
	}
	v = deref(v)
	switch v.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{v}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, it := range v.Content {
			if it = deref(it); it.Kind == yaml.MappingNode {
				out = append(out, it)
			}
		}
		return out
	}
	return nil
}

// sat adds without overflowing: sizes of alias bombs grow exponentially.
func sat(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return 1<<63 - 1
}
