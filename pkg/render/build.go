package render

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"

	"github.com/bgrender/bgrender/pkg/vet"
)

// Builder runs kustomize builds. kustomize keeps process-wide state (the
// OpenAPI schema it sets at every build, the HTTP transport its loader
// fetches with) and can panic on odd input, so every build goes through
// Build, which guards that state across the process (kustomizeMu), keeps
// the loader off the network and turns panics into errors. Any number of
// Builders may run at once; the zero value is ready.
type Builder struct {
	// Limits bound the files BuildFiles builds; zero means
	// vet.DefaultLimits.
	Limits vet.Limits
}

// kustomizeMu guards kustomize's process-wide state. It is the one
// package-level variable of render, because what it guards is
// process-wide. kustomize's OpenAPI schema is global and locked: builds
// that use the built-in schema may run at once (read-locked), from any
// number of Builders. A kustomization's openapi field replaces that schema
// for the process, and kustomize does not put it back: a build that sets
// it runs alone (write-locked) and resets the schema after, so that one
// app's schema never shapes another app's build.
var kustomizeMu sync.RWMutex

// Build runs a kustomize build of dir on fsys and returns the YAML stream, in
// the order the kustomizations list their resources. It uses krusty with
// plugins and helm off and loading restricted to each kustomization's root.
// krusty would still clone remote bases with the git binary and fetch remote
// files over HTTP, so before building, Build walks the kustomizations and the
// plugin configs they name and refuses (*RemoteError, ErrRemoteResource) any
// value that kustomize would fetch or clone, and any resource, component,
// base, generator, transformer or validator that is not on fsys; while the
// build runs, kustomize's HTTP fetches fail (ErrNetworkInBuild). Build does
// not apply Limits: BuildFiles does, to the files it is given.
func (b *Builder) Build(fsys filesys.FileSystem, dir string) (out []byte, err error) {
	return b.build(fsys, dir, dir)
}

// build is Build naming files relative to root, the top of what fsys holds
// (the repo's root, or the app dir's).
func (b *Builder) build(fsys filesys.FileSystem, root, dir string) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("kustomize build %s: recovered from panic: %v", dir, r)
		}
	}()
	walk := &vetWalk{dirs: map[string]bool{}}
	if err := vetLocal(fsys, root, dir, walk); err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	if walk.openAPI {
		kustomizeMu.Lock()
		defer kustomizeMu.Unlock()
		defer openapi.ResetOpenAPI()
	} else {
		kustomizeMu.RLock()
		defer kustomizeMu.RUnlock()
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.PluginConfig.HelmConfig.Enabled = false
	opts.AddManagedbyLabel = false
	var m resmap.ResMap
	offline(func() { m, err = krusty.MakeKustomizer(opts).Run(fsys, dir) })
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err = m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: serialise: %w", dir, err)
	}
	return out, nil
}

// BuildFiles builds an in-memory copy of files, with the app dir at the root,
// once they are within b.Limits (a *vet.LimitError, naming the file, if not).
func (b *Builder) BuildFiles(files Files) ([]byte, error) {
	l := b.Limits
	if l == (vet.Limits{}) {
		l = vet.DefaultLimits()
	}
	if errs := vet.Files(files, l); len(errs) > 0 {
		return nil, fmt.Errorf("kustomize build /: %w", errors.Join(errs...))
	}
	return b.BuildVetted(files)
}

// BuildVetted is BuildFiles for files already measured with vet.Files
// within b.Limits (and files bgrender rendered itself): it does not measure
// them again.
func (b *Builder) BuildVetted(files Files) ([]byte, error) {
	return b.buildAt(files, "/")
}

// buildAt writes files to an in-memory file system and builds dir there.
func (b *Builder) buildAt(files Files, dir string) ([]byte, error) {
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
	return b.build(fsys, "/", dir)
}
