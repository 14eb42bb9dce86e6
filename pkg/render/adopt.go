package render

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
)

// Adoption is how Adopt arranges an existing kustomize app dir.
type Adoption struct {
	// Files are the user's files of the app dir after adoption: per-color/
	// and base/, and whatever else was there and is not a resource.
	Files Files
	// Moves says, one line each, what went where.
	Moves []string
	// Removed are the paths of the app dir that are no longer there (moved
	// away, or replaced by bgrender's kustomization.yaml).
	Removed []string
	// Adopted is the digest of AdoptedDir in Files: the per-color objects
	// as the app ran them, kept serving until a release is promoted (see
	// state.Adopted).
	Adopted string
}

// Adopt arranges an existing kustomize app dir (files, with its
// kustomization.yaml) into bgrender's layout for cfg. The resources that
// exist once per color go to per-color/: the Deployment (exactly one, named
// after the app), its HorizontalPodAutoscalers and PodDisruptionBudgets, and
// the ConfigMaps and Secrets its pods refer to; everything else (the
// Service, a ServiceAccount, the rest) goes to base/, whose kustomization.yaml
// is the app's own with its resources split off. A file holding both kinds
// is split by document. Without a Gateway among them, base/ gets the one
// Scaffold makes. Files that no kustomization lists stay where they are.
func Adopt(cfg config.Config, files Files) (Adoption, error) {
	kdata, ok := files[KustomizationFile]
	if !ok {
		return Adoption{}, fmt.Errorf("adopt: no %s: there is no kustomize app here to adopt", KustomizationFile)
	}
	k, err := yaml.Parse(string(kdata))
	if err != nil {
		return Adoption{}, fmt.Errorf("adopt: %s: %w", KustomizationFile, err)
	}
	resources := stringsAt(k, "resources")
	type doc struct {
		file string
		node *yaml.RNode
	}
	var docs []doc
	var dirs, elsewhere []string
	for _, r := range resources {
		p := path.Clean(r)
		switch {
		case isRemote(r) || path.IsAbs(p):
			return Adoption{}, fmt.Errorf("adopt: %s: resources %q is not in the repo; adopt an app whose resources are", KustomizationFile, r)
		case strings.HasPrefix(p, "../"):
			// A base elsewhere in the repo: base/ refers to it, one
			// level further down.
			elsewhere = append(elsewhere, p)
		case files[p] != nil:
			nodes, err := kio.FromBytes(files[p])
			if err != nil {
				return Adoption{}, fmt.Errorf("adopt: %s: %w", p, err)
			}
			for _, n := range nodes {
				docs = append(docs, doc{p, n})
			}
		case len(Subtree(files, p)) > 0:
			dirs = append(dirs, p)
		default:
			return Adoption{}, fmt.Errorf("adopt: %s: resources %q: no such file or directory", KustomizationFile, r)
		}
	}
	var dep *yaml.RNode
	for _, d := range docs {
		if d.node.GetKind() == "Deployment" {
			if dep != nil {
				return Adoption{}, fmt.Errorf("adopt: more than one Deployment (%s, %s): a bgrender app runs one", dep.GetName(), d.node.GetName())
			}
			dep = d.node
		}
	}
	if dep == nil {
		return Adoption{}, fmt.Errorf("adopt: no Deployment among the resources of %s", KustomizationFile)
	}
	if dep.GetName() != cfg.App {
		return Adoption{}, fmt.Errorf("adopt: the Deployment is named %q: adopt it with --name %s (each color's copy is %s-<color>)", dep.GetName(), dep.GetName(), dep.GetName())
	}
	used := podReferences(dep)
	perColor := func(n *yaml.RNode) bool {
		switch n.GetKind() {
		case "Deployment", "PodDisruptionBudget":
			return true
		case "HorizontalPodAutoscaler":
			name, _ := n.GetString("spec.scaleTargetRef.name")
			return name == cfg.App
		case "ConfigMap", "Secret":
			return used[n.GetKind()+"/"+n.GetName()]
		}
		return false
	}

	out := Files{}
	for p, b := range files {
		out[p] = b
	}
	a := Adoption{}
	byFile := map[string][]*yaml.RNode{}
	var order []string
	for _, d := range docs {
		if byFile[d.file] == nil {
			order = append(order, d.file)
		}
		byFile[d.file] = append(byFile[d.file], d.node)
	}
	var colorRes, baseRes, keptRes []string
	hasGateway := false
	for _, f := range order {
		var mine, shared []*yaml.RNode
		for _, n := range byFile[f] {
			if perColor(n) {
				mine = append(mine, n)
			} else {
				shared = append(shared, n)
				hasGateway = hasGateway || n.GetKind() == "Gateway"
			}
		}
		delete(out, f)
		a.Removed = append(a.Removed, f)
		if len(mine) > 0 {
			kept, err := keepAdopted(mine)
			if err != nil {
				return Adoption{}, fmt.Errorf("adopt: %s: %w", f, err)
			}
			out[path.Join(AdoptedDir, f)] = kept
			keptRes = append(keptRes, f)
		}
		switch {
		case len(shared) == 0:
			out[path.Join(TemplateDir, f)] = files[f]
			colorRes = append(colorRes, f)
			a.Moves = append(a.Moves, fmt.Sprintf("%s -> %s/%s (%s: once per color)", f, TemplateDir, f, kinds(mine)))
		case len(mine) == 0:
			out[path.Join(BaseDir, f)] = files[f]
			baseRes = append(baseRes, f)
			a.Moves = append(a.Moves, fmt.Sprintf("%s -> %s/%s (%s: shared by both colors)", f, BaseDir, f, kinds(shared)))
		default:
			for dst, nodes := range map[string][]*yaml.RNode{TemplateDir: mine, BaseDir: shared} {
				data, err := kio.StringAll(nodes)
				if err != nil {
					return Adoption{}, fmt.Errorf("adopt: split %s: %w", f, err)
				}
				out[path.Join(dst, f)] = []byte(data)
			}
			colorRes = append(colorRes, f)
			baseRes = append(baseRes, f)
			a.Moves = append(a.Moves, fmt.Sprintf("%s split: %s to %s/%s, %s to %s/%s", f, kinds(mine), TemplateDir, f, kinds(shared), BaseDir, f))
		}
	}
	for _, d := range dirs {
		for p, b := range Subtree(files, d) {
			delete(out, path.Join(d, p))
			a.Removed = append(a.Removed, path.Join(d, p))
			out[path.Join(BaseDir, d, p)] = b
		}
		baseRes = append(baseRes, d)
		a.Moves = append(a.Moves, fmt.Sprintf("%s/ -> %s/%s/ (shared by both colors)", d, BaseDir, d))
	}
	for _, p := range elsewhere {
		baseRes = append(baseRes, path.Join("..", p))
		a.Moves = append(a.Moves, fmt.Sprintf("%s stays where it is (elsewhere in the repo; %s/%s refers to it)", p, BaseDir, KustomizationFile))
	}
	if !hasGateway && scaffoldsGateway(cfg) {
		scaffold, err := Scaffold(cfg)
		if err != nil {
			return Adoption{}, fmt.Errorf("adopt: %w", err)
		}
		gw := path.Join(BaseDir, "gateway.yaml")
		if _, taken := out[gw]; taken {
			return Adoption{}, fmt.Errorf("adopt: %s is one of the app's files already; bgrender would put its Gateway there", gw)
		}
		out[gw] = scaffold[gw]
		baseRes = append(baseRes, "gateway.yaml")
		hosts := strings.Join(cfg.Hosts(), ", ")
		if hosts == "" {
			hosts = "every host"
		}
		a.Moves = append(a.Moves, fmt.Sprintf("%s: a Gateway for %s (new)", gw, hosts))
	}
	// base/ keeps the app's kustomization, with its resources split off;
	// per-color/ lists what is its.
	if err := k.PipeE(yaml.SetField("resources", strs(baseRes...))); err != nil {
		return Adoption{}, fmt.Errorf("adopt: %w", err)
	}
	if err := k.PipeE(yaml.Clear("namespace")); err != nil {
		return Adoption{}, fmt.Errorf("adopt: %w", err)
	}
	// The kustomization moves one level down: its components (in the app
	// dir or elsewhere in the repo) stay where they are.
	if comps := stringsAt(k, "components"); len(comps) > 0 {
		moved := make([]string, len(comps))
		for i, c := range comps {
			moved[i] = c
			if e := strings.TrimSpace(c); e != "" && !isRemote(e) && !path.IsAbs(e) {
				moved[i] = path.Join("..", e)
			}
		}
		if err := k.PipeE(yaml.SetField("components", strs(moved...))); err != nil {
			return Adoption{}, fmt.Errorf("adopt: %w", err)
		}
	}
	baseK, err := k.String()
	if err != nil {
		return Adoption{}, fmt.Errorf("adopt: %w", err)
	}
	out[path.Join(BaseDir, KustomizationFile)] = []byte(baseK)
	var b nodes
	colorK, err := document(scaffoldTemplateComment, b.mapping(
		kv("apiVersion", str(kustomizeAPIVersion)),
		kv("kind", str(kustomizationKind)),
		kv("resources", strs(colorRes...)),
	))
	if err == nil {
		err = b.err
	}
	if err != nil {
		return Adoption{}, fmt.Errorf("adopt: %w", err)
	}
	out[path.Join(TemplateDir, KustomizationFile)] = colorK
	keptK, err := document(adoptedComment, b.mapping(
		kv("apiVersion", str(kustomizeAPIVersion)),
		kv("kind", str(kustomizationKind)),
		kv("resources", strs(keptRes...)),
	))
	if err == nil {
		err = b.err
	}
	if err != nil {
		return Adoption{}, fmt.Errorf("adopt: %w", err)
	}
	out[path.Join(AdoptedDir, KustomizationFile)] = keptK
	a.Adopted = Digest(Subtree(out, AdoptedDir))
	a.Moves = append(a.Moves, fmt.Sprintf("%s/: %s as they run now, with the pods labelled %s=%s (one rolling restart); they serve until a release is promoted, and decommission removes them", AdoptedDir, dep.GetName()+" and its per-color objects", LabelColor, AdoptedColor))
	delete(out, KustomizationFile) // bgrender's now
	a.Removed = append(a.Removed, KustomizationFile)
	a.Moves = append(a.Moves, fmt.Sprintf("%s -> %s/%s (its resources split between %s/ and %s/); %s is bgrender's now", KustomizationFile, BaseDir, KustomizationFile, BaseDir, TemplateDir, KustomizationFile))
	sort.Strings(a.Removed)
	a.Files = out
	return a, nil
}

