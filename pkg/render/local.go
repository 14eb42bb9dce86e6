package render

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// ErrRemoteResource is wrapped by Build's error when a kustomization would
// make kustomize reach outside the files it was given: a URL or a git remote
// in any field kustomize loads from, or a resource, component, base,
// generator, transformer or validator that is not on the file system (it
// would be fetched over the network or cloned with the git binary).
var ErrRemoteResource = errors.New("remote or missing kustomize resource")

// RemoteError names the kustomization, the field and the value that Build
// refused. It wraps ErrRemoteResource.
type RemoteError struct {
	// File is the kustomization or plugin config, relative to the build's
	// directory.
	File string
	// Field is where the value is, e.g. "replacements[0].path".
	Field string
	Value string
	// Why says what is wrong with it.
	Why string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("%s: %s %q: %s", e.File, e.Field, e.Value, e.Why)
}

func (e *RemoteError) Unwrap() error { return ErrRemoteResource }

// Why a value was refused.
const (
	whyURL     = "a URL or git remote: builds never fetch; put the file in the app dir"
	whyMissing = "no such file or directory in the repo at this commit (builds read nothing else)"
	whyOutside = "outside the repo: builds read only the env repo's files"
	whyAbs     = "an absolute path: give a path relative to the kustomization"
	whyEmpty   = "empty"
)

// kustomizeRemote matches what kustomize would treat as a remote: a URL with
// any scheme, go-getter's git:: prefix, scp-like user@host:, and github.com
// without a scheme (see kustomize's git.NewRepoSpecFromURL). Matched without
// regard to case, as kustomize does.
var kustomizeRemote = regexp.MustCompile(`(?i)(://|^git::|^[a-z][a-z0-9-]*@|^github\.com[/:])`)

// isRemote reports whether a value kustomize loads from would be fetched.
// For "key=path" (generator files) the path part counts too.
func isRemote(v string) bool {
	v = strings.TrimSpace(v)
	if kustomizeRemote.MatchString(v) {
		return true
	}
	if _, p, ok := strings.Cut(v, "="); ok {
		return kustomizeRemote.MatchString(strings.TrimSpace(p))
	}
	return false
}

// loadKeys are the keys, at any depth of a kustomization or of a builtin
// plugin's config, whose values kustomize loads as files (fetching URLs):
// openapi.path, patches[].path, patchesJson6902[].path, replacements[].path,
// PatchTransformer's path, PatchStrategicMergeTransformer's paths,
// generators' files, envs and env, ValueAddTransformer's targetFilePath and
// the helm fields. A field spec's path (labels[].fields[].path) is refused
// only if it looks like a URL, which no field path does.
var loadKeys = map[string]bool{
	"path": true, "paths": true, "files": true, "envs": true, "env": true,
	"valuesFile": true, "additionalValuesFiles": true, "chartHome": true, "targetFilePath": true,
	"crds": true, "configurations": true,
}

// entryLists are a kustomization's top-level lists whose entries kustomize
// loads as a directory (a kustomization: cloned if remote) or a file
// (fetched if a URL); those of plugin lists may also be inline configs.
var entryLists = []struct {
	field   string
	plugins bool // entries may be inline plugin configs, and files are plugin configs
}{
	{"resources", false}, {"components", false}, {"bases", false},
	{"generators", true}, {"transformers", true}, {"validators", true},
}

// vetWalk is what vetLocal has seen: the directories it walked, and
// whether any kustomization among them sets openapi (a schema kustomize
// keeps process-wide).
type vetWalk struct {
	dirs    map[string]bool
	openAPI bool
}

// vetLocal walks the kustomization in dir, and every kustomization and
// plugin config it reaches, and returns a *RemoteError for the first value
// that would make kustomize fetch, clone or read outside fsys. root is the
// build's directory, for naming files. A kustomization it cannot read or
// parse is left for krusty to report.
func vetLocal(fsys filesys.FileSystem, root, dir string, seen *vetWalk) error {
	if seen.dirs[dir] {
		return nil
	}
	seen.dirs[dir] = true
	kfile := ""
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if p := filepath.Join(dir, name); fsys.Exists(p) && !fsys.IsDir(p) {
			kfile = p
			break
		}
	}
	if kfile == "" {
		return nil
	}
	data, err := fsys.ReadFile(kfile)
	if err != nil {
		return nil
	}
	k, err := yaml.Parse(string(data))
	if err != nil {
		return nil
	}
	name := relName(root, kfile)
	if f, _ := k.Pipe(yaml.Lookup("openapi")); f != nil {
		seen.openAPI = true
	}
	if err := vetLoadKeys(name, "", k.YNode()); err != nil {
		return err
	}
	for _, list := range entryLists {
		for i, v := range stringsAt(k, list.field) {
			field := fmt.Sprintf("%s[%d]", list.field, i)
			if list.plugins && isInline(v) {
				if err := vetPluginConfigs(name, field, v); err != nil {
					return err
				}
				continue
			}
			p, err := vetEntry(fsys, dir, name, field, v)
			if err != nil {
				return err
			}
			switch {
			case fsys.IsDir(p):
				if err := vetLocal(fsys, root, p, seen); err != nil {
					return err
				}
			case list.plugins:
				cfg, err := fsys.ReadFile(p)
				if err == nil {
					if err := vetPluginConfigs(relName(root, p), "", string(cfg)); err != nil {
						return err
					}
				}
			}
		}
	}
	for i, v := range stringsAt(k, "patchesStrategicMerge") {
		if !isInline(v) && isRemote(v) {
			return &RemoteError{File: name, Field: fmt.Sprintf("patchesStrategicMerge[%d]", i), Value: v, Why: whyURL}
		}
	}
	return nil
}

