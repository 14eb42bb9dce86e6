// Package kubecheck judges an app's built objects as the Kubernetes API
// server would, before Argo CD or Flux tries to apply them: each built-in
// kind is decoded strictly into its Go type (an unknown field, or a value of
// the wrong type, is a finding, as the API server's strict field validation
// makes it), and the pod rules that bite a blue-green app are checked: one
// handler per probe, container names and ports unique in a pod, each HPA
// and PDB aimed at its own color's Deployment, and every ConfigMap, Secret
// and volume source a pod refers to declared in the app or listed as
// provided outside git.
//
// # Where to start
//
// Check takes the build (render's output) and returns the findings. It is
// pure: no cluster, no files.
package kubecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/state"
)

// Options says what the app expects of its objects.
type Options struct {
	// ConfigMaps and Secrets the pods may use without the app declaring
	// them: objects made outside git (by an operator, sealed-secrets, a
	// secret store).
	ConfigMaps, Secrets []string
	// Images are the releases' images, one per Deployment of a color.
	Images []Image
}

// Image is the image a Deployment's release runs.
type Image struct {
	Deployment string
	// Container gets the image; empty means the only container, or the one
	// named App.
	Container, App string
	// Tag is the release's version, the image tag the container runs (the
	// repository is the one the color was deployed with).
	Tag string
}

// Finding is one problem with one object.
type Finding struct {
	// Object is "Kind/name".
	Object  string
	Problem string
}

func (f Finding) Error() string { return f.Object + ": " + f.Problem }

// Check returns the findings for the objects of a build, in the order of
// the objects.
func Check(built []byte, opts Options) []Finding {
	nodes, err := kio.FromBytes(built)
	if err != nil {
		return []Finding{{Object: "build", Problem: err.Error()}}
	}
	c := checker{
		declared: map[string]bool{},
		provided: map[string]bool{},
	}
	for _, n := range opts.ConfigMaps {
		c.provided["ConfigMap/"+n] = true
	}
	for _, n := range opts.Secrets {
		c.provided["Secret/"+n] = true
	}
	var typed []runtime.Object
	var names []string
	for _, n := range nodes {
		obj := n.GetKind() + "/" + n.GetName()
		c.declared[obj] = true
		o, problem := decodeStrict(n)
		if problem != "" {
			c.fail(obj, "%s", problem)
			// The other rules still judge it, as far as it decodes.
			if o = decodeLenient(n); o == nil {
				continue
			}
		}
		if o != nil {
			typed = append(typed, o)
			names = append(names, obj)
		}
	}
	deployments := map[string]*appsv1.Deployment{}
	for _, o := range typed {
		if d, ok := o.(*appsv1.Deployment); ok {
			deployments[d.Name] = d
		}
	}
	for _, im := range opts.Images {
		if d := deployments[im.Deployment]; d != nil {
			c.image("Deployment/"+d.Name, &d.Spec.Template.Spec, im)
		}
	}
	used := map[string]bool{} // ConfigMap/name used by a Deployment of its color
	for i, o := range typed {
		switch v := o.(type) {
		case *appsv1.Deployment:
			c.pod(names[i], &v.Spec.Template.Spec)
			if color := colorOf(v.Name); color != "" {
				for _, cm := range configMapsOf(&v.Spec.Template.Spec) {
					if colorOf(cm) == color {
						used[cm] = true
					}
				}
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			c.hpa(names[i], v, deployments)
		case *policyv1.PodDisruptionBudget:
			c.pdb(names[i], v, deployments)
		}
	}
	for i, o := range typed {
		if cm, ok := o.(*corev1.ConfigMap); ok && colorOf(cm.Name) != "" && !used[cm.Name] && hasColorDeployment(deployments, colorOf(cm.Name)) {
			c.fail(names[i], "no pod of %s refers to it (by envFrom, env or a volume), so a change to it reaches no pod: refer to it from the Deployment, or move it to base/ if it is not the pods' config", colorOf(cm.Name))
		}
	}
	return c.findings
}

func hasColorDeployment(deployments map[string]*appsv1.Deployment, color string) bool {
	for name := range deployments {
		if colorOf(name) == color {
			return true
		}
	}
	return false
}

// image checks that the container meant to run the release's image exists
// and runs it.
func (c *checker) image(obj string, spec *corev1.PodSpec, im Image) {
	names := make([]string, 0, len(spec.Containers))
	var ct *corev1.Container
	for i := range spec.Containers {
		names = append(names, spec.Containers[i].Name)
		if spec.Containers[i].Name == im.Container || im.Container == "" && (len(spec.Containers) == 1 || spec.Containers[i].Name == im.App) {
			ct = &spec.Containers[i]
		}
	}
	want := im.Container
	if want == "" {
		want = im.App
	}
	switch {
	case ct == nil:
		c.fail(obj, "no container %q gets the release's image (tag %s); its containers are %s (set container: in bgrender.yaml)", want, im.Tag, strings.Join(names, ", "))
	case !strings.HasSuffix(ct.Image, ":"+im.Tag):
		c.fail(obj, "container %q runs %s, but the release is %s", ct.Name, ct.Image, im.Tag)
	}
}

// configMapsOf names the ConfigMaps a pod refers to.
func configMapsOf(spec *corev1.PodSpec) []string {
	var out []string
	for _, ct := range append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...) {
		for _, ef := range ct.EnvFrom {
			if ef.ConfigMapRef != nil {
				out = append(out, ef.ConfigMapRef.Name)
			}
		}
		for _, e := range ct.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				out = append(out, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil {
			out = append(out, v.ConfigMap.Name)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					out = append(out, src.ConfigMap.Name)
				}
			}
		}
	}
	return out
}

