package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
)

// HooksDir holds, in overlays/, the Job of the hook running for the
// release under test.
const HooksDir = "hooks"

// LabelHook labels a hook Job and its pods with the hook's name;
// LabelHookApp with the app's (not LabelApp, which the app's Service
// selects).
const (
	LabelHook    = "bgrender.io/hook"
	LabelHookApp = "bgrender.io/app"
)

// HookJobName is the name of the Job of one run of a hook:
// <app>-<hook>-<release>, and -<attempt> from the second run on, so that a
// run again is a new Job and never hits a Job's immutable template. A name
// longer than a Job may have (63 characters: its pods' job-name label)
// ends in the first 10 hex digits of the release and attempt's digest
// instead.
func HookJobName(app, hook, release string, attempt int) string {
	run := release
	if attempt > 1 {
		run += fmt.Sprintf("-%d", attempt)
	}
	if n := app + "-" + hook + "-" + run; len(n) <= 63 {
		return n
	}
	sum := sha256.Sum256([]byte(run))
	return app + "-" + hook + "-" + hex.EncodeToString(sum[:])[:10]
}

// hookFile is the running hook's file, relative to overlays/; "" when no
// hook runs for rel.
func hookFile(s state.State, rel state.Release) string {
	h := s.RunningHook()
	if h == nil || s.Test.ID != rel.ID {
		return ""
	}
	return path.Join(HooksDir, fmt.Sprintf("%s-%d.yaml", h.Name, h.Attempt))
}

// hookJob renders the Job of the hook running for rel, from its color's
// snapshot: the template's container (env, envFrom, volumeMounts) and pod
// (serviceAccountName, imagePullSecrets, volumes), with the names of the
// color's own ConfigMaps, Secrets, ServiceAccounts and claims suffixed as
// the color's kustomization suffixes them; bgrender's env and secretEnv;
// the release's image (or the hook's); the hook's command, resources and
// limits. Its pods carry neither the app nor the color label, so that no
// Service, subset or PDB of the app ever selects them, and never restart
// in place: a failed pod counts against backoffLimit.
func (r *renderer) hookJob(rel state.Release, snapshot Files) (*yaml.RNode, error) {
	run := r.s.RunningHook()
	hook, ok := r.cfg.HookNamed(run.Name)
	if !ok {
		return nil, fmt.Errorf("hook %s runs for %s, but %s has no hook of that name; end it (`bgrender hook end`) or put it back", run.Name, rel.Describe(), config.FileName)
	}
	template := Subtree(snapshot, snapshotTemplateDir)
	w, err := findWorkload(r.cfg, template)
	if err != nil {
		return nil, fmt.Errorf("hook %s: %w", hook.Name, err)
	}
	own, err := colorObjects(template)
	if err != nil {
		return nil, fmt.Errorf("hook %s: %w", hook.Name, err)
	}
	suffix := "-" + string(rel.Color)
	rename := func(n *yaml.RNode) *yaml.RNode {
		if n != nil {
			renameRefs(n.YNode(), own, suffix)
		}
		return n
	}
	b := &r.b
	image := hook.Image
	if image == "" {
		image = r.cfg.Image + ":" + rel.Version
	}
	container := []field{
		kv("name", str(hook.Name)),
		kv("image", str(image)),
		kv("command", strs(hook.Command...)),
	}
	env := rename(copyField(w.node, "env"))
	if len(r.cfg.Env) > 0 {
		if env == nil {
			env = seq()
		}
		for _, v := range r.cfg.Env {
			env.YNode().Content = append(env.YNode().Content, b.mapping(kv("name", str(v.Name)), kv("value", str(v.Value))).YNode())
		}
	}
	container = append(container, kv("env", env))
	envFrom := rename(copyField(w.node, "envFrom"))
	if r.cfg.SecretEnv {
		if envFrom == nil {
			envFrom = seq()
		}
		envFrom.YNode().Content = append(envFrom.YNode().Content,
			b.mapping(kv("secretRef", b.mapping(kv("name", str(SecretEnvName(r.cfg.App, rel.Color)))))).YNode())
	}
	container = append(container, kv("envFrom", envFrom), kv("volumeMounts", copyField(w.node, "volumeMounts")))
	if len(hook.Resources) > 0 {
		var kinds []field
		for _, kind := range []string{"limits", "requests"} {
			rs := hook.Resources[kind]
			if len(rs) == 0 {
				continue
			}
			var qs []field
			for _, name := range []string{"cpu", "ephemeral-storage", "memory"} {
				if q, ok := rs[name]; ok {
					qs = append(qs, kv(name, str(q)))
				}
			}
			kinds = append(kinds, kv(kind, b.mapping(qs...)))
		}
		container = append(container, kv("resources", b.mapping(kinds...)))
	}
	labels := func() *yaml.RNode {
		return b.mapping(kv(LabelHookApp, str(r.cfg.App)), kv(LabelHook, str(hook.Name)), kv(LabelRelease, str(rel.ID)))
	}
	return b.object("batch/v1", "Job",
		b.mapping(kv("name", str(HookJobName(r.cfg.App, hook.Name, rel.ID, run.Attempt))), kv("labels", labels())),
		kv("spec", b.mapping(
			kv("backoffLimit", integer(hook.Retries())),
			kv("activeDeadlineSeconds", integer(hook.Deadline())),
			kv("template", b.mapping(
				kv("metadata", b.mapping(kv("labels", labels()))),
				kv("spec", b.mapping(
					kv("restartPolicy", str("Never")),
					kv("serviceAccountName", renameNamed(copyField(w.pod, "serviceAccountName"), own["ServiceAccount"], suffix)),
					kv("imagePullSecrets", renameNamed(copyField(w.pod, "imagePullSecrets"), own["Secret"], suffix)),
					kv("containers", seq(b.mapping(container...))),
					kv("volumes", rename(copyField(w.pod, "volumes"))),
				)),
			)),
		)),
	), nil
}