// vetEntry checks one entry of a resources-like list and returns its path
// on fsys.
func vetEntry(fsys filesys.FileSystem, dir, name, field, v string) (string, error) {
	entry := strings.TrimSpace(v)
	switch {
	case entry == "":
		return "", &RemoteError{File: name, Field: field, Value: v, Why: whyEmpty}
	case isRemote(entry):
		// Even when a directory of that name exists: kustomize tries a
		// remote first.
		return "", &RemoteError{File: name, Field: field, Value: v, Why: whyURL}
	case filepath.IsAbs(entry):
		return "", &RemoteError{File: name, Field: field, Value: v, Why: whyAbs}
	}
	if outsideRepo(path.Join(relName("/", dir), filepath.ToSlash(entry))) {
		// Above the file system's root: the in-memory file system would
		// take /.. as /, and read something else.
		return "", &RemoteError{File: name, Field: field, Value: v, Why: whyOutside}
	}
	p := filepath.Join(dir, entry)
	if !fsys.Exists(p) {
		return "", &RemoteError{File: name, Field: field, Value: v, Why: whyMissing}
	}
	return p, nil
}

// vetLoadKeys refuses a remote value of a loadKeys key anywhere under n.
func vetLoadKeys(name, at string, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := at
			if n.Kind == yaml.SequenceNode {
				p = at + "[" + strconv.Itoa(i) + "]"
			}
			if err := vetLoadKeys(name, p, c); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, n.Content[i+1]
			p := key
			if at != "" {
				p = at + "." + key
			}
			if loadKeys[key] {
				if err := vetValues(name, p, val); err != nil {
					return err
				}
			}
			if err := vetLoadKeys(name, p, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// vetValues refuses a remote scalar, or remote item of a sequence, at n.
func vetValues(name, at string, n *yaml.Node) error {
	check := func(field string, s *yaml.Node) error {
		if s.Kind == yaml.ScalarNode && isRemote(s.Value) {
			return &RemoteError{File: name, Field: field, Value: s.Value, Why: whyURL}
		}
		return nil
	}
	if n.Kind == yaml.SequenceNode {
		for i, c := range n.Content {
			if err := check(fmt.Sprintf("%s[%d]", at, i), c); err != nil {
				return err
			}
		}
		return nil
	}
	return check(at, n)
}

// vetPluginConfigs checks builtin plugin configs (one or more YAML
// documents), given inline or in a file, for remote values of loadKeys.
func vetPluginConfigs(name, field, content string) error {
	nodes, err := kio.FromBytes([]byte(content))
	if err != nil {
		return nil // krusty reports it
	}
	for _, n := range nodes {
		if err := vetLoadKeys(name, field, n.YNode()); err != nil {
			return err
		}
	}
	return nil
}

// isInline reports whether a plugin-list or patch entry is YAML content
// rather than a path: kustomize takes a value that parses as objects as
// content, even on one line ({kind: PatchTransformer, ...}).
func isInline(v string) bool {
	if strings.Contains(strings.TrimSpace(v), "\n") {
		return true
	}
	n, err := yaml.Parse(v)
	return err == nil && n.YNode().Kind == yaml.MappingNode
}

// stringsAt returns the scalar items of the sequence at field of k.
func stringsAt(k *yaml.RNode, field string) []string {
	seq, err := k.Pipe(yaml.Lookup(field))
	if err != nil || seq == nil || seq.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, v := range seq.Content() {
		if v.Kind == yaml.ScalarNode {
			out = append(out, v.Value)
		}
	}
	return out
}

// relName names a file on the build's file system relative to its root.
func relName(root, p string) string {
	if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}