// podReferences lists the ConfigMaps and Secrets ("ConfigMap/name") a
// Deployment's pods refer to: envFrom, env valueFrom, volumes (projected
// ones too).
func podReferences(dep *yaml.RNode) map[string]bool {
	used := map[string]bool{}
	spec, _ := dep.Pipe(yaml.Lookup("spec", "template", "spec"))
	if spec == nil {
		return used
	}
	note := func(kind string, n *yaml.RNode, fields ...string) {
		if n == nil {
			return
		}
		if v, err := n.GetString(strings.Join(fields, ".")); err == nil && v != "" {
			used[kind+"/"+v] = true
		}
	}
	for _, list := range []string{"containers", "initContainers"} {
		cs, _ := spec.Pipe(yaml.Lookup(list))
		if cs == nil {
			continue
		}
		items, _ := cs.Elements()
		for _, c := range items {
			if ef := c.Field("envFrom"); ef != nil {
				srcs, _ := ef.Value.Elements()
				for _, s := range srcs {
					note("ConfigMap", s, "configMapRef", "name")
					note("Secret", s, "secretRef", "name")
				}
			}
			if env := c.Field("env"); env != nil {
				vars, _ := env.Value.Elements()
				for _, v := range vars {
					note("ConfigMap", v, "valueFrom", "configMapKeyRef", "name")
					note("Secret", v, "valueFrom", "secretKeyRef", "name")
				}
			}
		}
	}
	if vols, _ := spec.Pipe(yaml.Lookup("volumes")); vols != nil {
		items, _ := vols.Elements()
		for _, v := range items {
			note("ConfigMap", v, "configMap", "name")
			note("Secret", v, "secret", "secretName")
			if srcs, _ := v.Pipe(yaml.Lookup("projected", "sources")); srcs != nil {
				ps, _ := srcs.Elements()
				for _, s := range ps {
					note("ConfigMap", s, "configMap", "name")
					note("Secret", s, "secret", "name")
				}
			}
		}
	}
	return used
}

