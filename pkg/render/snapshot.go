package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
)

// What a color runs is rendered once, when a release is deployed into it,
// and kept in git: overlays/<color>/snapshot/ holds a copy of the template
// (per-color/) as it was then, and bgrender's patch of it (the image, and
// what bgrender.yaml adds). A later change of per-color/ or bgrender.yaml
// reaches a color only by a new deploy into it, so it goes through the
// test route and verify before it takes traffic. The release records the
// snapshot's digest, so a snapshot edited by hand is found.

// Paths of the per-color template and of a color's snapshot.
const (
	// TemplateDir is the user's: everything that exists once per color
	// (the Deployment, and its HPA, PDB and the ConfigMaps its pods use).
	// Each color gets a copy, every name suffixed with -<color> and every
	// reference to those names rewritten.
	TemplateDir = "per-color"
	// SnapshotDir, inside overlays/<color>/, is what that color runs.
	SnapshotDir = "snapshot"
	// ReplacedDir, inside overlays/<color>/, keeps the snapshot of a warm
	// standby that the release under test took the color of, for an abort
	// to put back.
	ReplacedDir = "replaced"
	// WorkloadPatchFile is bgrender's patch of the template, in a snapshot.
	WorkloadPatchFile = "workload-patch.yaml"
	// snapshotTemplateDir is the template's copy, in a snapshot.
	snapshotTemplateDir = "template"
)

const snapshotComment = `# Rendered by bgrender when this release was deployed; do not edit: it is what this color runs.`

// ErrOldLayout: the app dir predates per-color snapshots (its Deployment
// template is in base/deployment/, its colors are rendered at every
// transition). `bgrender migrate` moves it, changing no object.
var ErrOldLayout = errors.New("this app dir uses the layout from before per-color snapshots; `bgrender migrate` moves it to the new one without changing any object")

// Snapshot renders what a color runs for release rel: the template (the
// files of per-color/, keyed relative to it) copied as it is, and bgrender's
// patch of the Deployment named after the app. Keys are relative to the
// snapshot dir. The patch changes only what bgrender owns: the image of one
// container (config container:, else the only container, else the one named
// after the app); a readiness probe on readinessPath only where the
// container has none; env, and the per-color Secret with secretEnv, added
// to what the container has.
func Snapshot(cfg config.Config, template Files, rel state.Release) (Files, error) {
	if err := check(cfg); err != nil {
		return nil, fmt.Errorf("render snapshot: %w", err)
	}
	if len(template) == 0 {
		return nil, fmt.Errorf("render snapshot: %s/ is empty; it holds the Deployment template (bgrender init writes one)", TemplateDir)
	}
	w, err := findWorkload(cfg, template)
	if err != nil {
		return nil, err
	}
	var b nodes
	out := Files{}
	for p, data := range template {
		out[path.Join(snapshotTemplateDir, p)] = data
	}
	add := func(name string, root *yaml.RNode) {
		if b.err != nil {
			return
		}
		data, err := document(snapshotComment, root)
		if err != nil {
			b.err = fmt.Errorf("%s: %w", name, err)
			return
		}
		out[name] = data
	}
	add(KustomizationFile, b.mapping(
		kv("apiVersion", str(kustomizeAPIVersion)),
		kv("kind", str(kustomizationKind)),
		kv("resources", strs(snapshotTemplateDir)),
		kv("patches", seq(b.mapping(kv("path", str(WorkloadPatchFile))))),
	))
	add(WorkloadPatchFile, b.object("apps/v1", "Deployment",
		b.mapping(kv("name", str(cfg.App))),
		kv("spec", b.mapping(
			kv("template", b.mapping(
				kv("spec", b.mapping(
					kv("containers", seq(b.mapping(w.patch(&b, cfg, rel)...))),
				)),
			)),
		)),
	))
	if b.err != nil {
		return nil, fmt.Errorf("render snapshot of %s: %w", cfg.App, b.err)
	}
	return out, nil
}

// workload is what Snapshot needs to know of the template's Deployment.
type workload struct {
	container string        // the container that gets the image
	hasProbe  bool          // it has a readiness probe of its own
	envFrom   []*yaml.RNode // its envFrom, which a patch would replace
	node      *yaml.RNode   // the container
	pod       *yaml.RNode   // the pod template's spec
}

