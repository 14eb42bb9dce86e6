package render

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// An app whose base uses a component shared by the repo's apps, which in
// turn uses another: they load from their repo paths, as kubectl kustomize
// loads them.
func TestBuildShared(t *testing.T) {
	app := Files{
		"kustomization.yaml":      []byte("resources:\n- base\n"),
		"base/kustomization.yaml": []byte("resources:\n- cm.yaml\ncomponents:\n- ../../../components/common\n"),
		"base/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\n"),
	}
	repo := Files{
		"components/common/kustomization.yaml": []byte("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonLabels:\n  team: shop\ncomponents:\n- ../labels\n"),
		"components/labels/kustomization.yaml": []byte("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  owner: platform\n"),
		"components/unused/kustomization.yaml": []byte("kind: Component\n"),
	}
	shared := Files{}
	var asked [][]string
	for {
		dirs := SharedDirs("apps/web", app, shared)
		if len(dirs) == 0 {
			break
		}
		if len(asked) > 3 {
			t.Fatalf("SharedDirs keeps asking: %v", asked)
		}
		asked = append(asked, dirs)
		for _, d := range dirs {
			for p, b := range repo {
				if strings.HasPrefix(p, d+"/") {
					shared[p] = b
				}
			}
		}
	}
	if want := [][]string{{"components/common"}, {"components/labels"}}; !reflect.DeepEqual(asked, want) {
		t.Errorf("SharedDirs asked for %v, want %v", asked, want)
	}
	var b Builder
	out, err := b.BuildShared("apps/web", app, shared)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); !strings.Contains(s, "team: shop") || !strings.Contains(s, "owner: platform") {
		t.Errorf("the components did not apply:\n%s", s)
	}

	for name, tc := range map[string]struct {
		entry, want string
		remote      bool
	}{
		"out of the repo": {"../../../../outside", `apps/web/base/kustomization.yaml: components[0] "../../../../outside": outside the repo`, true},
		"missing":         {"../../../components/gone", `apps/web/base/kustomization.yaml: components[0] "../../../components/gone": no such file or directory in the repo`, true},
	} {
		t.Run(name, func(t *testing.T) {
			bad := Files{}
			for p, v := range app {
				bad[p] = v
			}
			bad["base/kustomization.yaml"] = []byte("resources:\n- cm.yaml\ncomponents:\n- " + tc.entry + "\n")
			if dirs := SharedDirs("apps/web", bad, shared); len(dirs) != 0 && name == "out of the repo" {
				t.Errorf("SharedDirs asks for %v, a path out of the repo", dirs)
			}
			_, err := b.BuildShared("apps/web", bad, shared)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrRemoteResource) != tc.remote {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
