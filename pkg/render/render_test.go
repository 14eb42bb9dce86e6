package render

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
	"github.com/bgrender/bgrender/pkg/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/render")

const goldenDir = "../../testdata/render"

// tcase is one rendered state with what its build must contain.
type tcase struct {
	name string
	cfg  config.Config
	s    state.State
	// deployments expected in the build, in order.
	deployments []wantDeployment
	// subsets expected in the DestinationRule; nil means no DR and no VS.
	subsets []string
	// rules expected in the VirtualService, in order.
	rules []wantRule
	// jobs are the hook Jobs expected in the build.
	jobs []string
}

type wantDeployment struct {
	name, image, release, version, color string
}

type wantRule struct {
	name, subset string
	match        bool
}

func defaultConfig() config.Config { return config.Default("myapp", "ghcr.io/acme/myapp") }

// steps applies transitions to a new state, failing the test on any error.
func steps(t testing.TB, app string, fns ...func(state.State) (state.State, error)) state.State {
	t.Helper()
	s := state.New(app)
	for i, fn := range fns {
		next, err := fn(s)
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		s = next
	}
	return s
}

func deploy(version, id string) func(state.State) (state.State, error) {
	return func(s state.State) (state.State, error) {
		return state.Deploy(s, state.DeployRequest{Version: version, ReleaseID: id})
	}
}

func deployUnrouted(version, id string) func(state.State) (state.State, error) {
	return func(s state.State) (state.State, error) {
		return state.Deploy(s, state.DeployRequest{Version: version, ReleaseID: id, Unrouted: true})
	}
}

func promote(s state.State) (state.State, error) {
	return state.Promote(s, state.PromoteRequest{Force: true, Reason: "golden test"})
}

// cases returns every golden case, built with pkg/state's transitions.
func cases(t testing.TB) []tcase {
	t.Helper()
	cfg := defaultConfig()
	const img = "ghcr.io/acme/myapp:"
	blue1 := wantDeployment{"myapp-blue", img + "v1", "r-aaaaaaaa", "v1", "blue"}
	green2 := wantDeployment{"myapp-green", img + "2.0", "r-bbbbbbbb", "2.0", "green"}
	testRule := func(c string) wantRule { return wantRule{"myapp-test", c, true} }
	defaultRule := func(c string) wantRule { return wantRule{"myapp-default", c, false} }

	header := config.Default("myapp", "ghcr.io/acme/myapp")
	header.TestRoute = config.Test{Header: &config.Header{Name: "x-canary", Value: "1"}}

	secrets := config.Default("myapp", "ghcr.io/acme/myapp")
	secrets.Env = []config.EnvVar{{Name: "NODE_ENV", Value: "production"}, {Name: "DB_PORT", Value: "5432"}}
	secrets.SecretEnv = true

	nsHosts := config.Default("shop", "registry.example.com:5000/team/shop")
	nsHosts.Namespace = "shop-prod"
	nsHosts.Port = 8080
	nsHosts.ReadinessPath = "/healthz"
	nsHosts.Gateway = config.Gateway{Name: "public", Hosts: []string{"shop.example.com", "*.shop.example.com"}}
	nsHosts.TestRoute.Cookie = &config.Cookie{Name: "canary", Value: "a:b"}

	mesh := config.Default("reviews", "docker.io/istio/examples-bookinfo-reviews-v1")
	mesh.Istio.Bind = config.BindMesh
	mesh.Port = 9080
	zero := 0
	shrunk := config.Default("myapp", "ghcr.io/acme/myapp")
	shrunk.Standby.Replicas = &zero
	green3 := wantDeployment{"myapp-blue", img + "3.0", "r-cccccccc", "3.0", "blue"}

	istioCases := []tcase{
		{name: "empty", cfg: cfg, s: state.New("myapp")},
		{
			// Bound to the mesh alone (an in-mesh backend): one
			// VirtualService, for the Service's names, and no Gateway.
			name: "mesh-only", cfg: mesh,
			s: steps(t, "reviews", deploy("1.20.1", "r-cccccccc"), promote, deploy("1.20.2", "r-dddddddd")),
			deployments: []wantDeployment{
				{"reviews-blue", "docker.io/istio/examples-bookinfo-reviews-v1:1.20.1", "r-cccccccc", "1.20.1", "blue"},
				{"reviews-green", "docker.io/istio/examples-bookinfo-reviews-v1:1.20.2", "r-dddddddd", "1.20.2", "green"},
			},
			subsets: []string{"blue", "green"},
			rules:   []wantRule{{"reviews-test", "green", true}, {"reviews-default", "blue", false}},
		},
		{
			// v3 goes into blue, where v1 was kept warm: v1 is parked in
			// overlays/blue/replaced/ for an abort to put back.
			name: "replaces-standby", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), promote, deploy("3.0", "r-cccccccc")),
			deployments: []wantDeployment{green3, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{testRule("blue"), defaultRule("green")},
		},
		{
			// standby.replicas: 0 shrinks the warm standby and drops its
			// autoscalers.
			name: "standby-replicas", cfg: shrunk,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), promote),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{defaultRule("green")},
		},
		{
			name: "first-deploy", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa")),
			deployments: []wantDeployment{blue1},
			subsets:     []string{"blue"},
			rules:       []wantRule{testRule("blue")},
		},
		{
			name: "live", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote),
			deployments: []wantDeployment{blue1},
			subsets:     []string{"blue"},
			rules:       []wantRule{defaultRule("blue")},
		},
		{
			name: "second-deploy", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb")),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{testRule("green"), defaultRule("blue")},
		},
		{
			name: "promoted", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), promote),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{defaultRule("green")},
		},
		{
			name: "rolled-back", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), promote, state.Rollback),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{defaultRule("blue")},
		},
		{
			name: "decommissioned", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), promote, state.Decommission),
			deployments: []wantDeployment{green2},
			subsets:     []string{"green"},
			rules:       []wantRule{defaultRule("green")},
		},
		{
			name: "aborted", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), state.Abort),
			deployments: []wantDeployment{blue1},
			subsets:     []string{"blue"},
			rules:       []wantRule{defaultRule("blue")},
		},
		{
			// Make-before-break: the subset is there, no rule routes to it yet;
			// with no active release there is no VirtualService at all.
			name: "first-deploy-unrouted", cfg: cfg,
			s:           steps(t, "myapp", deployUnrouted("v1", "r-aaaaaaaa")),
			deployments: []wantDeployment{blue1},
			subsets:     []string{"blue"},
		},
		{
			name: "second-deploy-unrouted", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deployUnrouted("2.0", "r-bbbbbbbb")),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{defaultRule("blue")},
		},
		{
			name: "second-deploy-unrouted-again", cfg: cfg,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), state.Unroute),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{defaultRule("blue")},
		},
		{
			// The classic env-blue / env-green: literal env inline, secrets by
			// reference to <app>-env-<color>, never in git.
			name: "env-and-secret-env", cfg: secrets,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb")),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{testRule("green"), defaultRule("blue")},
		},
		{
			name: "header-selector", cfg: header,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb")),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{testRule("green"), defaultRule("blue")},
		},
		{
			name: "namespace-and-hosts", cfg: nsHosts,
			s: steps(t, "shop", deploy("1.0", "r-cccccccc"), promote, deploy("1.1", "r-dddddddd")),
			deployments: []wantDeployment{
				{"shop-blue", "registry.example.com:5000/team/shop:1.0", "r-cccccccc", "1.0", "blue"},
				{"shop-green", "registry.example.com:5000/team/shop:1.1", "r-dddddddd", "1.1", "green"},
			},
			subsets: []string{"blue", "green"},
			rules:   []wantRule{{"shop-test", "green", true}, {"shop-default", "blue", false}},
		},
	}
	return append(append(istioCases, gatewayAPICases(t)...), hookCases(t)...)
}

