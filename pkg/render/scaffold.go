package render

import (
	"fmt"
	"path"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
)

const (
	scaffoldComment           = `# Scaffolded by "bgrender init"; this file is yours to edit.`
	scaffoldDeploymentComment = scaffoldComment + `
# bgrender renders one copy per color (<app>-blue, <app>-green) and patches the
# container's image tag, ports and readinessProbe; edit anything else here.`
)

// Scaffold renders the user-owned base/ files for a new app (paths start with
// "base/"). The base is color-agnostic: base/kustomization.yaml lists the
// Service and the Gateway, and the Deployment template lives in
// base/deployment/, which only the color overlays include.
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
		files[path.Join(BaseDir, name)] = data
	}
	kustomization := func(resources ...string) *yaml.RNode {
		return b.mapping(
			kv("apiVersion", str(kustomizeAPIVersion)),
			kv("kind", str(kustomizationKind)),
			kv("resources", strs(resources...)),
		)
	}
	appLabels := func() *yaml.RNode { return b.mapping(kv(LabelApp, str(cfg.App))) }

	add(KustomizationFile, scaffoldComment, kustomization("service.yaml", "gateway.yaml"))
	add("service.yaml", scaffoldComment, b.object("v1", "Service",
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
	add("gateway.yaml", scaffoldComment, b.object(cfg.Istio.APIVersion, "Gateway",
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
	add(path.Join("deployment", KustomizationFile), scaffoldComment, kustomization("deployment.yaml"))
	add(path.Join("deployment", "deployment.yaml"), scaffoldDeploymentComment, b.object("apps/v1", "Deployment",
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
