package render

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/config"
)

func TestCheckRoutingGolden(t *testing.T) {
	var b Builder
	for _, tc := range cases(t) {
		t.Run(tc.name, func(t *testing.T) {
			built, err := b.BuildFiles(appFiles(t, tc.cfg, tc.s))
			if err != nil {
				t.Fatal(err)
			}
			if errs := CheckRouting(tc.cfg, built); errs != nil {
				t.Errorf("CheckRouting = %v, want nil", errs)
			}
		})
	}
}

// caseNamed returns the golden case with that name.
func caseNamed(t testing.TB, name string) tcase {
	t.Helper()
	for _, tc := range cases(t) {
		if tc.name == name {
			return tc
		}
	}
	t.Fatalf("no case %q", name)
	return tcase{}
}

// breakBuild builds a golden case and applies edit to its objects.
func breakBuild(t *testing.T, b *Builder, name string, edit func(t *testing.T, objs []*yaml.RNode) []*yaml.RNode) []byte {
	t.Helper()
	tc := caseNamed(t, name)
	if !strings.HasPrefix(t.Name(), "TestCheckRoutingFindsBrokenBuilds/mesh") {
		// One VirtualService, so that each broken thing is one finding; the
		// mesh's own is checked by the mesh cases.
		tc.cfg.Istio.Bind = config.BindGateway
	}
	objs := builtObjects(t, b, tc)
	objs = edit(t, objs)
	var out bytes.Buffer
	if err := (kio.ByteWriter{Writer: &out}).Write(objs); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// find returns the object of that kind and name.
func find(t *testing.T, objs []*yaml.RNode, kind, name string) *yaml.RNode {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s/%s in build", kind, name)
	return nil
}

func without(objs []*yaml.RNode, kind, name string) []*yaml.RNode {
	return slices.DeleteFunc(objs, func(o *yaml.RNode) bool { return o.GetKind() == kind && o.GetName() == name })
}

// edit applies a kyaml filter to one object.
func edit(kind, name string, filters ...yaml.Filter) func(*testing.T, []*yaml.RNode) []*yaml.RNode {
	return func(t *testing.T, objs []*yaml.RNode) []*yaml.RNode {
		t.Helper()
		if err := find(t, objs, kind, name).PipeE(filters...); err != nil {
			t.Fatal(err)
		}
		return objs
	}
}

func TestCheckRoutingFindsBrokenBuilds(t *testing.T) {
	const (
		vs = "VirtualService/myapp-blue-green"
		dr = "DestinationRule/myapp-blue-green"
	)
	tests := []struct {
		name  string
		state string
		edit  func(*testing.T, []*yaml.RNode) []*yaml.RNode
		want  []string
	}{
		{
			name: "VS routes to a subset not in the DR", state: "second-deploy",
			edit: edit("DestinationRule", "myapp-blue-green", yaml.Lookup("spec", "subsets"), yaml.ElementSetter{Keys: []string{"name"}, Values: []string{"green"}}),
			want: []string{vs + `: rule "myapp-test": routes to subset "green", which ` + dr + ` does not define`},
		},
		{
			name: "VS routes to an unknown subset", state: "live",
			edit: edit("VirtualService", "myapp-blue-green", yaml.Lookup("spec", "http", "[name=myapp-default]", "route", "[=]", "destination"), yaml.SetField("subset", yaml.NewStringRNode("purple"))),
			want: []string{
				vs + `: rule "myapp-default": routes to subset "purple", which ` + dr + ` does not define`,
				vs + `: rule "myapp-default": routes to subset "purple", which is not a color`,
			},
		},
		{
			name: "DR subset without Deployment", state: "decommissioned",
			edit: edit("DestinationRule", "myapp-blue-green", yaml.Lookup("spec", "subsets"), yaml.Append(yaml.MustParse("{name: blue, labels: {color: blue}}").YNode())),
			want: []string{dr + `: subset "blue": no Deployment has pod labels app=myapp,color=blue`},
		},
		{
			name: "default rule not last", state: "second-deploy",
			edit: edit("VirtualService", "myapp-blue-green", yaml.Lookup("spec", "http"), yaml.FilterFunc(func(n *yaml.RNode) (*yaml.RNode, error) {
				c := n.YNode().Content
				c[0], c[1] = c[1], c[0]
				return n, nil
			})),
			want: []string{vs + `: rule "myapp-default": has no match but is not the last rule: the 1 rule(s) after it never match`},
		},
		{
			name: "Deployment deleted under a route", state: "promoted",
			edit: func(t *testing.T, objs []*yaml.RNode) []*yaml.RNode {
				return without(objs, "Deployment", "myapp-green")
			},
			want: []string{
				dr + `: subset "green": no Deployment has pod labels app=myapp,color=green`,
				vs + `: rule "myapp-default": routes to color green, which has no Deployment myapp-green`,
			},
		},
		{
			name: "DR missing", state: "live",
			edit: func(t *testing.T, objs []*yaml.RNode) []*yaml.RNode {
				return without(objs, "DestinationRule", "myapp-blue-green")
			},
			want: []string{
				dr + `: missing, but Deployments myapp-blue exist: they get no traffic`,
				vs + `: rule "myapp-default": routes to subset "blue", which ` + dr + ` does not define`,
			},
		},
		{
			name: "VS and DR without Deployments", state: "live",
			edit: func(t *testing.T, objs []*yaml.RNode) []*yaml.RNode { return without(objs, "Deployment", "myapp-blue") },
			want: []string{
				vs + `: exists, but no Deployment myapp-blue or myapp-green does`,
				dr + `: exists, but no Deployment myapp-blue or myapp-green does`,
				dr + `: subset "blue": no Deployment has pod labels app=myapp,color=blue`,
				vs + `: rule "myapp-default": routes to color blue, which has no Deployment myapp-blue`,
			},
		},
		{
			name: "subset selecting every color", state: "live",
			edit: edit("DestinationRule", "myapp-blue-green", yaml.Lookup("spec", "subsets", "[name=blue]"), yaml.Clear("labels")),
			want: []string{dr + `: subset "blue": has no labels: it selects the pods of every color`},
		},
		{
			name: "route without subset", state: "live",
			edit: edit("VirtualService", "myapp-blue-green", yaml.Lookup("spec", "http", "[name=myapp-default]", "route", "[=]", "destination"), yaml.Clear("subset")),
			want: []string{vs + `: rule "myapp-default": routes to host "myapp" without a subset: traffic would reach every color`},
		},
		{
			name: "route to another host", state: "live",
			edit: edit("VirtualService", "myapp-blue-green", yaml.Lookup("spec", "http", "[name=myapp-default]", "route", "[=]", "destination"), yaml.SetField("host", yaml.NewStringRNode("other"))),
			want: []string{vs + `: rule "myapp-default": routes to host "other", but ` + dr + ` is for host "myapp"`},
		},
		{
			name: "mesh routes to a subset not in the DR", state: "second-deploy",
			edit: edit("VirtualService", "myapp-blue-green-mesh", yaml.Lookup("spec", "http", "[name=myapp-test]", "route", "[=]", "destination"), yaml.SetField("subset", yaml.NewStringRNode("purple"))),
			want: []string{
				`VirtualService/myapp-blue-green-mesh: rule "myapp-test": routes to subset "purple", which ` + dr + ` does not define`,
				`VirtualService/myapp-blue-green-mesh: rule "myapp-test": routes to subset "purple", which is not a color`,
			},
		},
		{
			name: "image without tag", state: "second-deploy",
			edit: edit("Deployment", "myapp-green", yaml.Lookup("spec", "template", "spec", "containers", "[name=myapp]"), yaml.SetField("image", yaml.NewStringRNode("ghcr.io/acme/myapp"))),
			want: []string{`Deployment/myapp-green: container "myapp": image "ghcr.io/acme/myapp" has no tag`},
		},
		{
			name: "registry port is not a tag", state: "live",
			edit: edit("Deployment", "myapp-blue", yaml.Lookup("spec", "template", "spec", "containers", "[name=myapp]"), yaml.SetField("image", yaml.NewStringRNode("localhost:5000/myapp"))),
			want: []string{`Deployment/myapp-blue: container "myapp": image "localhost:5000/myapp" has no tag`},
		},
	}
	var b Builder
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			built := breakBuild(t, &b, tc.state, tc.edit)
			errs := CheckRouting(caseNamed(t, tc.state).cfg, built)
			var got []string
			for _, err := range errs {
				var re *RoutingError
				if !errors.As(err, &re) {
					t.Errorf("error %v is not a *RoutingError", err)
				}
				got = append(got, err.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("CheckRouting:\n got %q\nwant %q\nbuild:\n%s", got, tc.want, built)
			}
		})
	}
}

