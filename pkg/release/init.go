package release

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// InitOptions are init's choices besides the config.
type InitOptions struct {
	// Adopt takes over the kustomize app already in the dir.
	Adopt bool
	// PortSet and NamespaceSet say the config's port and namespace were
	// chosen; with Adopt, those not chosen come from the app.
	PortSet, NamespaceSet bool
}

// Init is the first commit of app dir dir, which holds current: for an
// empty dir, the scaffold of an app with cfg; with Adopt, the kustomize app
// there taken over (its Deployment, and what its pods use, move to
// per-color/, the rest to base/; Change.Note lists the moves). It refuses
// (RefusedError) a dir that holds an app already, or any file without
// Adopt, and returns the config as it completed it.
func Init(cfg config.Config, dir string, current render.Files, o InitOptions) (Change, config.Config, error) {
	for _, f := range []string{config.FileName, state.FileName} {
		if _, ok := current[f]; ok {
			return Change{}, cfg, RefusedError{Msg: fmt.Sprintf("%s: refused: an app already exists here (%s); use `%s status`, or choose another --app", dir, path.Join(dir, f), CommandPrefix(dir))}
		}
	}
	var files render.Files
	var moves []string
	var adopted string // the digest of what adopt kept serving
	switch {
	case o.Adopt:
		if !o.NamespaceSet {
			cfg.Namespace = kustomizationNamespace(current, cfg.Namespace)
		}
		if !o.PortSet {
			cfg.Port = deploymentPort(current, cfg.App, cfg.Container, cfg.Port)
		}
		if err := cfg.Validate(); err != nil {
			return Change{}, cfg, Usagef("init --adopt: %v", err)
		}
		ad, err := render.Adopt(cfg, current)
		if err != nil {
			return Change{}, cfg, fmt.Errorf("%s: %w", dir, err)
		}
		files, moves, adopted = ad.Files, ad.Moves, ad.Adopted
	case len(current) > 0:
		var names []string
		for p := range current {
			names = append(names, path.Join(dir, p))
		}
		sort.Strings(names)
		if len(names) > 5 {
			names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
		}
		return Change{}, cfg, RefusedError{Msg: fmt.Sprintf("%s: refused: the directory is not empty (%s), and init would overwrite or mix with its files; to make the kustomize app there a bgrender app, add --adopt", dir, strings.Join(names, ", "))}
	default:
		var err error
		if files, err = render.Scaffold(cfg); err != nil {
			return Change{}, cfg, fmt.Errorf("scaffold base: %w", err)
		}
	}
	// What a deploy will patch must be there: one Deployment named after the
	// app, and the container that gets the image.
	if _, err := render.Snapshot(cfg, render.Subtree(files, render.TemplateDir), state.Release{ID: "r-init", Version: "v0", Color: state.Blue}); err != nil {
		var we *render.WorkloadError
		if errors.As(err, &we) {
			return Change{}, cfg, Usagef("%s: %v (init --container NAME writes it)", dir, err)
		}
		return Change{}, cfg, err
	}
	cfgData, err := config.Marshal(cfg)
	if err != nil {
		return Change{}, cfg, err
	}
	files[config.FileName] = cfgData
	st := state.New(cfg.App)
	if adopted != "" {
		st.Adopted = &state.Adopted{Deployment: cfg.App, Snapshot: adopted}
	}
	want, st, err := Files(cfg, files, st, st)
	if err != nil {
		return Change{}, cfg, err
	}
	ch := Change{
		Files: want, Next: st,
		Subject:    fmt.Sprintf("%s: init (image %s, namespace %s)", cfg.App, cfg.Image, cfg.Namespace),
		Body:       "Route: " + Route(cfg, st),
		Transition: string(state.TInit), Trailers: Trailers(st), Replace: []string{"."},
	}
	if o.Adopt {
		ch.Subject = fmt.Sprintf("%s: adopt (image %s, namespace %s)", cfg.App, cfg.Image, cfg.Namespace)
		ch.Body += "\n" + strings.Join(moves, "\n")
		ch.Note = "moved: " + strings.Join(moves, "; ")
	}
	return ch, cfg, nil
}

// kustomizationNamespace is the namespace an app's kustomization.yaml sets,
// or def.
func kustomizationNamespace(files render.Files, def string) string {
	k, err := yaml.Parse(string(files[render.KustomizationFile]))
	if err != nil {
		return def
	}
	if ns, err := k.GetString("namespace"); err == nil && ns != "" {
		return ns
	}
	return def
}

// deploymentPort is the first port of the Deployment's container that gets
// the image (container, else the one named app, else the first), or def.
func deploymentPort(files render.Files, app, container string, def int) int {
	for _, b := range files {
		nodes, err := kio.FromBytes(b)
		if err != nil {
			continue
		}
		for _, n := range nodes {
			if n.GetKind() != "Deployment" {
				continue
			}
			cs, _ := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
			if cs == nil {
				continue
			}
			items, _ := cs.Elements()
			var pick *yaml.RNode
			for _, c := range items {
				name, _ := c.GetString("name")
				if (container != "" && name == container) || (container == "" && name == app) {
					pick = c
				}
			}
			if pick == nil && len(items) > 0 && container == "" {
				pick = items[0]
			}
			if pick == nil || pick.Field("ports") == nil {
				continue
			}
			ps, _ := pick.Field("ports").Value.Elements()
			for _, pn := range ps {
				if f := pn.Field("containerPort"); f != nil {
					if port, err := strconv.Atoi(yaml.GetValue(f.Value)); err == nil {
						return port
					}
				}
			}
		}
	}
	return def
}