// hookCases are the golden cases of hook Jobs: a Job in the color of the
// release under test while its hook runs, none once it ended.
func hookCases(t testing.TB) []tcase {
	const img = "ghcr.io/acme/myapp:"
	blue1 := wantDeployment{"myapp-blue", img + "v1", "r-aaaaaaaa", "v1", "blue"}
	green2 := wantDeployment{"myapp-green", img + "2.0", "r-bbbbbbbb", "2.0", "green"}
	cfg := config.Default("myapp", "ghcr.io/acme/myapp")
	cfg.Env = []config.EnvVar{{Name: "NODE_ENV", Value: "production"}}
	cfg.SecretEnv = true
	one := 1
	cfg.Hooks = []config.Hook{
		{Name: "migrate", When: config.HookAfterDeploy, Command: []string{"npm", "run", "migrate"}, Resources: map[string]map[string]string{"requests": {"cpu": "100m", "memory": "128Mi"}}},
		{Name: "ping", When: config.HookAfterDeploy, Command: []string{"npm", "run", "ping"}, BackoffLimit: &one, ActiveDeadlineSeconds: 60, Image: "ghcr.io/acme/tools:1.2"},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("hook case config: %v", err)
	}
	before := cfg
	before.Hooks = []config.Hook{{Name: "migrate", When: config.HookBeforeDeploy, Command: []string{"npm", "run", "migrate"}}}
	hook := func(name string) func(state.State) (state.State, error) {
		return func(s state.State) (state.State, error) { return state.RunHook(s, name) }
	}
	end := func(passed bool) func(state.State) (state.State, error) {
		return func(s state.State) (state.State, error) { return state.EndHook(s, passed, "") }
	}
	base := []func(state.State) (state.State, error){deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb")}
	rules := []wantRule{{"myapp-test", "green", true}, {"myapp-default", "blue", false}}
	return []tcase{
		{name: "hook-running", cfg: cfg, s: steps(t, "myapp", append(base, hook("migrate"))...),
			deployments: []wantDeployment{blue1, green2}, subsets: []string{"blue", "green"}, rules: rules, jobs: []string{"myapp-migrate-r-bbbbbbbb"}},
		{name: "hook-second-attempt", cfg: cfg, s: steps(t, "myapp", append(base, hook("ping"), end(false), hook("ping"))...),
			deployments: []wantDeployment{blue1, green2}, subsets: []string{"blue", "green"}, rules: rules, jobs: []string{"myapp-ping-r-bbbbbbbb-2"}},
		{
			// A beforeDeploy migration: the color's objects are applied,
			// its Deployment at 0 replicas (its autoscalers removed), while
			// the Job runs.
			name: "hook-before-deploy", cfg: before,
			s: steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, func(s state.State) (state.State, error) {
				return state.Deploy(s, state.DeployRequest{Version: "2.0", ReleaseID: "r-bbbbbbbb", Hold: true})
			}, hook("migrate")),
			deployments: []wantDeployment{blue1, green2}, subsets: []string{"blue", "green"}, rules: []wantRule{{"myapp-default", "blue", false}}, jobs: []string{"myapp-migrate-r-bbbbbbbb"}},
		{name: "hook-ended", cfg: cfg, s: steps(t, "myapp", append(base, hook("migrate"), end(true))...),
			deployments: []wantDeployment{blue1, green2}, subsets: []string{"blue", "green"}, rules: rules},
	}
}