// copyField is a copy of n's field, nil when n has none.
func copyField(n *yaml.RNode, name string) *yaml.RNode {
	if n == nil {
		return nil
	}
	if f := n.Field(name); f != nil && f.Value != nil {
		return f.Value.Copy()
	}
	return nil
}

// colorObjects names, by kind, the objects of a color's template that the
// color's kustomization suffixes with -<color> and a pod can refer to. A
// template kustomization with generators is refused: their names get a
// content hash only kustomize knows.
func colorObjects(template Files) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	for p, data := range template {
		if !isYAMLFile(p) {
			continue
		}
		nodes, err := kio.FromBytes(data)
		if err != nil {
			continue // kustomize reports it
		}
		for _, n := range nodes {
			if path.Base(p) == KustomizationFile {
				for _, g := range []string{"configMapGenerator", "secretGenerator"} {
					if n.Field(g) != nil {
						return nil, fmt.Errorf("%s/%s has a %s: a hook Job cannot refer to generated names yet; give the ConfigMap or Secret a name of its own in a file", TemplateDir, p, g)
					}
				}
				continue
			}
			switch k := n.GetKind(); k {
			case "ConfigMap", "Secret", "ServiceAccount", "PersistentVolumeClaim":
				if out[k] == nil {
					out[k] = map[string]bool{}
				}
				out[k][n.GetName()] = true
			}
		}
	}
	return out, nil
}

// refFields are the fields of a pod spec's parts that name an object, and
// its kind.
var refFields = map[string]string{
	"configMapKeyRef":       "ConfigMap",
	"configMapRef":          "ConfigMap",
	"configMap":             "ConfigMap",
	"secretKeyRef":          "Secret",
	"secretRef":             "Secret",
	"secret":                "Secret",
	"persistentVolumeClaim": "PersistentVolumeClaim",
}

// renameRefs suffixes, under n, every reference to one of the color's own
// objects: {configMapRef, secretRef, configMapKeyRef, secretKeyRef,
// configMap, secret}.name, secret.secretName and
// persistentVolumeClaim.claimName.
func renameRefs(n *yaml.Node, own map[string]map[string]bool, suffix string) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			renameRefs(c, own, suffix)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, n.Content[i+1]
			if kind, ok := refFields[key]; ok && val.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(val.Content); j += 2 {
					k, v := val.Content[j].Value, val.Content[j+1]
					if (k == "name" || k == "secretName" || k == "claimName") && own[kind][v.Value] {
						v.Value += suffix
					}
				}
			}
			renameRefs(val, own, suffix)
		}
	}
}

// renameNamed suffixes a scalar (serviceAccountName) or the names of a
// list of {name: X} (imagePullSecrets) that are the color's own of kind.
func renameNamed(n *yaml.RNode, own map[string]bool, suffix string) *yaml.RNode {
	if n == nil {
		return nil
	}
	y := n.YNode()
	switch y.Kind {
	case yaml.ScalarNode:
		if own[y.Value] {
			y.Value += suffix
		}
	case yaml.SequenceNode:
		for _, c := range y.Content {
			for j := 0; j+1 < len(c.Content); j += 2 {
				if c.Content[j].Value == "name" && own[c.Content[j+1].Value] {
					c.Content[j+1].Value += suffix
				}
			}
		}
	}
	return n
}
