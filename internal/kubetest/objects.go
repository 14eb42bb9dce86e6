package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
)

const fieldManager = "kubetest"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// resourceInfo is what discovery says about one resource of a group version.
type resourceInfo struct {
	Name, Kind   string
	Namespaced   bool
	StatusSubres bool
}

// Apply server-side applies every object in the YAML (several documents are
// fine) as field manager "kubetest", forcing conflicts, and returns them as
// the API server stored them. Namespaced objects without a namespace go to
// "default".
func (c *Cluster) Apply(t testing.TB, yaml string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := c.ApplyYAML(context.Background(), []byte(yaml))
	if err != nil {
		t.Fatalf("kubetest: apply: %v", err)
	}
	return objs
}

// ApplyFile is Apply for the YAML in a file.
func (c *Cluster) ApplyFile(t testing.TB, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	objs, err := c.ApplyYAML(context.Background(), data)
	if err != nil {
		t.Fatalf("kubetest: apply %s: %v", path, err)
	}
	return objs
}

// ApplyYAML is Apply without a test.
func (c *Cluster) ApplyYAML(ctx context.Context, yaml []byte) ([]*unstructured.Unstructured, error) {
	objs, err := decodeYAML(yaml)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, obj := range objs {
		applied, err := c.apply(ctx, obj)
		if err != nil {
			return out, err
		}
		out = append(out, applied)
	}
	return out, nil
}

func (c *Cluster) apply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	info, err := c.resource(ctx, gvk)
	if err != nil {
		return nil, err
	}
	gvr := gvk.GroupVersion().WithResource(info.Name)
	ri := c.Dynamic.Resource(gvr)
	if !info.Namespaced {
		return ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace("default")
	}
	applied, err := ri.Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	if err != nil {
		return nil, fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return applied, nil
}

// DryRunYAML server-side applies every object in the YAML with dryRun=All
// and strict field validation, so the API server runs its defaulting,
// validation and admission on each without storing anything: an unknown or
// duplicate field, a wrong type or an invalid pod spec is an error naming
// the object. Namespaced objects without a namespace go to "default"; the
// namespace an object names must exist.
func (c *Cluster) DryRunYAML(ctx context.Context, yaml []byte) error {
	objs, err := decodeYAML(yaml)
	if err != nil {
		return err
	}
	var errs []error
	for _, obj := range objs {
		if err := c.dryRun(ctx, obj); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) dryRun(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	info, err := c.resource(ctx, gvk)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: ptrTo(true), DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
	ri := c.Dynamic.Resource(gvk.GroupVersion().WithResource(info.Name))
	if !info.Namespaced {
		_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
	} else {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		_, err = ri.Namespace(ns).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
	}
	if err != nil {
		return fmt.Errorf("%s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// SetStatus replaces the object's status as its controller would: through
// the status subresource where the CRD has one (Flux), else by updating the
// object (Argo CD's Application has none). It retries on conflicts and
// returns the object as stored.
func (c *Cluster) SetStatus(t testing.TB, gvr schema.GroupVersionResource, namespace, name string, status map[string]any) *unstructured.Unstructured {
	t.Helper()
	obj, err := c.SetStatusContext(context.Background(), gvr, namespace, name, status)
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	return obj
}

// SetStatusContext is SetStatus without a test.
func (c *Cluster) SetStatusContext(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, status map[string]any) (*unstructured.Unstructured, error) {
	// A JSON round trip turns Go ints and structs into the JSON types that
	// unstructured objects hold.
	data, err := json.Marshal(status)
	if err != nil {
		return nil, fmt.Errorf("set status of %s %s/%s: %w", gvr.Resource, namespace, name, err)
	}
	subres, err := c.hasStatusSubresource(ctx, gvr)
	if err != nil {
		return nil, err
	}
	ri := c.Dynamic.Resource(gvr).Namespace(namespace)
	for range 10 {
		obj, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("set status of %s %s/%s: %w", gvr.Resource, namespace, name, err)
		}
		var st map[string]any
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, err
		}
		obj.Object["status"] = st
		var out *unstructured.Unstructured
		if subres {
			out, err = ri.UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: fieldManager})
		} else {
			out, err = ri.Update(ctx, obj, metav1.UpdateOptions{FieldManager: fieldManager})
		}
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("set status of %s %s/%s: %w", gvr.Resource, namespace, name, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("set status of %s %s/%s: conflicts persisted", gvr.Resource, namespace, name)
}

// Namespace creates a namespace named after the test (unique within the
// cluster) and returns its name. Nothing deletes it: without a
// kube-controller-manager a deleted namespace never finishes terminating, and
// the cluster is thrown away anyway.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	base := sanitize(t.Name())
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	name := fmt.Sprintf("%s-%d", base, c.nsSeq.Add(1))
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
	}}
	if _, err := c.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).
		Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("kubetest: create namespace %s: %v", name, err)
	}
	return name
}

func decodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := yamlutil.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decode YAML: %w", err)
		}
		if len(m) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{Object: m}
		if obj.GetKind() == "" || obj.GetAPIVersion() == "" {
			return nil, fmt.Errorf("decode YAML: an object without apiVersion and kind (name %q)", obj.GetName())
		}
		objs = append(objs, obj)
	}
}

// installCRDs applies the CRDs named in want from the cached files and every
// CRD in extra, and waits until the API server serves them.
func (c *Cluster) installCRDs(ctx context.Context, cached, want, extra []string) (int, error) {
	var crds []*unstructured.Unstructured
	found := map[string]bool{}
	read := func(f string, keep func(name string) bool) error {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read CRDs: %w", err)
		}
		objs, err := decodeYAML(data)
		if err != nil {
			return fmt.Errorf("read CRDs from %s: %w", f, err)
		}
		for _, o := range objs {
			if o.GetKind() == "CustomResourceDefinition" && keep(o.GetName()) {
				crds = append(crds, o)
				found[o.GetName()] = true
			}
		}
		return nil
	}
	for _, f := range cached {
		if err := read(f, func(name string) bool { return slices.Contains(want, name) }); err != nil {
			return 0, err
		}
	}
	for _, name := range want {
		if !found[name] {
			return 0, fmt.Errorf("no CRD named %q in %v", name, cached)
		}
	}
	for _, f := range extra {
		if err := read(f, func(string) bool { return true }); err != nil {
			return 0, err
		}
	}
	ri := c.Dynamic.Resource(crdGVR)
	for _, crd := range crds {
		if _, err := ri.Apply(ctx, crd.GetName(), crd, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
			return 0, fmt.Errorf("install CRD %s: %w", crd.GetName(), err)
		}
	}
	for _, crd := range crds {
		if err := c.waitEstablished(ctx, crd.GetName()); err != nil {
			return 0, err
		}
	}
	return len(crds), nil
}

func (c *Cluster) waitEstablished(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		obj, err := c.Dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			for _, ci := range conds {
				cm, _ := ci.(map[string]any)
				if cm["type"] == "Established" && cm["status"] == "True" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not established: %w (last error: %v)", name, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// resource finds the resource that serves gvk, asking discovery again (for a
// while) when it does not know it yet: a CRD just established can take a
// moment to appear.
func (c *Cluster) resource(ctx context.Context, gvk schema.GroupVersionKind) (resourceInfo, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		infos, err := c.resources(ctx, gvk.GroupVersion(), false)
		if err == nil {
			for _, ri := range infos {
				if ri.Kind == gvk.Kind {
					return ri, nil
				}
			}
			err = fmt.Errorf("%w %s", errNoMapping, gvk)
		}
		if time.Now().After(deadline) {
			return resourceInfo{}, err
		}
		c.forget(gvk.GroupVersion())
		select {
		case <-ctx.Done():
			return resourceInfo{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) hasStatusSubresource(ctx context.Context, gvr schema.GroupVersionResource) (bool, error) {
	for _, refresh := range []bool{false, true} {
		infos, err := c.resources(ctx, gvr.GroupVersion(), refresh)
		if err != nil {
			return false, err
		}
		for _, ri := range infos {
			if ri.Name == gvr.Resource {
				return ri.StatusSubres, nil
			}
		}
	}
	return false, fmt.Errorf("the API server does not serve %s", gvr)
}

func (c *Cluster) forget(gv schema.GroupVersion) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.discovered, gv)
}

func (c *Cluster) resources(ctx context.Context, gv schema.GroupVersion, refresh bool) ([]resourceInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if infos, ok := c.discovered[gv]; ok && !refresh {
		return infos, nil
	}
	list, err := c.discovery.ServerResourcesForGroupVersion(gv.String())
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", gv, err)
	}
	subres := map[string]bool{}
	for _, r := range list.APIResources {
		if base, sub, ok := strings.Cut(r.Name, "/"); ok && sub == "status" {
			subres[base] = true
		}
	}
	var infos []resourceInfo
	for _, r := range list.APIResources {
		if strings.Contains(r.Name, "/") {
			continue
		}
		infos = append(infos, resourceInfo{Name: r.Name, Kind: r.Kind, Namespaced: r.Namespaced, StatusSubres: subres[r.Name]})
	}
	if c.discovered == nil {
		c.discovered = map[schema.GroupVersion][]resourceInfo{}
	}
	c.discovered[gv] = infos
	return infos, nil
}