// gatewayAPICases are the golden cases of routing gateway-api. For them,
// subsets are the colors with a Service of their own, and rules the
// HTTPRoute's rules (named <app>-test for the one with a header match,
// <app>-default for the other; "subset" is the color routed to).
func gatewayAPICases(t testing.TB) []tcase {
	const img = "ghcr.io/acme/myapp:"
	blue1 := wantDeployment{"myapp-blue", img + "v1", "r-aaaaaaaa", "v1", "blue"}
	green2 := wantDeployment{"myapp-green", img + "2.0", "r-bbbbbbbb", "2.0", "green"}
	testRule := func(c string) wantRule { return wantRule{"myapp-test", c, true} }
	defaultRule := func(c string) wantRule { return wantRule{"myapp-default", c, false} }

	// The usual shape: a shared Gateway the platform team owns, in its
	// own namespace, one HTTPS listener picked by name and port.
	shared := config.DefaultGatewayAPI("myapp", "ghcr.io/acme/myapp",
		config.ParentRef{Name: "shared", Namespace: "infra", SectionName: "https", Port: 443}, []string{"myapp.example.com"})
	both := shared
	both.GatewayAPI.Bind = config.BindBoth
	mesh := config.DefaultGatewayAPI("myapp", "ghcr.io/acme/myapp", config.ParentRef{}, nil)
	mesh.GatewayAPI = config.GatewayAPI{Bind: config.BindMesh}
	header := shared
	header.TestRoute = config.Test{Header: &config.Header{Name: "x-test", Value: "true"}}
	own := config.DefaultGatewayAPI("myapp", "ghcr.io/acme/myapp", config.ParentRef{}, []string{"myapp.example.com"})
	own.GatewayAPI.ParentRefs = nil
	own.GatewayAPI.Gateway = &config.GatewayObject{GatewayClassName: "eg", Listeners: []config.Listener{{Name: "http", Port: 80, Protocol: "HTTP"}}}
	for _, c := range []config.Config{shared, both, mesh, header, own} {
		if err := c.Validate(); err != nil {
			t.Fatalf("gateway-api case config: %v", err)
		}
	}
	return []tcase{
		{name: "gateway-api-empty", cfg: shared, s: state.New("myapp")},
		{
			// Make-before-break: the color's Service and Deployment, no
			// route to them yet (and no HTTPRoute at all: no rule).
			name: "gateway-api-first-deploy-unrouted", cfg: shared,
			s:           steps(t, "myapp", deployUnrouted("v1", "r-aaaaaaaa")),
			deployments: []wantDeployment{blue1},
			subsets:     []string{"blue"},
		},
		{
			name: "gateway-api-first-deploy", cfg: shared,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa")),
			deployments: []wantDeployment{blue1},
			subsets:     []string{"blue"},
			rules:       []wantRule{testRule("blue")},
		},
		{
			name: "gateway-api-second-deploy", cfg: shared,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb")),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{testRule("green"), defaultRule("blue")},
		},
		{
			name: "gateway-api-promoted", cfg: shared,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), promote),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{defaultRule("green")},
		},
		{
			name: "gateway-api-decommissioned", cfg: shared,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), promote, state.Decommission),
			deployments: []wantDeployment{green2},
			subsets:     []string{"green"},
			rules:       []wantRule{defaultRule("green")},
		},
		{
			name: "gateway-api-aborted", cfg: shared,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb"), state.Abort),
			deployments: []wantDeployment{blue1},
			subsets:     []string{"blue"},
			rules:       []wantRule{defaultRule("blue")},
		},
		{
			// The edge and the mesh (GAMMA): a second HTTPRoute, its
			// parent the app's Service, with the same rules.
			name: "gateway-api-mesh-and-edge", cfg: both,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb")),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{testRule("green"), defaultRule("blue")},
		},
		{
			name: "gateway-api-mesh-only", cfg: mesh,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb")),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{testRule("green"), defaultRule("blue")},
		},
		{
			name: "gateway-api-header", cfg: header,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb")),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{testRule("green"), defaultRule("blue")},
		},
		{
			// gatewayAPI.gateway: init scaffolds the Gateway in base/,
			// and the route attaches to it.
			name: "gateway-api-own-gateway", cfg: own,
			s:           steps(t, "myapp", deploy("v1", "r-aaaaaaaa"), promote, deploy("2.0", "r-bbbbbbbb")),
			deployments: []wantDeployment{blue1, green2},
			subsets:     []string{"blue", "green"},
			rules:       []wantRule{testRule("green"), defaultRule("blue")},
		},
	}
}