type checker struct {
	declared, provided map[string]bool
	findings           []Finding
}

func (c *checker) fail(obj, format string, args ...any) {
	c.findings = append(c.findings, Finding{Object: obj, Problem: fmt.Sprintf(format, args...)})
}

// decodeStrict decodes a built-in kind into its Go type, refusing unknown
// fields and wrong types; other kinds (custom resources) give nil.
func decodeStrict(n *yaml.RNode) (runtime.Object, string) {
	gv, err := schema.ParseGroupVersion(n.GetApiVersion())
	if err != nil {
		return nil, fmt.Sprintf("apiVersion %q: %v", n.GetApiVersion(), err)
	}
	o, err := scheme.Scheme.New(gv.WithKind(n.GetKind()))
	if err != nil {
		return nil, "" // not a built-in kind
	}
	data, err := n.MarshalJSON()
	if err != nil {
		return nil, err.Error()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(o); err != nil {
		return nil, fmt.Sprintf("the API server would refuse it: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return o, ""
}

// decodeLenient decodes a built-in kind ignoring unknown fields; nil when
// even that fails.
func decodeLenient(n *yaml.RNode) runtime.Object {
	gv, err := schema.ParseGroupVersion(n.GetApiVersion())
	if err != nil {
		return nil
	}
	o, err := scheme.Scheme.New(gv.WithKind(n.GetKind()))
	if err != nil {
		return nil
	}
	data, err := n.MarshalJSON()
	if err != nil || json.Unmarshal(data, o) != nil {
		return nil
	}
	return o
}

// pod checks a pod template's rules.
func (c *checker) pod(obj string, spec *corev1.PodSpec) {
	names := map[string]bool{}
	ports := map[string]string{}
	all := append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...)
	for _, ct := range all {
		if names[ct.Name] {
			c.fail(obj, "container %q: the name is used twice in the pod", ct.Name)
		}
		names[ct.Name] = true
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
		}{{"readinessProbe", ct.ReadinessProbe}, {"livenessProbe", ct.LivenessProbe}, {"startupProbe", ct.StartupProbe}} {
			if p.probe == nil {
				continue
			}
			h := p.probe.ProbeHandler
			var set []string
			if h.Exec != nil {
				set = append(set, "exec")
			}
			if h.HTTPGet != nil {
				set = append(set, "httpGet")
			}
			if h.TCPSocket != nil {
				set = append(set, "tcpSocket")
			}
			if h.GRPC != nil {
				set = append(set, "grpc")
			}
			if len(set) != 1 {
				c.fail(obj, "container %q: %s has %d handlers (%s): it must have exactly one", ct.Name, p.name, len(set), strings.Join(set, ", "))
			}
		}
		for _, p := range ct.Ports {
			proto := string(p.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			k := fmt.Sprintf("%d/%s", p.ContainerPort, proto)
			if other, dup := ports[k]; dup {
				c.fail(obj, "containers %q and %q both bind port %s", other, ct.Name, k)
			}
			ports[k] = ct.Name
		}
		for _, ef := range ct.EnvFrom {
			if ef.ConfigMapRef != nil && !optional(ef.ConfigMapRef.Optional) {
				c.needs(obj, ct.Name, "envFrom", "ConfigMap", ef.ConfigMapRef.Name)
			}
			if ef.SecretRef != nil && !optional(ef.SecretRef.Optional) {
				c.needs(obj, ct.Name, "envFrom", "Secret", ef.SecretRef.Name)
			}
		}
		for _, e := range ct.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil && !optional(r.Optional) {
				c.needs(obj, ct.Name, "env "+e.Name, "ConfigMap", r.Name)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil && !optional(r.Optional) {
				c.needs(obj, ct.Name, "env "+e.Name, "Secret", r.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		where := "volume " + v.Name
		if s := v.ConfigMap; s != nil && !optional(s.Optional) {
			c.needs(obj, "", where, "ConfigMap", s.Name)
		}
		if s := v.Secret; s != nil && !optional(s.Optional) {
			c.needs(obj, "", where, "Secret", s.SecretName)
		}
		if p := v.Projected; p != nil {
			for _, src := range p.Sources {
				if s := src.ConfigMap; s != nil && !optional(s.Optional) {
					c.needs(obj, "", where, "ConfigMap", s.Name)
				}
				if s := src.Secret; s != nil && !optional(s.Optional) {
					c.needs(obj, "", where, "Secret", s.Name)
				}
			}
		}
		if s := v.PersistentVolumeClaim; s != nil {
			c.needs(obj, "", where, "PersistentVolumeClaim", s.ClaimName)
		}
	}
	if sa := spec.ServiceAccountName; sa != "" && sa != "default" {
		c.needs(obj, "", "serviceAccountName", "ServiceAccount", sa)
	}
}

func optional(b *bool) bool { return b != nil && *b }

// needs: a pod refers to kind/name, which the app must declare or list as
// provided outside git.
func (c *checker) needs(obj, container, where, kind, name string) {
	k := kind + "/" + name
	if c.declared[k] || c.provided[k] {
		return
	}
	in := where
	if container != "" {
		in = fmt.Sprintf("container %q %s", container, where)
	}
	c.fail(obj, "%s refers to %s %s, which the app does not declare: add it (per-color/ if it differs per color), or list it under provided in bgrender.yaml if something outside git makes it", in, kind, name)
}

func (c *checker) hpa(obj string, h *autoscalingv2.HorizontalPodAutoscaler, deployments map[string]*appsv1.Deployment) {
	ref := h.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" {
		return
	}
	if deployments[ref.Name] == nil {
		c.fail(obj, "scaleTargetRef names Deployment %s, which the app does not have (put the HPA in per-color/ with the Deployment, and each color gets its own)", ref.Name)
		return
	}
	if color := colorOf(h.Name); color != "" && colorOf(ref.Name) != color {
		c.fail(obj, "scales Deployment %s of another color", ref.Name)
	}
}

func (c *checker) pdb(obj string, p *policyv1.PodDisruptionBudget, deployments map[string]*appsv1.Deployment) {
	if p.Spec.Selector == nil {
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
	if err != nil {
		c.fail(obj, "selector: %v", err)
		return
	}
	if sel.Empty() {
		c.fail(obj, "the empty selector selects every pod of the namespace: select the pods of one color (app and color labels)")
		return
	}
	var matched []string
	for name, d := range deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			matched = append(matched, name)
		}
	}
	sort.Strings(matched)
	switch {
	case len(matched) == 0:
		c.fail(obj, "selects the pods of no Deployment")
	case len(matched) > 1:
		c.fail(obj, "selects the pods of %s: a PDB that spans both colors counts one color's pods for the other (put it in per-color/, and each color gets its own)", strings.Join(matched, " and "))
	}
}

// colorOf is the color suffix of a per-color object's name.
func colorOf(name string) string {
	for _, c := range state.Colors() {
		if strings.HasSuffix(name, "-"+string(c)) {
			return string(c)
		}
	}
	return ""
}