func kinds(nodes []*yaml.RNode) string {
	var ks []string
	for _, n := range nodes {
		ks = append(ks, n.GetKind()+" "+n.GetName())
	}
	return strings.Join(ks, ", ")
}

const adoptedComment = `# Kept by bgrender init --adopt: the app's workload as it ran before bgrender,
# serving until a release is promoted. Do not edit; bgrender decommission removes it.`

// keepAdopted returns the per-color objects of one file as the app ran
// them, for AdoptedDir: the Deployment's pods get the color label
// AdoptedColor (outside its selector, which is immutable), so a subset can
// tell them from the colors' pods, and a PodDisruptionBudget that selects by
// labels selects only them.
func keepAdopted(objs []*yaml.RNode) ([]byte, error) {
	out := make([]*yaml.RNode, 0, len(objs))
	for _, o := range objs {
		c := o.Copy()
		var path []string
		switch c.GetKind() {
		case "Deployment":
			path = []string{"spec", "template", "metadata", "labels"}
		case "PodDisruptionBudget":
			if m, _ := c.Pipe(yaml.Lookup("spec", "selector", "matchLabels")); m != nil {
				path = []string{"spec", "selector", "matchLabels"}
			}
		}
		if path != nil {
			if err := c.PipeE(yaml.LookupCreate(yaml.MappingNode, path...), yaml.SetField(LabelColor, yaml.NewStringRNode(AdoptedColor))); err != nil {
				return nil, fmt.Errorf("label %s %s: %w", c.GetKind(), c.GetName(), err)
			}
		}
		out = append(out, c)
	}
	s, err := kio.StringAll(out)
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}