// appFiles renders the whole app dir in state s: scaffold plus overlays,
// each release snapshotted from the scaffold's template as if deployed now
// (a standby that the release under test replaced, first in its own color).
func appFiles(t testing.TB, cfg config.Config, s state.State) Files {
	t.Helper()
	files, _ := appFilesState(t, cfg, s)
	return files
}

// appFilesState is appFiles, with s as the app dir records it (snapshot
// digests and all).
func appFilesState(t testing.TB, cfg config.Config, s state.State) (Files, state.State) {
	t.Helper()
	files, err := Scaffold(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prev := state.New(s.App)
	if s.Test != nil && s.Test.Replaces != nil {
		mid := s.Clone()
		mid.Standby, mid.Test = mid.Test.Replaces, nil
		files, prev = renderInto(t, cfg, files, prev, mid)
		// The releases kept from mid carry the digests it recorded.
		s = s.Clone()
		s.Active.Snapshot, s.Test.Replaces.Snapshot = prev.Active.Snapshot, prev.Standby.Snapshot
	}
	return renderInto(t, cfg, files, prev, s)
}

// renderInto renders next over files (the app dir in prev) and returns the
// app dir in next, and next with its snapshot digests.
func renderInto(t testing.TB, cfg config.Config, files Files, prev, next state.State) (Files, state.State) {
	t.Helper()
	owned, next, err := Render(cfg, files, prev, next)
	if err != nil {
		t.Fatal(err)
	}
	out := Files{}
	for p, data := range files {
		if !Owned(p) {
			out[p] = data
		}
	}
	for p, data := range owned {
		if _, dup := out[p]; dup {
			t.Fatalf("%s is rendered by both Scaffold and Overlays", p)
		}
		out[p] = data
	}
	return out, next
}

func TestGolden(t *testing.T) {
	var b Builder
	for _, tc := range cases(t) {
		t.Run(tc.name, func(t *testing.T) {
			files := appFiles(t, tc.cfg, tc.s)
			built, err := b.BuildFiles(files)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			dir := filepath.Join(goldenDir, tc.name)
			if *update {
				writeGolden(t, dir, files, built)
			}
			checkGoldenFiles(t, filepath.Join(dir, "files"), files)
			checkGolden(t, filepath.Join(dir, "build.yaml"), built)
		})
	}
}

func writeGolden(t *testing.T, dir string, files Files, built []byte) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for p, data := range files {
		name := filepath.Join(dir, "files", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "build.yaml"), built, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkGoldenFiles compares files with the tree under dir, both ways.
func checkGoldenFiles(t *testing.T, dir string, files Files) {
	t.Helper()
	onDisk := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		onDisk[filepath.ToSlash(rel)] = true
		return nil
	})
	if err != nil {
		t.Fatalf("read golden files (run go test -update to create them): %v", err)
	}
	for p := range onDisk {
		if _, ok := files[p]; !ok {
			t.Errorf("golden file %s is no longer rendered (run go test -update)", p)
		}
	}
	for _, p := range sortedPaths(files) {
		checkGolden(t, filepath.Join(dir, filepath.FromSlash(p)), files[p])
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if intended):\n%s", name,
			Diff("", Files{"golden": want}, Files{"golden": got}))
	}
}

func sortedPaths(files Files) []string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

func TestOverlaysDeterministic(t *testing.T) {
	for _, tc := range cases(t) {
		t.Run(tc.name, func(t *testing.T) {
			first := appFiles(t, tc.cfg, tc.s)
			for range 5 {
				again := appFiles(t, tc.cfg, tc.s)
				if d := Diff("", first, again); d != "" {
					t.Fatalf("second render differs:\n%s", d)
				}
			}
		})
	}
}

