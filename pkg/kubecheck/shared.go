package kubecheck

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// SharedConfig names the ConfigMaps of a build that are not per color and
// that the pods of a color read: a change to one reaches the live color at
// once, without the test route. It is advice, not a finding: a CA bundle or
// a platform-wide setting may be shared on purpose. Sorted, one line each.
func SharedConfig(built []byte) []string {
	nodes, err := kio.FromBytes(built)
	if err != nil {
		return nil
	}
	shared := map[string]bool{}
	readers := map[string][]string{}
	for _, n := range nodes {
		if k := n.GetKind(); k != "ConfigMap" && k != "Deployment" {
			continue // Check decodes everything already; only these matter here
		}
		switch v := decodeLenient(n).(type) { // Check reports what does not decode strictly
		case *corev1.ConfigMap:
			if colorOf(v.Name) == "" {
				shared[v.Name] = true
			}
		case *appsv1.Deployment:
			if color := colorOf(v.Name); color != "" {
				for _, cm := range configMapsOf(&v.Spec.Template.Spec) {
					readers[cm] = append(readers[cm], color)
				}
			}
		}
	}
	var out []string
	for cm, colors := range readers {
		if !shared[cm] {
			continue
		}
		sort.Strings(colors)
		out = append(out, fmt.Sprintf("ConfigMap/%s (in base/) is read by the pods of %s: a change to it reaches them at once, the live color included, without the test route; move it to per-color/ to release its changes through the gate", cm, strings.Join(dedupe(colors), " and ")))
	}
	sort.Strings(out)
	return out
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