func TestCheckRoutingDigestIsATag(t *testing.T) {
	tests := map[string]bool{
		"ghcr.io/acme/myapp:v1":            true,
		"ghcr.io/acme/myapp@sha256:abcdef": true,
		"localhost:5000/myapp:1.0":         true,
		"localhost:5000/myapp":             false,
		"myapp":                            false,
		"myapp:":                           false,
		"":                                 false,
	}
	for image, want := range tests {
		t.Run(image, func(t *testing.T) {
			if got := hasTag(image); got != want {
				t.Errorf("hasTag(%q) = %v, want %v", image, got, want)
			}
		})
	}
}

func TestCheckRoutingUnparsable(t *testing.T) {
	errs := CheckRouting(defaultConfig(), []byte("kind: [\n"))
	if len(errs) != 1 {
		t.Fatalf("errors %v, want one parse error", errs)
	}
	var re *RoutingError
	if errors.As(errs[0], &re) {
		t.Errorf("parse error %v should not be a *RoutingError", errs[0])
	}
}

func TestCheckGatewayAPIFindsBrokenBuilds(t *testing.T) {
	const route = "HTTPRoute/myapp-blue-green"
	tests := []struct {
		name  string
		state string
		edit  func(*testing.T, []*yaml.RNode) []*yaml.RNode
		want  []string
	}{
		{
			name: "a color's Service is missing", state: "gateway-api-second-deploy",
			edit: func(t *testing.T, objs []*yaml.RNode) []*yaml.RNode { return without(objs, "Service", "myapp-green") },
			want: []string{
				"Service/myapp-green: missing, but Deployment myapp-green exists: the HTTPRoute cannot route to it",
				route + ": rule #1: routes to Service myapp-green, which the build does not have",
			},
		},
		{
			name: "a color's Service selects both colors", state: "gateway-api-promoted",
			edit: edit("Service", "myapp-blue", yaml.Lookup("spec", "selector"), yaml.Clear("color")),
			want: []string{"Service/myapp-blue: spec.selector: selects app=myapp, want app=myapp and color=blue: it would reach the pods of another color"},
		},
		{
			name: "the default rule first", state: "gateway-api-second-deploy",
			edit: func(t *testing.T, objs []*yaml.RNode) []*yaml.RNode {
				rules := find(t, objs, "HTTPRoute", "myapp-blue-green").Field("spec").Value.Field("rules").Value.YNode()
				rules.Content[0], rules.Content[1] = rules.Content[1], rules.Content[0]
				return objs
			},
			want: []string{route + ": rule #1: has no header match but is not the last rule: it is the default rule, and the 1 rule(s) after it are for requests it already takes"},
		},
		{
			name: "a backend that is not a color's", state: "gateway-api-promoted",
			edit: edit("HTTPRoute", "myapp-blue-green", yaml.Lookup("spec", "rules", "[=]", "backendRefs", "[=]"), yaml.SetField("name", yaml.NewStringRNode("myapp"))),
			want: []string{route + `: rule #1: routes to Service "myapp", which is not a color's (myapp-blue or myapp-green)`},
		},
		{
			name: "a backend whose color has no pods", state: "gateway-api-decommissioned",
			edit: edit("HTTPRoute", "myapp-blue-green", yaml.Lookup("spec", "rules", "[=]", "backendRefs", "[=]"), yaml.SetField("name", yaml.NewStringRNode("myapp-blue"))),
			want: []string{route + ": rule #1: routes to Service myapp-blue, which the build does not have"},
		},
		{
			name: "too many backendRefs", state: "gateway-api-promoted",
			edit: func(t *testing.T, objs []*yaml.RNode) []*yaml.RNode {
				refs := find(t, objs, "HTTPRoute", "myapp-blue-green").Field("spec").Value.Field("rules").Value.YNode().Content[0]
				list := yaml.NewRNode(refs).Field("backendRefs").Value.YNode()
				for len(list.Content) < 17 {
					list.Content = append(list.Content, yaml.CopyYNode(list.Content[0]))
				}
				return objs
			},
			want: []string{route + ": rule #1: has 17 backendRefs, more than Gateway API's 16"},
		},
		{
			name: "a route left with no Deployment", state: "gateway-api-promoted",
			edit: func(t *testing.T, objs []*yaml.RNode) []*yaml.RNode {
				return without(without(objs, "Deployment", "myapp-blue"), "Deployment", "myapp-green")
			},
			want: []string{
				"HTTPRoute/myapp-blue-green: exists, but no Deployment myapp-blue or myapp-green does",
				route + ": rule #1: routes to Service myapp-green, whose selector app=myapp,color=green matches no Deployment's pods",
			},
		},
	}
	var b Builder
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := caseNamed(t, tc.state)
			objs := tc.edit(t, builtObjects(t, &b, c))
			var out bytes.Buffer
			if err := (kio.ByteWriter{Writer: &out}).Write(objs); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, err := range CheckRouting(c.cfg, out.Bytes()) {
				got = append(got, err.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("CheckRouting:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
