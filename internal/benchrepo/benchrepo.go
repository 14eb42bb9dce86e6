// Package benchrepo makes the apps of generated env repos for benchmarks
// and tests: real bgrender apps, rendered by bgrender's own packages.
package benchrepo

import (
	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/release"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/state"
)

// App is the app dir of app name as init, a deploy of v1 and a forced
// promote leave it (one active release), with its own host, by path inside
// the app dir.
func App(name string) (render.Files, error) {
	cfg := config.Default(name, "ghcr.io/acme/"+name)
	cfg.Gateway.Hosts = []string{name + ".example.com"} // each app its own host, as check requires
	files, err := Init(cfg)
	if err != nil {
		return nil, err
	}
	s := state.New(name)
	deployed, err := state.Deploy(s, state.DeployRequest{Version: "v1", ReleaseID: release.NewReleaseID(name, "v1", "", "", 0)})
	if err != nil {
		return nil, err
	}
	if files, deployed, err = release.Files(cfg, files, s, deployed); err != nil {
		return nil, err
	}
	promoted, err := state.Promote(deployed, state.PromoteRequest{Force: true, Reason: "bench"})
	if err != nil {
		return nil, err
	}
	files, _, err = release.Files(cfg, files, deployed, promoted)
	return files, err
}

// Init is the app dir of an app with cfg as init leaves it: the scaffold,
// its bgrender.yaml and a fresh state, by path inside the app dir.
func Init(cfg config.Config) (render.Files, error) {
	files, err := render.Scaffold(cfg)
	if err != nil {
		return nil, err
	}
	if files[config.FileName], err = config.Marshal(cfg); err != nil {
		return nil, err
	}
	s := state.New(cfg.App)
	files, _, err = release.Files(cfg, files, s, s)
	return files, err
}