// patch is bgrender's patch of the workload's container.
func (w workload) patch(b *nodes, cfg config.Config, rel state.Release) []field {
	fields := []field{
		kv("name", str(w.container)),
		kv("image", str(cfg.Image+":"+rel.Version)),
	}
	if !w.hasProbe {
		fields = append(fields, kv("readinessProbe", b.mapping(
			kv("httpGet", b.mapping(
				kv("path", str(cfg.ReadinessPath)),
				kv("port", integer(cfg.Port)),
			)),
		)))
	}
	if len(cfg.Env) > 0 {
		// env merges by name: these add to the container's.
		vars := make([]*yaml.RNode, 0, len(cfg.Env))
		for _, v := range cfg.Env {
			vars = append(vars, b.mapping(kv("name", str(v.Name)), kv("value", str(v.Value))))
		}
		fields = append(fields, kv("env", seq(vars...)))
	}
	if cfg.SecretEnv {
		// envFrom has no merge key: a patch replaces it, so it lists the
		// container's own first.
		from := append([]*yaml.RNode(nil), w.envFrom...)
		from = append(from, b.mapping(
			kv("secretRef", b.mapping(kv("name", str(SecretEnvName(cfg.App, rel.Color))))),
		))
		fields = append(fields, kv("envFrom", seq(from...)))
	}
	return fields
}

// WorkloadError is a template whose Deployment bgrender cannot patch.
type WorkloadError struct {
	// File is where the Deployment is (relative to the app dir), or the
	// template dir.
	File    string
	Problem string
}

func (e *WorkloadError) Error() string { return e.File + ": " + e.Problem }

// findWorkload finds the template's Deployment and the container that
// gets the image.
func findWorkload(cfg config.Config, template Files) (workload, error) {
	paths := make([]string, 0, len(template))
	for p := range template {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	type found struct {
		file string
		node *yaml.RNode
	}
	var deps []found
	for _, p := range paths {
		if !isYAMLFile(p) || path.Base(p) == KustomizationFile {
			continue
		}
		nodes, err := kio.FromBytes(template[p])
		if err != nil {
			continue // kustomize reports it
		}
		for _, n := range nodes {
			if n.GetKind() == "Deployment" {
				deps = append(deps, found{path.Join(TemplateDir, p), n})
			}
		}
	}
	switch {
	case len(deps) == 0:
		return workload{}, &WorkloadError{File: TemplateDir + "/", Problem: "no Deployment: the template of what runs in each color needs one, named " + cfg.App}
	case len(deps) > 1:
		var files []string
		for _, d := range deps {
			files = append(files, d.file)
		}
		return workload{}, &WorkloadError{File: TemplateDir + "/", Problem: fmt.Sprintf("%d Deployments (%s): a color runs one", len(deps), strings.Join(files, ", "))}
	}
	d := deps[0]
	if name := d.node.GetName(); name != cfg.App {
		return workload{}, &WorkloadError{File: d.file, Problem: fmt.Sprintf("the Deployment is named %q: name it %q (each color's copy is %s-<color>), or set app: %s in %s", name, cfg.App, cfg.App, name, config.FileName)}
	}
	containers, _ := d.node.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
	var items []*yaml.RNode
	if containers != nil {
		items, _ = containers.Elements()
	}
	names := make([]string, 0, len(items))
	byName := map[string]*yaml.RNode{}
	for _, c := range items {
		n := yaml.GetValue(c.Field("name").Value)
		names = append(names, n)
		byName[n] = c
	}
	pick := cfg.Container
	switch {
	case pick != "" && byName[pick] == nil:
		return workload{}, &WorkloadError{File: d.file, Problem: fmt.Sprintf("container %q (container: in %s) is not in the Deployment; its containers are %s", pick, config.FileName, strings.Join(names, ", "))}
	case pick != "":
	case len(items) == 1:
		pick = names[0]
	case byName[cfg.App] != nil:
		pick = cfg.App
	case len(items) == 0:
		return workload{}, &WorkloadError{File: d.file, Problem: "the Deployment has no containers"}
	default:
		return workload{}, &WorkloadError{File: d.file, Problem: fmt.Sprintf("which container gets the image? set container: in %s to one of %s", config.FileName, strings.Join(names, ", "))}
	}
	c := byName[pick]
	pod, _ := d.node.Pipe(yaml.Lookup("spec", "template", "spec"))
	w := workload{container: pick, hasProbe: c.Field("readinessProbe") != nil, node: c, pod: pod}
	if ef := c.Field("envFrom"); ef != nil {
		w.envFrom, _ = ef.Value.Elements()
	}
	return w, nil
}

func isYAMLFile(p string) bool {
	return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".json")
}

