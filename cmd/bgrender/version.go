package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// versionOut is what bgrender knows about its own build, read from the
// build info the Go toolchain embeds (no -ldflags variables).
type versionOut struct {
	Module       string            `json:"module"`
	Version      string            `json:"version"`
	VCS          *vcsOut           `json:"vcs"`
	Go           string            `json:"go"`
	OS           string            `json:"os"`
	Arch         string            `json:"arch"`
	Dependencies map[string]string `json:"dependencies"`
}

// vcsOut is the commit the binary was built from; null when the build was
// not stamped (built outside a checkout, or with -buildvcs=false).
type vcsOut struct {
	System   string `json:"system"`
	Revision string `json:"revision"`
	Time     string `json:"time"`
	Modified bool   `json:"modified"`
}

// keyDependencies are the modules whose versions decide what bgrender
// renders and how it talks to git.
func keyDependencies() []string {
	return []string{
		"github.com/go-git/go-git/v5",
		"github.com/urfave/cli/v2",
		"sigs.k8s.io/kustomize/api",
		"sigs.k8s.io/kustomize/kyaml",
	}
}

// buildVersion reads the running binary's build info.
func buildVersion() versionOut {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(bi)
}

// versionFrom is what build info bi (nil: none) says of the build.
func versionFrom(bi *debug.BuildInfo) versionOut {
	v := versionOut{Version: "unknown", Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Dependencies: map[string]string{}}
	if bi == nil {
		return v
	}
	v.Module = bi.Main.Path
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	vcs := vcsOut{}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs":
			vcs.System = s.Value
		case "vcs.revision":
			vcs.Revision = s.Value
		case "vcs.time":
			vcs.Time = s.Value
		case "vcs.modified":
			vcs.Modified = s.Value == "true"
		}
	}
	if vcs.Revision != "" {
		v.VCS = &vcs
	}
	key := keyDependencies()
	for _, d := range bi.Deps {
		if !slices.Contains(key, d.Path) {
			continue
		}
		if d.Replace != nil {
			d = d.Replace
		}
		v.Dependencies[d.Path] = d.Version
	}
	return v
}

// summary is the one line `bgrender --version` prints after "bgrender version".
func (v versionOut) summary() string {
	var extra []string
	// A stamped pseudo-version already names the commit and a +dirty tree.
	if v.VCS != nil && !strings.Contains(v.Version, short12(v.VCS.Revision)) {
		extra = append(extra, "revision "+short12(v.VCS.Revision))
	}
	if v.VCS != nil && v.VCS.Modified && !strings.HasSuffix(v.Version, "+dirty") {
		extra = append(extra, "modified")
	}
	extra = append(extra, v.Go, v.OS+"/"+v.Arch)
	return v.Version + " (" + strings.Join(extra, ", ") + ")"
}

func short12(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

func versionCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print bgrender's version, the commit it was built from, its Go version and key dependencies",
		UsageText: "bgrender [-o json] version",
		Description: `Everything comes from the build info the Go toolchain embeds: the module
version (a pseudo-version, or "(devel)" for a build outside a module), the
git commit, its time and whether the checkout had uncommitted changes, the Go
version and platform, and the versions of go-git, urfave/cli and kustomize.
With -o json the keys are module, version, vcs (system, revision, time,
modified; null when the build was not stamped), go, os, arch and
dependencies (module path -> version). bgrender --version prints one line.

` + examples("bgrender version", "bgrender -o json version | jq -r .vcs.revision", "bgrender --version"),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("version takes no arguments, got %q", c.Args().First())
			}
			v := buildVersion()
			if g.json() {
				return writeJSON(g.stdout, v)
			}
			v.writeText(g.stdout)
			return nil
		},
	}
}

func (v versionOut) writeText(w io.Writer) {
	fmt.Fprintf(w, "bgrender %s\n", v.Version)
	if v.Module != "" {
		fmt.Fprintf(w, "  module:    %s\n", v.Module)
	}
	if v.VCS != nil {
		fmt.Fprintf(w, "  revision:  %s\n", v.VCS.Revision)
		if v.VCS.Time != "" {
			fmt.Fprintf(w, "  time:      %s\n", v.VCS.Time)
		}
		fmt.Fprintf(w, "  modified:  %t\n", v.VCS.Modified)
	} else {
		fmt.Fprintf(w, "  revision:  unknown (the build was not stamped with a commit)\n")
	}
	fmt.Fprintf(w, "  go:        %s\n", v.Go)
	fmt.Fprintf(w, "  platform:  %s/%s\n", v.OS, v.Arch)
	paths := make([]string, 0, len(v.Dependencies))
	for p := range v.Dependencies {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		fmt.Fprintf(w, "  %-28s %s\n", p, v.Dependencies[p])
	}
}
