package render

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// A kustomization may reach directories elsewhere in the env repo: a
// component shared by many apps (components: [../../../components/common]),
// or a common base. They build as kubectl kustomize builds them, from the
// same commit as the app dir; nothing outside the repo is ever read.

// SharedDirs returns the repo paths of directories outside the app dir that
// the app's kustomizations reach through resources, components or bases
// and that shared does not hold yet, sorted. dir is the app dir's repo path,
// files its files (relative to dir) and shared the files already read from
// elsewhere in the repo (by repo path). A caller reads each from the same
// commit, adds them to shared and asks again, until there are none: a
// shared dir may reach further dirs. Entries that are remote, absolute or
// lead out of the repo are not returned; the build refuses them.
func SharedDirs(dir string, files, shared Files) []string {
	dir = path.Clean(dir)
	have := func(p string) (exists, isDir bool) {
		if _, ok := repoFile(dir, files, shared, p); ok {
			return true, false
		}
		prefix := p + "/"
		if p == "." {
			prefix = ""
		}
		for q := range files {
			if strings.HasPrefix(path.Join(dir, q), prefix) {
				return true, true
			}
		}
		for q := range shared {
			if strings.HasPrefix(q, prefix) {
				return true, true
			}
		}
		return false, false
	}
	want := map[string]bool{}
	seen := map[string]bool{}
	var walk func(kdir string)
	walk = func(kdir string) {
		if seen[kdir] {
			return
		}
		seen[kdir] = true
		var data []byte
		for _, name := range konfig.RecognizedKustomizationFileNames() {
			if b, ok := repoFile(dir, files, shared, path.Join(kdir, name)); ok {
				data = b
				break
			}
		}
		if data == nil {
			return
		}
		k, err := yaml.Parse(string(data))
		if err != nil {
			return
		}
		for _, field := range []string{"resources", "components", "bases"} {
			for _, v := range stringsAt(k, field) {
				entry := strings.TrimSpace(v)
				if entry == "" || isRemote(entry) || path.IsAbs(entry) {
					continue
				}
				target := path.Join(kdir, entry)
				if outsideRepo(target) {
					continue
				}
				exists, isDir := have(target)
				switch {
				case isDir:
					walk(target)
				case !exists && !within(dir, target):
					want[target] = true
				}
			}
		}
	}
	walk(dir)
	out := make([]string, 0, len(want))
	for p := range want {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// repoFile finds the file at repo path p in the app's files or in shared.
func repoFile(dir string, files, shared Files, p string) ([]byte, bool) {
	if within(dir, p) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if dir == "." {
			rel = p
		}
		b, ok := files[rel]
		return b, ok
	}
	b, ok := shared[p]
	return b, ok
}

// within reports whether repo path p is dir or below it.
func within(dir, p string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// outsideRepo reports whether a cleaned repo-relative path leads above the
// repo's root.
func outsideRepo(p string) bool {
	return p == ".." || strings.HasPrefix(p, "../")
}

// BuildShared builds the app dir dir (its repo path) with its files and
// the shared files from elsewhere in the repo (by repo path, as SharedDirs
// found them), on an in-memory copy of those parts of the repo. Errors name
// repo paths. The files must be measured already, as for BuildVetted.
func (b *Builder) BuildShared(dir string, files, shared Files) ([]byte, error) {
	dir = path.Clean(dir)
	all := make(Files, len(files)+len(shared))
	for p, data := range shared {
		if within(dir, p) || outsideRepo(p) || path.IsAbs(p) {
			return nil, fmt.Errorf("build %s: shared file %s is not outside the app dir", dir, p)
		}
		all[p] = data
	}
	for p, data := range files {
		all[path.Join(dir, p)] = data
	}
	return b.buildAt(all, path.Join("/", dir))
}