// Digest is the digest of a set of files ("sha256:..."): the same files
// give the same digest.
func Digest(files Files) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%d:%s\x00%d:", len(p), p, len(files[p]))
		h.Write(files[p])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Subtree returns the files under dir, keyed relative to it.
func Subtree(files Files, dir string) Files {
	out := Files{}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for p, b := range files {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			out[rest] = b
		}
	}
	return out
}

// ColorDir is overlays/<color>.
func ColorDir(c state.Color) string { return path.Join(OverlaysDir, string(c)) }

// DriftError is a color whose files are not the snapshot its release
// recorded: edited by hand.
type DriftError struct {
	// Dir is the snapshot dir, relative to the app dir.
	Dir     string
	Release state.Release
	// Live is set when the release is the active one: it is never deployed
	// into again.
	Live bool
	// Found, when the caller found it in history, is where the snapshot
	// was made and what changed since.
	Found *DriftOrigin
}

// DriftOrigin is the commit that made a drifted snapshot, and the files
// changed since.
type DriftOrigin struct {
	// Commit is the commit's short hash; RepoDir the snapshot dir relative
	// to the repository root.
	Commit, RepoDir string
	// Changed are the files changed, added or removed since, relative to
	// the app dir, sorted.
	Changed []string
}

func (e *DriftError) Error() string {
	again := fmt.Sprintf(", or deploy again into %s", e.Release.Color)
	if e.Live {
		again = " (it is live: what it runs changes only by a release through the test route)"
	}
	if f := e.Found; f != nil {
		return fmt.Sprintf("%s is not what %s was deployed with: %s changed by hand since commit %s made it; restore it (`git checkout %s -- %s`)%s", e.Dir, e.Release.Describe(), strings.Join(f.Changed, ", "), f.Commit, f.Commit, f.RepoDir, again)
	}
	return fmt.Sprintf("%s is not what %s was deployed with (its files were edited by hand): restore it from the commit that deployed the release (git log -- %s)%s", e.Dir, e.Release.Describe(), e.Dir, again)
}

// DriftedFiles are the files of dir (relative to the app dir) that differ
// between the app's files now and a snapshot's files, sorted.
func DriftedFiles(dir string, now, snapshot Files) []string {
	var out []string
	for p, b := range now {
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
			if old, had := snapshot[rest]; !had || !bytes.Equal(old, b) {
				out = append(out, p)
			}
		}
	}
	for p := range snapshot {
		if _, has := now[path.Join(dir, p)]; !has {
			out = append(out, path.Join(dir, p))
		}
	}
	sort.Strings(out)
	return out
}

// Render renders the bgrender-owned files of an app for state next, from
// the app dir's current files and the state they were rendered for (prev;
// the state of a new app when there were none). A release new in its color
// gets a fresh snapshot of the template (per-color/ in current) and config;
// every other release keeps the snapshot it has in current; a warm standby
// that the release under test takes the color of moves to replaced/, and
// comes back from there when an abort gives it back. It returns next with
// the digests of the new snapshots recorded (a copy: next is not changed).
func Render(cfg config.Config, current Files, prev, next state.State) (Files, state.State, error) {
	next = next.Clone()
	template := Subtree(current, TemplateDir)
	snapshotOf := func(c state.Color) Files { return Subtree(current, path.Join(ColorDir(c), SnapshotDir)) }
	replacedOf := func(c state.Color) Files { return Subtree(current, path.Join(ColorDir(c), ReplacedDir)) }
	colors := map[state.Color]ColorFiles{}
	for _, c := range state.Colors() {
		rel := inColor(&next, c)
		if rel == nil {
			continue
		}
		var cf ColorFiles
		was := prev.InColor(c)
		switch {
		case was != nil && was.ID == rel.ID:
			cf.Snapshot = snapshotOf(c)
		case prev.Test != nil && prev.Test.Color == c && prev.Test.Replaces != nil && prev.Test.Replaces.ID == rel.ID:
			cf.Snapshot = replacedOf(c) // an abort gave the standby back
		default:
			snap, err := Snapshot(cfg, template, *rel)
			if err != nil {
				return nil, next, err
			}
			cf.Snapshot, rel.Snapshot = snap, Digest(snap)
		}
		if t := next.Test; t != nil && t.ID == rel.ID && t.Replaces != nil {
			switch r := t.Replaces; {
			case prev.Test != nil && prev.Test.Replaces != nil && prev.Test.Replaces.ID == r.ID:
				cf.Replaced = replacedOf(c)
			case prev.Standby != nil && prev.Standby.ID == r.ID:
				cf.Replaced = snapshotOf(c) // taken just now
			}
		}
		colors[c] = cf
	}
	files, err := Overlays(cfg, next, colors, Subtree(current, AdoptedDir), Subtree(current, BaseDir))
	return files, next, err
}

