package render

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// ErrRemoteResource is returned by Build when a kustomization lists a
// resource, component or base that is not a local file or directory: kustomize
// would fetch it over the network or run git to clone it.
var ErrRemoteResource = errors.New("remote or missing kustomize resource")

// Builder runs kustomize builds one at a time. kustomize keeps process-wide
// state (the OpenAPI schema it sets at every build) and can panic on odd
// input, so every build goes through Build, which serialises builds and turns
// panics into errors. Share one Builder per process; the zero value is ready.
type Builder struct {
	mu sync.Mutex
}

// Build runs a kustomize build of dir on fsys and returns the YAML stream, in
// the order the kustomizations list their resources. It uses krusty with
// plugins and helm off and loading restricted to each kustomization's root.
// krusty would still clone remote bases with the git binary and fetch remote
// files over HTTP, so before building, Build walks the kustomizations and
// refuses (ErrRemoteResource) any resource, component or base that is not on
// fsys.
func (b *Builder) Build(fsys filesys.FileSystem, dir string) (out []byte, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("kustomize build %s: recovered from panic: %v", dir, r)
		}
	}()
	if err := checkLocal(fsys, dir, map[string]bool{}); err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.PluginConfig.HelmConfig.Enabled = false
	opts.AddManagedbyLabel = false
	m, err := krusty.MakeKustomizer(opts).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err = m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: serialise: %w", dir, err)
	}
	return out, nil
}

// BuildFiles builds an in-memory copy of files, with the app dir at the root.
func (b *Builder) BuildFiles(files Files) ([]byte, error) {
	fsys := filesys.MakeFsInMemory()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := fsys.WriteFile("/"+p, files[p]); err != nil {
			return nil, fmt.Errorf("build files: write %s to memory: %w", p, err)
		}
	}
	return b.Build(fsys, "/")
}

// checkLocal walks the kustomization in dir and the local kustomizations it
// includes, and returns an error wrapping ErrRemoteResource for the first
// resource, component or base that does not exist on fsys. A kustomization it
// cannot read is left for krusty to report.
func checkLocal(fsys filesys.FileSystem, dir string, seen map[string]bool) error {
	if seen[dir] {
		return nil
	}
	seen[dir] = true
	var kfile string
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
	for _, field := range []string{"resources", "components", "bases"} {
		entries, err := k.Pipe(yaml.Lookup(field))
		if err != nil || entries == nil {
			continue
		}
		values, err := entries.Elements()
		if err != nil {
			continue
		}
		for _, v := range values {
			entry := strings.TrimSpace(yaml.GetValue(v))
			p := entry
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if entry == "" || strings.Contains(entry, "://") || !fsys.Exists(p) {
				return fmt.Errorf("%s: %s %q: %w: only files and directories inside the app dir can be built", kfile, field, entry, ErrRemoteResource)
			}
			if fsys.IsDir(p) {
				if err := checkLocal(fsys, p, seen); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
