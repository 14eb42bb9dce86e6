package release

import (
	"bytes"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/gate"
	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// Migrate is the commit that moves app a from the old layout
// (base/deployment/, rendered again for each color at every transition) to
// per-color/ with a snapshot per deployed color, taken as it runs now. It
// checks with b that the app builds to the same objects before and after,
// and keeps the routes bound to the gateway only when the config does not
// say (binding to the mesh too would add a VirtualService). It sets
// a.Config to the config as migrated.
func Migrate(a *App, b *render.Builder) (Change, error) {
	cfg, cfgData, bindNote, err := keepGatewayBinding(a.Config, a.Files[config.FileName])
	if err != nil {
		return Change{}, err
	}
	files, next, err := render.Migrate(cfg, a.State, a.Files)
	if err != nil {
		return Change{}, err
	}
	files[config.FileName] = cfgData
	a.Config = cfg
	st, err := state.Marshal(next)
	if err != nil {
		return Change{}, err
	}
	files[state.FileName] = st
	if err := sameObjects(a, b, files); err != nil {
		return Change{}, err
	}
	return Change{
		Files:      files,
		Next:       next,
		Subject:    fmt.Sprintf("%s: migrate to per-color snapshots (no object changes)", cfg.App),
		Body:       "base/deployment/ is now per-color/; each deployed color runs a snapshot of it, taken as it runs now." + bindNote,
		Note:       strings.TrimSpace(bindNote),
		Transition: gate.TransitionMigrate,
		Trailers:   []gitops.Trailer{{Key: gate.TrailerApp, Value: cfg.App}, {Key: gate.TrailerTransition, Value: gate.TransitionMigrate}},
		Replace:    []string{"."},
	}, nil
}

// sameObjects checks that the app builds to the same objects (compared as
// parsed YAML, in order) in its files now and in files.
func sameObjects(a *App, b *render.Builder, files render.Files) error {
	before, err := a.Build(b, a.Files)
	if err != nil {
		return fmt.Errorf("%s: kustomize build before the migration: %w", a.Dir, err)
	}
	after, err := a.Build(b, files)
	if err != nil {
		return fmt.Errorf("%s: kustomize build after the migration: %w", a.Dir, err)
	}
	canon := func(b []byte) (string, error) {
		nodes, err := kio.FromBytes(b)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := (&kio.ByteWriter{Writer: &buf}).Write(nodes); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	x, err := canon(before)
	if err != nil {
		return err
	}
	y, err := canon(after)
	if err != nil {
		return err
	}
	if x != y {
		return fmt.Errorf("%s: migrating would change objects, so nothing was done:\n%s", a.Dir,
			render.Diff(a.Dir, render.Files{"build.yaml": before}, render.Files{"build.yaml": after}))
	}
	return nil
}

// keepGatewayBinding: routes now bind to the mesh too unless told
// otherwise, which would add a VirtualService; migrating changes no object,
// so an app without istio.bind gets istio.bind: gateway, written into its
// bgrender.yaml (comments kept), with a note on what binding to both does.
func keepGatewayBinding(cfg config.Config, data []byte) (config.Config, []byte, string, error) {
	doc, err := yaml.Parse(string(data))
	if err != nil {
		return cfg, nil, "", fmt.Errorf("%s: %w", config.FileName, err)
	}
	if v, _ := doc.Pipe(yaml.Lookup("istio", "bind")); v != nil {
		return cfg, data, "", nil
	}
	istio, err := doc.Pipe(yaml.LookupCreate(yaml.MappingNode, "istio"))
	if err != nil {
		return cfg, nil, "", fmt.Errorf("%s: %w", config.FileName, err)
	}
	if err := istio.PipeE(yaml.SetField("bind", yaml.NewStringRNode(config.BindGateway))); err != nil {
		return cfg, nil, "", fmt.Errorf("%s: %w", config.FileName, err)
	}
	out, err := doc.String()
	if err != nil {
		return cfg, nil, "", err
	}
	cfg.Istio.Bind = config.BindGateway
	return cfg, []byte(out), "\nistio.bind: gateway is set, as the routes were: pods inside the mesh reach both colors through the Service. Set it to both (the default for new apps) to give them the test and default routes too.", nil
}