// inColor is the release of s in color c, as a pointer into s.
func inColor(s *state.State, c state.Color) *state.Release {
	for _, r := range []*state.Release{s.Active, s.Test, s.Standby} {
		if r != nil && r.Color == c {
			return r
		}
	}
	return nil
}

// legacyTemplateDir and legacyPatchFile are the layout before snapshots:
// the Deployment template in base/deployment/, each color re-rendered from
// it at every transition with overlays/<color>/deployment-patch.yaml.
const (
	legacyTemplateDir = BaseDir + "/deployment"
	legacyPatchFile   = "deployment-patch.yaml"
)

// IsOldLayout reports whether an app dir's files are in the layout from
// before snapshots.
func IsOldLayout(files Files) bool {
	return len(Subtree(files, legacyTemplateDir)) > 0 && len(Subtree(files, TemplateDir)) == 0
}

// Migrate moves an app dir from the old layout to the one with per-color
// snapshots, changing no object: base/deployment/ becomes per-color/, and
// each deployed color's snapshot is that template with the patch it was
// rendered with (its deployment-patch.yaml as it is), so that each color
// builds to the same objects as before. It returns the app dir's files
// (the user's and bgrender's, not the state) and the state with the
// snapshots' digests recorded.
func Migrate(cfg config.Config, s state.State, current Files) (Files, state.State, error) {
	if !IsOldLayout(current) {
		return nil, s, fmt.Errorf("migrate %s: there is no %s/ to move (or %s/ exists already)", cfg.App, legacyTemplateDir, TemplateDir)
	}
	template := Subtree(current, legacyTemplateDir)
	out := Files{}
	for p, b := range current {
		if !Owned(p) && !strings.HasPrefix(p, legacyTemplateDir+"/") && p != state.FileName {
			out[p] = b
		}
	}
	for p, b := range template {
		out[path.Join(TemplateDir, p)] = b
	}
	next := s.Clone()
	colors := map[state.Color]ColorFiles{}
	for _, c := range state.Colors() {
		rel := inColor(&next, c)
		if rel == nil {
			continue
		}
		patch, ok := current[path.Join(ColorDir(c), legacyPatchFile)]
		if !ok {
			return nil, s, fmt.Errorf("migrate %s: %s has no %s to keep what %s runs", cfg.App, ColorDir(c), legacyPatchFile, rel.Describe())
		}
		snap := Files{WorkloadPatchFile: patch}
		for p, b := range template {
			snap[path.Join(snapshotTemplateDir, p)] = b
		}
		var b nodes
		k, err := document(snapshotComment, b.mapping(
			kv("apiVersion", str(kustomizeAPIVersion)),
			kv("kind", str(kustomizationKind)),
			kv("resources", strs(snapshotTemplateDir)),
			kv("patches", seq(b.mapping(kv("path", str(WorkloadPatchFile))))),
		))
		if err == nil {
			err = b.err
		}
		if err != nil {
			return nil, s, fmt.Errorf("migrate %s: %w", cfg.App, err)
		}
		snap[KustomizationFile] = k
		rel.Snapshot = Digest(snap)
		colors[c] = ColorFiles{Snapshot: snap}
	}
	owned, err := Overlays(cfg, next, colors, Subtree(current, AdoptedDir), Subtree(current, BaseDir))
	if err != nil {
		return nil, s, fmt.Errorf("migrate %s: %w", cfg.App, err)
	}
	for p, b := range owned {
		out[p] = b
	}
	return out, next, nil
}

// AdoptedDriftError is the adopted workload's files (in Dir) edited by
// hand: they are what init --adopt kept, and change only when decommission
// removes them.
type AdoptedDriftError struct {
	Dir     string
	Adopted state.Adopted
}

func (e *AdoptedDriftError) Error() string {
	return fmt.Sprintf("%s is not what init --adopt kept of %s (its files were edited by hand): restore it from the commit that made it (git log -- %s); it changes only when decommission removes it", e.Dir, e.Adopted.Describe(), e.Dir)
}
