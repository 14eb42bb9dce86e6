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
	if !scaffoldsGateway(cfg) {
		baseRes = baseRes[:1] // bound to the mesh alone, or a Gateway API parent of the platform's: no Gateway
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
	if cfg.GatewayAPIRouted() && scaffoldsGateway(cfg) {
		add(path.Join(BaseDir, "gateway.yaml"), scaffoldComment, gatewayAPIGateway(&b, cfg))
	}
	if !cfg.GatewayAPIRouted() && cfg.Istio.Gateway() {
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

// scaffoldsGateway reports whether base/ gets a Gateway: Istio's, unless
// the routes bind to the mesh alone; Gateway API's only when
// gatewayAPI.gateway asks for one.
func scaffoldsGateway(cfg config.Config) bool {
	if cfg.GatewayAPIRouted() {
		return cfg.GatewayAPI.Gateway != nil
	}
	return cfg.Istio.Gateway()
}

// gatewayAPIGateway is the Gateway of gatewayAPI.gateway, its listeners
// allowing routes from its own namespace (the app's) alone.
func gatewayAPIGateway(b *nodes, cfg config.Config) *yaml.RNode {
	gw := cfg.GatewayAPI.Gateway
	listeners := make([]*yaml.RNode, 0, len(gw.Listeners))
	for _, l := range gw.Listeners {
		fields := []field{
			kv("name", str(l.Name)),
			kv("protocol", str(l.Protocol)),
			kv("port", integer(l.Port)),
		}
		if l.Hostname != "" {
			fields = append(fields, kv("hostname", str(l.Hostname)))
		}
		if l.CertificateSecret != "" {
			fields = append(fields, kv("tls", b.mapping(
				kv("mode", str("Terminate")),
				kv("certificateRefs", seq(b.mapping(
					kv("group", str("")),
					kv("kind", str("Secret")),
					kv("name", str(l.CertificateSecret)),
				))),
			)))
		}
		fields = append(fields, kv("allowedRoutes", b.mapping(kv("namespaces", b.mapping(kv("from", str("Same")))))))
		listeners = append(listeners, b.mapping(fields...))
	}
	return b.object(config.GatewayAPIVersion, "Gateway",
		b.mapping(kv("name", str(cfg.GatewayName()))),
		kv("spec", b.mapping(
			kv("gatewayClassName", str(gw.GatewayClassName)),
			kv("listeners", seq(listeners...)),
		)),
	)
}
