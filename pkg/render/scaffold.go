package render

import (
	"fmt"
	"path"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
)

const (
	scaffoldComment         = `# Scaffolded by "bgrender init"; this file is yours to edit.`
	scaffoldTemplateComment = scaffoldComment + `
# Everything in per-color/ exists once per color: add the HPA, the PDB and the
# ConfigMaps the pods use here too. When a release is deployed into a color,
# bgrender copies this folder into overlays/<color>/snapshot/, every name
# suffixed with -<color> and every reference to them rewritten, and sets the
# image tag of the app's container. A change here reaches a color only with
# the next deploy into it: through the test route and verify, like an image.`
	scaffoldBaseComment = scaffoldComment + `
# base/ holds what both colors share (the Service, the Gateway); a change here
# reaches both colors at once. What the pods run belongs in per-color/.`
)

// Scaffold renders the user-owned files of a new app: base/ (paths start
// with "base/": the objects both colors share, a Service and a Gateway) and
// per-color/ (the template of what each color runs: a Deployment).
func Scaffold(cfg config.Config) (Files, error) {
	if err := check(cfg); err != nil {
		return nil, fmt.Errorf("scaffold base: %w", err)
	}
	var b nodes
	files := Files{}
	add := func(name, comment string, root *yaml.RNode) {
		if b.err != nil {
			return
		}
		data, err := document(comment, root)
		if err != nil {
			b.err = fmt.Errorf("%s: %w", name, err)
			return
		}
		files[name] = data
	}
	kustomization := func(resources ...string) *yaml.RNode {
		return b.mapping(
			kv("apiVersion", str(kustomizeAPIVersion)),
			kv("kind", str(kustomizationKind)),
			kv("resources", strs(resources...)),
		)
	}
	appLabels := func() *yaml.RNode { return b.mapping(kv(LabelApp, str(cfg.App))) }

	baseRes := []string{"service.yaml", "gateway.yaml"}
	if !cfg.Istio.Gateway() {
		baseRes = baseRes[:1] // bound to the mesh alone: no Gateway
	}
	add(path.Join(BaseDir, KustomizationFile), scaffoldBaseComment, kustomization(baseRes...))
	add(path.Join(BaseDir, "service.yaml"), scaffoldComment, b.object("v1", "Service",
		b.mapping(kv("name", str(cfg.App)), kv("labels", appLabels())),
		kv("spec", b.mapping(
			kv("selector", appLabels()),
			kv("ports", seq(b.mapping(
				kv("name", str("http")),
				kv("port", integer(cfg.Port)),
				kv("targetPort", integer(cfg.Port)),
			))),
		)),
	))
	if cfg.Istio.Gateway() {
		add(path.Join(BaseDir, "gateway.yaml"), scaffoldComment, b.object(cfg.Istio.APIVersion, "Gateway",
			b.mapping(kv("name", str(cfg.Gateway.Name))),
			kv("spec", b.mapping(
				kv("selector", b.mapping(kv("istio", str("ingressgateway")))),
				kv("servers", seq(b.mapping(
					kv("port", b.mapping(
						kv("number", integer(80)),
						kv("name", str("http")),
						kv("protocol", str("HTTP")),
					)),
					kv("hosts", strs(cfg.Gateway.Hosts...)),
				))),
			)),
		))
	}
	add(path.Join(TemplateDir, KustomizationFile), scaffoldTemplateComment, kustomization("deployment.yaml"))
	add(path.Join(TemplateDir, "deployment.yaml"), scaffoldComment, b.object("apps/v1", "Deployment",
		b.mapping(kv("name", str(cfg.App)), kv("labels", appLabels())),
		kv("spec", b.mapping(
			kv("replicas", integer(1)),
			kv("selector", b.mapping(kv("matchLabels", appLabels()))),
			kv("template", b.mapping(
				kv("metadata", b.mapping(kv("labels", appLabels()))),
				kv("spec", b.mapping(
					kv("containers", seq(b.mapping(
						kv("name", str(cfg.App)),
						kv("image", str(cfg.Image)),
						kv("ports", seq(b.mapping(
							kv("containerPort", integer(cfg.Port)),
							kv("name", str("http")),
						))),
					))),
				)),
			)),
		)),
	))
	if b.err != nil {
		return nil, fmt.Errorf("scaffold base for %s: %w", cfg.App, b.err)
	}
	return files, nil
}