func TestOverlaysAreOwnedAndScaffoldIsNot(t *testing.T) {
	for _, tc := range cases(t) {
		t.Run(tc.name, func(t *testing.T) {
			base, err := Scaffold(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			overlays := Files{}
			for p, data := range appFiles(t, tc.cfg, tc.s) {
				if _, ok := base[p]; !ok {
					overlays[p] = data
				}
			}
			if _, ok := overlays[KustomizationFile]; !ok {
				t.Errorf("no root %s", KustomizationFile)
			}
			for p, data := range overlays {
				if !Owned(p) {
					t.Errorf("Overlays rendered %s, which Owned says is not bgrender's", p)
				}
				// A snapshot's template is the user's template, copied.
				inTemplate := strings.Contains(p, "/"+SnapshotDir+"/"+snapshotTemplateDir+"/") || strings.Contains(p, "/"+ReplacedDir+"/"+snapshotTemplateDir+"/")
				if !inTemplate && !bytes.HasPrefix(data, []byte(generatedComment+"\n")) && !bytes.HasPrefix(data, []byte(snapshotComment+"\n")) {
					t.Errorf("%s does not start with a generated comment:\n%s", p, data)
				}
			}
			for p := range base {
				if Owned(p) || !(strings.HasPrefix(p, BaseDir+"/") || strings.HasPrefix(p, TemplateDir+"/")) {
					t.Errorf("Scaffold rendered %s, outside base/ and per-color/, or owned by bgrender", p)
				}
			}
		})
	}
}

func TestOwned(t *testing.T) {
	tests := map[string]bool{
		"kustomization.yaml":                     true,
		"./kustomization.yaml":                   true,
		"overlays":                               true,
		"overlays/kustomization.yaml":            true,
		"overlays/blue/snapshot/template/x.yaml": true,
		"overlays/green/kustomization.yaml":      true,
		"base/kustomization.yaml":                false,
		"per-color/deployment.yaml":              false,
		"bgrender.yaml":                          false,
		"bgrender-state.yaml":                    false,
		"overlaysx/kustomization.yaml":           false,
		"base/overlays/kustomization.yaml":       false,
		"overlays/../base/kustomization.yaml":    false,
		"other/kustomization.yaml":               false,
		"kustomization.yaml.orig":                false,
		"overlays/virtualservice.yaml":           true,
		"overlays/destinationrule.yaml":          true,
		"overlays/blue/../../kustomization.yaml": true,
	}
	for p, want := range tests {
		t.Run(p, func(t *testing.T) {
			if got := Owned(p); got != want {
				t.Errorf("Owned(%q) = %v, want %v", p, got, want)
			}
		})
	}
}

// builtObjects builds a case and parses the output.
func builtObjects(t *testing.T, b *Builder, tc tcase) []*yaml.RNode {
	t.Helper()
	built, err := b.BuildFiles(appFiles(t, tc.cfg, tc.s))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	objs, err := (&kio.ByteReader{Reader: bytes.NewReader(built), OmitReaderAnnotations: true}).Read()
	if err != nil {
		t.Fatalf("parse build: %v", err)
	}
	return objs
}

func value(t *testing.T, n *yaml.RNode, path ...string) string {
	t.Helper()
	v, err := n.Pipe(yaml.Lookup(path...))
	if err != nil {
		t.Fatalf("lookup %v: %v", path, err)
	}
	return yaml.GetValue(v)
}

func TestBuildContents(t *testing.T) {
	var b Builder
	for _, tc := range cases(t) {
		t.Run(tc.name, func(t *testing.T) {
			objs := builtObjects(t, &b, tc)
			if tc.cfg.GatewayAPIRouted() {
				checkGatewayAPIBuild(t, tc, objs)
				return
			}
			var deployments []wantDeployment
			var jobs []string
			var vs, meshVS, dr *yaml.RNode
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GetKind()]++
				if ns := o.GetNamespace(); ns != tc.cfg.Namespace {
					t.Errorf("%s/%s in namespace %q, want %q", o.GetKind(), o.GetName(), ns, tc.cfg.Namespace)
				}
				switch o.GetKind() {
				case "Deployment":
					deployments = append(deployments, checkDeployment(t, tc.cfg, o))
				case "VirtualService":
					if o.GetName() == MeshRoutingName(tc.cfg.App) {
						meshVS = o
					} else {
						vs = o
					}
				case "DestinationRule":
					dr = o
				case "Job":
					jobs = append(jobs, o.GetName())
					checkHookJob(t, tc, o)
				}
			}
			if !slices.Equal(jobs, tc.jobs) {
				t.Errorf("hook Jobs %v, want %v", jobs, tc.jobs)
			}
			wantGateways := 1
			if !tc.cfg.Istio.Gateway() {
				wantGateways = 0
			}
			if kinds["Service"] != 1 || kinds["Gateway"] != wantGateways {
				t.Errorf("want one Service and %d Gateway, got %v", wantGateways, kinds)
			}
			if !slices.Equal(deployments, tc.deployments) {
				t.Errorf("deployments:\n got %+v\nwant %+v", deployments, tc.deployments)
			}
			if tc.subsets == nil {
				if vs != nil || dr != nil {
					t.Fatalf("no color is deployed, but the build has a VirtualService or DestinationRule")
				}
				return
			}
			if dr == nil {
				t.Fatalf("colors are deployed, but there is no DestinationRule")
			}
			checkDestinationRule(t, tc, dr)
			if (vs != nil) != (len(tc.rules) > 0) {
				t.Fatalf("VirtualService present: %v, want it exactly when there are rules (%v)", vs != nil, tc.rules)
			}
			if vs != nil {
				checkVirtualService(t, tc, vs)
			}
			if both := tc.cfg.Istio.Gateway() && tc.cfg.Istio.Mesh(); (meshVS != nil) != (vs != nil && both) {
				t.Fatalf("mesh VirtualService present: %v, want it with the Gateway's when bound to both", meshVS != nil)
			}
			if meshVS != nil {
				checkMeshVirtualService(t, tc, meshVS)
			}
		})
	}
}

