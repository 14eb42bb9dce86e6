package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
)

// RecipesDir is the directory of the Argo CD and Flux recipes
// (docs/recipes in this module), found from this source file, which the
// tests always have.
func RecipesDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "recipes")
}

// recipeObject reads the one Kubernetes object of the recipe file rel
// (relative to RecipesDir, e.g. "argocd/application.yaml").
func recipeObject(rel string) (*unstructured.Unstructured, error) {
	data, err := os.ReadFile(filepath.Join(RecipesDir(), rel))
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	dec := yamlutil.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []map[string]any
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("recipe %s: %w", rel, err)
		}
		if len(m) > 0 {
			objs = append(objs, m)
		}
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("recipe %s: %d objects, want 1", rel, len(objs))
	}
	return &unstructured.Unstructured{Object: objs[0]}, nil
}

// recipeSub is one placeholder of a recipe and the value a test puts in
// its place.
type recipeSub struct {
	field              string // dotted path, e.g. spec.source.repoURL
	placeholder, value string
}

// substitute sets each field of obj to its value, after checking that the
// recipe has exactly the placeholder there: a recipe that changed shape
// fails loudly instead of being half substituted. Fields are set as
// structured values, never by editing text.
func substitute(rel string, obj *unstructured.Unstructured, subs ...recipeSub) error {
	for _, s := range subs {
		path := strings.Split(s.field, ".")
		got, found, err := unstructured.NestedString(obj.Object, path...)
		if err != nil || !found || got != s.placeholder {
			return fmt.Errorf("recipe %s: %s is %q (found %v, %v), want the placeholder %q", rel, s.field, got, found, err, s.placeholder)
		}
		if err := unstructured.SetNestedField(obj.Object, s.value, path...); err != nil {
			return fmt.Errorf("recipe %s: set %s: %w", rel, s.field, err)
		}
	}
	return nil
}

// RecipeRepoURL is the env repo URL the Argo CD and Flux recipes hold as a
// placeholder.
const RecipeRepoURL = "https://github.com/acme/env.git"

// ArgoApplicationRecipe returns docs/recipes/argocd/application.yaml with
// name, repoURL, path and destination namespace in place of its
// placeholders (myapp, RecipeRepoURL, apps/myapp, default), everything else
// as written.
func ArgoApplicationRecipe(name, repoURL, path, namespace string) (*unstructured.Unstructured, error) {
	const rel = "argocd/application.yaml"
	app, err := recipeObject(rel)
	if err != nil {
		return nil, err
	}
	if app.GetKind() != "Application" || app.GetNamespace() != ArgoCDNamespace {
		return nil, fmt.Errorf("recipe %s: %s in namespace %q, want an Application in %s", rel, app.GetKind(), app.GetNamespace(), ArgoCDNamespace)
	}
	return app, substitute(rel, app,
		recipeSub{"metadata.name", "myapp", name},
		recipeSub{"spec.source.repoURL", RecipeRepoURL, repoURL},
		recipeSub{"spec.source.path", "apps/myapp", path},
		recipeSub{"spec.destination.namespace", "default", namespace},
	)
}

// ArgoApplicationSetRecipe returns docs/recipes/argocd/applicationset.yaml
// with repoURL in place of the placeholder RecipeRepoURL (in the git
// generator and in the template), everything else as written.
func ArgoApplicationSetRecipe(repoURL string) (*unstructured.Unstructured, error) {
	const rel = "argocd/applicationset.yaml"
	set, err := recipeObject(rel)
	if err != nil {
		return nil, err
	}
	if set.GetKind() != "ApplicationSet" || set.GetNamespace() != ArgoCDNamespace {
		return nil, fmt.Errorf("recipe %s: %s in namespace %q, want an ApplicationSet in %s", rel, set.GetKind(), set.GetNamespace(), ArgoCDNamespace)
	}
	gens, _, _ := unstructured.NestedSlice(set.Object, "spec", "generators")
	if len(gens) != 1 {
		return nil, fmt.Errorf("recipe %s: %d generators, want 1", rel, len(gens))
	}
	gen := &unstructured.Unstructured{Object: gens[0].(map[string]any)}
	if err := substitute(rel, gen, recipeSub{"git.repoURL", RecipeRepoURL, repoURL}); err != nil {
		return nil, err
	}
	if err := unstructured.SetNestedSlice(set.Object, []any{gen.Object}, "spec", "generators"); err != nil {
		return nil, err
	}
	return set, substitute(rel, set, recipeSub{"spec.template.spec.source.repoURL", RecipeRepoURL, repoURL})
}

// FluxRecipe returns docs/recipes/flux/gitrepository.yaml and
// kustomization.yaml for the app directory path of the git repository at
// gitURL: in namespace ns, the GitRepository repoName with credentials from
// Secret <repoName>-auth and the Kustomization name on ./<path>, in place of
// the placeholders (flux-system, env, RecipeRepoURL, env-auth, myapp,
// ./apps/myapp); everything else as written.
func FluxRecipe(ns, repoName, gitURL, name, path string) (repo, ks *unstructured.Unstructured, err error) {
	if repo, err = recipeObject("flux/gitrepository.yaml"); err != nil {
		return nil, nil, err
	}
	if err := substitute("flux/gitrepository.yaml", repo,
		recipeSub{"metadata.namespace", FluxNamespace, ns},
		recipeSub{"metadata.name", "env", repoName},
		recipeSub{"spec.url", RecipeRepoURL, gitURL},
		recipeSub{"spec.secretRef.name", "env-auth", repoName + "-auth"},
	); err != nil {
		return nil, nil, err
	}
	if ks, err = recipeObject("flux/kustomization.yaml"); err != nil {
		return nil, nil, err
	}
	if err := substitute("flux/kustomization.yaml", ks,
		recipeSub{"metadata.namespace", FluxNamespace, ns},
		recipeSub{"metadata.name", "myapp", name},
		recipeSub{"spec.path", "./apps/myapp", "./" + path},
		recipeSub{"spec.sourceRef.name", "env", repoName},
	); err != nil {
		return nil, nil, err
	}
	return repo, ks, nil
}