func checkDeployment(t *testing.T, cfg config.Config, d *yaml.RNode) wantDeployment {
	t.Helper()
	labels := stringMap(lookup(d, "spec", "template", "metadata", "labels"))
	got := wantDeployment{
		name:    d.GetName(),
		image:   value(t, d, "spec", "template", "spec", "containers", "[name="+cfg.App+"]", "image"),
		release: labels[LabelRelease],
		version: labels[LabelVersion],
		color:   labels[LabelColor],
	}
	if labels[LabelApp] != cfg.App {
		t.Errorf("%s: pod label app=%q", got.name, labels[LabelApp])
	}
	selector := stringMap(lookup(d, "spec", "selector", "matchLabels"))
	if want := map[string]string{LabelApp: cfg.App, LabelColor: got.color}; !mapsEqual(selector, want) {
		t.Errorf("%s: selector %v, want %v (no release or version: selectors are immutable)", got.name, selector, want)
	}
	meta := d.GetLabels()
	if meta[LabelColor] != got.color || meta[LabelRelease] != got.release {
		t.Errorf("%s: metadata labels %v lack the color or release", got.name, meta)
	}
	probe := "spec.template.spec.containers.[name=" + cfg.App + "].readinessProbe.httpGet"
	if p := value(t, d, strings.Split(probe+".path", ".")...); p != cfg.ReadinessPath {
		t.Errorf("%s: readiness path %q, want %q", got.name, p, cfg.ReadinessPath)
	}
	port := lookup(d, strings.Split(probe+".port", ".")...)
	if port == nil || port.YNode().Tag != yaml.NodeTagInt || port.YNode().Value != itoa(cfg.Port) {
		t.Errorf("%s: readiness port %v, want int %d", got.name, port, cfg.Port)
	}
	containers, _ := lookup(d, "spec", "template", "spec", "containers").Elements()
	if len(containers) != 1 {
		t.Errorf("%s: %d containers, want 1 (the patch must merge into the base container)", got.name, len(containers))
	}
	return got
}

func checkDestinationRule(t *testing.T, tc tcase, dr *yaml.RNode) {
	t.Helper()
	if dr.GetName() != tc.cfg.App+"-blue-green" || value(t, dr, "spec", "host") != tc.cfg.App {
		t.Errorf("DestinationRule %s for host %s", dr.GetName(), value(t, dr, "spec", "host"))
	}
	if dr.GetApiVersion() != tc.cfg.Istio.APIVersion {
		t.Errorf("DestinationRule apiVersion %s", dr.GetApiVersion())
	}
	items, _ := lookup(dr, "spec", "subsets").Elements()
	var subsets []string
	for _, s := range items {
		name := value(t, s, "name")
		subsets = append(subsets, name)
		if l := stringMap(lookup(s, "labels")); !mapsEqual(l, map[string]string{LabelColor: name}) {
			t.Errorf("subset %s labels %v", name, l)
		}
	}
	if !slices.Equal(subsets, tc.subsets) {
		t.Errorf("subsets %v, want %v", subsets, tc.subsets)
	}
}

func checkVirtualService(t *testing.T, tc tcase, vs *yaml.RNode) {
	t.Helper()
	if !tc.cfg.Istio.Gateway() {
		checkRoutes(t, tc, vs, tc.cfg.App+"-blue-green", []string{tc.cfg.App, tc.cfg.App + "." + tc.cfg.Namespace + ".svc.cluster.local"}, "mesh")
		return
	}
	checkRoutes(t, tc, vs, tc.cfg.App+"-blue-green", tc.cfg.Gateway.Hosts, tc.cfg.Gateway.Name)
}

// checkMeshVirtualService: in-mesh callers get the same rules, for the
// Service's names, on the mesh gateway only (never the Gateway's hosts,
// which may be "*").
func checkMeshVirtualService(t *testing.T, tc tcase, vs *yaml.RNode) {
	t.Helper()
	checkRoutes(t, tc, vs, tc.cfg.App+"-blue-green-mesh", []string{tc.cfg.App, tc.cfg.App + "." + tc.cfg.Namespace + ".svc.cluster.local"}, "mesh")
}

func checkRoutes(t *testing.T, tc tcase, vs *yaml.RNode, name string, hosts []string, gateway string) {
	t.Helper()
	if vs.GetName() != name {
		t.Errorf("VirtualService name %s, want %s", vs.GetName(), name)
	}
	hostNodes, _ := lookup(vs, "spec", "hosts").Elements()
	var gotHosts []string
	for _, h := range hostNodes {
		gotHosts = append(gotHosts, yaml.GetValue(h))
	}
	if !slices.Equal(gotHosts, hosts) {
		t.Errorf("%s: hosts %v, want %v", name, gotHosts, hosts)
	}
	gws, _ := lookup(vs, "spec", "gateways").Elements()
	if len(gws) != 1 || yaml.GetValue(gws[0]) != gateway {
		t.Errorf("%s: gateways %v, want [%s]", name, gws, gateway)
	}
	rules, _ := lookup(vs, "spec", "http").Elements()
	var got []wantRule
	for _, r := range rules {
		matches, _ := lookup(r, "match").Elements()
		got = append(got, wantRule{
			name:   value(t, r, "name"),
			subset: value(t, r, "route", "[=]", "destination", "subset"),
			match:  len(matches) > 0,
		})
		if host := value(t, r, "route", "[=]", "destination", "host"); host != tc.cfg.App {
			t.Errorf("rule %s routes to host %q", value(t, r, "name"), host)
		}
		if len(matches) > 0 {
			checkTestMatch(t, tc.cfg, matches)
		}
	}
	if !slices.Equal(got, tc.rules) {
		t.Errorf("rules:\n got %+v\nwant %+v", got, tc.rules)
	}
}

// checkTestMatch checks that the test rule's match is the configured selector,
// read back as data.
func checkTestMatch(t *testing.T, cfg config.Config, matches []*yaml.RNode) {
	t.Helper()
	if len(matches) != 1 {
		t.Fatalf("%d matches, want 1", len(matches))
	}
	headers := lookup(matches[0], "headers")
	fields, _ := headers.Fields()
	if c := cfg.TestRoute.Cookie; c != nil {
		if !slices.Equal(fields, []string{"cookie"}) || value(t, headers, "cookie", "regex") != CookieRegex(c.Name, c.Value) {
			t.Errorf("cookie match %s", headers.MustString())
		}
		return
	}
	h := cfg.TestRoute.Header
	exact := lookup(headers, h.Name, "exact")
	if !slices.Equal(fields, []string{h.Name}) || yaml.GetValue(exact) != h.Value || exact.YNode().Tag != yaml.NodeTagString {
		t.Errorf("header match %s", headers.MustString())
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func itoa(i int) string {
	return strings.TrimSpace(integer(i).MustString())
}

// checkGatewayAPIBuild checks a gateway-api build: the app's Service and a
// Service per deployed color selecting that color's pods alone, with its
// ports; no Istio object; the HTTPRoutes (edge and/or mesh) with the
// expected rules, parents and hostnames; a Gateway only when config asks.
func checkGatewayAPIBuild(t *testing.T, tc tcase, objs []*yaml.RNode) {
	t.Helper()
	app := tc.cfg.App
	var deployments []wantDeployment
	var colors []string
	routes := map[string]*yaml.RNode{}
	gateways := 0
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != tc.cfg.Namespace {
			t.Errorf("%s/%s in namespace %q, want %q", o.GetKind(), o.GetName(), ns, tc.cfg.Namespace)
		}
		switch o.GetKind() {
		case "Deployment":
			deployments = append(deployments, checkDeployment(t, tc.cfg, o))
		case "Service":
			if o.GetName() == app {
				continue
			}
			color := strings.TrimPrefix(o.GetName(), app+"-")
			colors = append(colors, color)
			if sel := stringMap(lookup(o, "spec", "selector")); !mapsEqual(sel, map[string]string{LabelApp: app, LabelColor: color}) {
				t.Errorf("Service %s selects %v, want its color's pods alone", o.GetName(), sel)
			}
			if p := value(t, o, "spec", "ports", "[name=http]", "port"); p != itoa(tc.cfg.Port) {
				t.Errorf("Service %s port %s, want the app Service's %d", o.GetName(), p, tc.cfg.Port)
			}
		case "HTTPRoute":
			routes[o.GetName()] = o
		case "Gateway":
			gateways++
			if o.GetApiVersion() != config.GatewayAPIVersion {
				t.Errorf("Gateway %s is %s, want Gateway API's", o.GetName(), o.GetApiVersion())
			}
		case "VirtualService", "DestinationRule":
			t.Errorf("routing gateway-api, but the build has a %s", o.GetKind())
		}
	}
	if want := 0; tc.cfg.GatewayAPI.Gateway != nil {
		want = 1
		if gateways != want {
			t.Errorf("%d Gateways, want %d", gateways, want)
		}
	} else if gateways != 0 {
		t.Errorf("%d Gateways, want none (the parent is the platform's)", gateways)
	}
	if !slices.Equal(deployments, tc.deployments) {
		t.Errorf("deployments:\n got %+v\nwant %+v", deployments, tc.deployments)
	}
	if !slices.Equal(colors, tc.subsets) {
		t.Errorf("per-color Services for %v, want %v", colors, tc.subsets)
	}
	g := tc.cfg.GatewayAPI
	for _, want := range []struct {
		name    string
		present bool
		parent  map[string]string
		hosts   []string
	}{
		{RoutingName(app), g.Edge() && len(tc.rules) > 0, nil, g.Hostnames},
		{MeshRoutingName(app), g.Mesh() && len(tc.rules) > 0, map[string]string{"group": "", "kind": "Service", "name": app}, nil},
	} {
		route := routes[want.name]
		if (route != nil) != want.present {
			t.Fatalf("HTTPRoute %s present: %v, want %v", want.name, route != nil, want.present)
		}
		if route == nil {
			continue
		}
		parents, _ := lookup(route, "spec", "parentRefs").Elements()
		if want.parent != nil {
			if len(parents) != 1 || !mapsEqual(stringMap(parents[0]), want.parent) {
				t.Errorf("%s: parentRefs %v, want the app's Service", want.name, parents)
			}
		} else {
			ps := tc.cfg.Parents()
			if len(parents) != len(ps) {
				t.Fatalf("%s: %d parentRefs, want %d", want.name, len(parents), len(ps))
			}
			for i, p := range ps {
				got := stringMap(parents[i])
				if got["name"] != p.Name || got["namespace"] != p.Namespace || got["sectionName"] != p.SectionName || got["kind"] != "Gateway" {
					t.Errorf("%s: parentRefs[%d] = %v, want %+v", want.name, i, got, p)
				}
			}
		}
		var hosts []string
		hs, _ := lookup(route, "spec", "hostnames").Elements()
		for _, h := range hs {
			hosts = append(hosts, yaml.GetValue(h))
		}
		if !slices.Equal(hosts, want.hosts) {
			t.Errorf("%s: hostnames %v, want %v", want.name, hosts, want.hosts)
		}
		var got []wantRule
		rules, _ := lookup(route, "spec", "rules").Elements()
		for _, r := range rules {
			refs, _ := lookup(r, "backendRefs").Elements()
			if len(refs) != 1 {
				t.Fatalf("%s: a rule with %d backendRefs, want 1", want.name, len(refs))
			}
			if p := value(t, refs[0], "port"); p != itoa(tc.cfg.Port) {
				t.Errorf("%s: backend port %s, want %d", want.name, p, tc.cfg.Port)
			}
			headers, _ := lookup(r, "matches", "[=]", "headers").Elements()
			if value(t, r, "matches", "[=]", "path", "value") != "/" {
				t.Errorf("%s: a rule does not match the path prefix /", want.name)
			}
			w := wantRule{name: app + "-default", subset: strings.TrimPrefix(value(t, refs[0], "name"), app+"-"), match: len(headers) > 0}
			if w.match {
				w.name = app + "-test"
				checkGatewayAPITestMatch(t, tc.cfg, headers)
			}
			got = append(got, w)
		}
		if !slices.Equal(got, tc.rules) {
			t.Errorf("%s: rules:\n got %+v\nwant %+v", want.name, got, tc.rules)
		}
	}
}

// checkGatewayAPITestMatch: the test rule matches the cookie by the cookie
// regex on the Cookie header, or the header exactly.
func checkGatewayAPITestMatch(t *testing.T, cfg config.Config, headers []*yaml.RNode) {
	t.Helper()
	if len(headers) != 1 {
		t.Fatalf("test rule has %d header matches, want 1", len(headers))
	}
	got := stringMap(headers[0])
	want := map[string]string{"type": "Exact"}
	if c := cfg.TestRoute.Cookie; c != nil {
		want = map[string]string{"type": "RegularExpression", "name": "Cookie", "value": CookieRegex(c.Name, c.Value)}
	} else {
		want["name"], want["value"] = cfg.TestRoute.Header.Name, cfg.TestRoute.Header.Value
	}
	if !mapsEqual(got, want) {
		t.Errorf("test rule header match %v, want %v", got, want)
	}
}

// checkHookJob: a hook Job runs the hook's command in the release's image
// (or the hook's own), with the color's secret environment and bgrender's
// env, never restarting in place, bounded by the hook's deadline.
func checkHookJob(t *testing.T, tc tcase, job *yaml.RNode) {
	t.Helper()
	hookName := job.GetLabels()[LabelHook]
	hook, ok := tc.cfg.HookNamed(hookName)
	if !ok {
		t.Fatalf("Job %s: hook label %q names no hook", job.GetName(), hookName)
	}
	rel := tc.s.Test
	c := "spec.template.spec.containers.[name=" + hookName + "]."
	image := tc.cfg.Image + ":" + rel.Version
	if hook.Image != "" {
		image = hook.Image
	}
	if got := value(t, job, strings.Split(c+"image", ".")...); got != image {
		t.Errorf("Job %s image %s, want %s", job.GetName(), got, image)
	}
	if got := value(t, job, strings.Split(c+"envFrom.[=].secretRef.name", ".")...); got != SecretEnvName(tc.cfg.App, rel.Color) {
		t.Errorf("Job %s envFrom secret %s, want the color's", job.GetName(), got)
	}
	if got := value(t, job, strings.Split(c+"env.[name=NODE_ENV].value", ".")...); got != "production" {
		t.Errorf("Job %s env NODE_ENV %q", job.GetName(), got)
	}
	if got := value(t, job, "spec", "template", "spec", "restartPolicy"); got != "Never" {
		t.Errorf("Job %s restartPolicy %s", job.GetName(), got)
	}
	if got := value(t, job, "spec", "activeDeadlineSeconds"); got != itoa(hook.Deadline()) {
		t.Errorf("Job %s activeDeadlineSeconds %s, want %d", job.GetName(), got, hook.Deadline())
	}
	if got := value(t, job, "spec", "backoffLimit"); got != itoa(hook.Retries()) {
		t.Errorf("Job %s backoffLimit %s, want %d", job.GetName(), got, hook.Retries())
	}
	for _, l := range []map[string]string{job.GetLabels(), stringMap(lookup(job, "spec", "template", "metadata", "labels"))} {
		if l[LabelRelease] != rel.ID || l[LabelHookApp] != tc.cfg.App {
			t.Errorf("Job %s labels %v: want the release and the app (%s)", job.GetName(), l, LabelHookApp)
		}
		if _, has := l[LabelApp]; has {
			t.Errorf("Job %s labels %v: the app's Service and subsets select %s; its pods must not take traffic", job.GetName(), l, LabelApp)
		}
		if _, has := l[LabelColor]; has {
			t.Errorf("Job %s labels %v carry a color", job.GetName(), l)
		}
	}
}
