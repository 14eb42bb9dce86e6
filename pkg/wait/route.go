package wait

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// ObjectRef names a live object to read.
type ObjectRef struct {
	Group, Version, Kind, Namespace, Name string
}

func (r ObjectRef) String() string { return r.Kind + " " + r.Namespace + "/" + r.Name }

// LiveReader is a Source that can also read an object the controller
// applied, read-only: Argo CD's resource API, or the Kubernetes API. A nil
// map and no error mean the object does not exist.
type LiveReader interface {
	Live(ctx context.Context, ref ObjectRef) (map[string]any, error)
}

// RouteParent is one parent of an HTTPRoute whose status must show the
// route accepted: a Gateway (Kind "Gateway", the default), or the app's
// Service for a mesh route (Kind "Service", Group "").
type RouteParent struct {
	Group, Kind, Namespace, Name, SectionName string
	Port                                      int
}

func (p RouteParent) String() string {
	s := p.kind() + " " + p.Namespace + "/" + p.Name
	if p.SectionName != "" {
		s += " listener " + p.SectionName
	}
	if p.Port != 0 {
		s += fmt.Sprintf(" port %d", p.Port)
	}
	return s
}

func (p RouteParent) kind() string {
	if p.Kind == "" {
		return "Gateway"
	}
	return p.Kind
}

// Route is an HTTPRoute the commit may hold, and the parents that must
// accept it.
type Route struct {
	Namespace, Name string
	Parents         []RouteParent
}

// Routes wraps src so that a commit is applied only once every Route the
// cluster has is accepted by each of its parents: status.parents[] has, for
// the parent, Accepted=True and ResolvedRefs=True at an observedGeneration
// equal to the route's metadata.generation. Until the parent has reported
// on that generation the wait goes on; Accepted=False or ResolvedRefs=False
// there stops it at once with a *FailedError quoting the condition. A route
// the cluster does not have once the controller applied the commit is one
// the commit does not hold (no rule yet). src must be a LiveReader.
func Routes(src Source, routes []Route) Source {
	return &routeGate{Source: src, routes: routes}
}

type routeGate struct {
	Source
	routes []Route
}

func (g *routeGate) Observe(ctx context.Context, commit string, acc Acceptor, now time.Time) (Observation, error) {
	obs, err := g.Source.Observe(ctx, commit, acc, now)
	if err != nil || !obs.Done {
		return obs, err
	}
	live, ok := g.Source.(LiveReader)
	if !ok {
		return obs, Permanent(fmt.Errorf("%s: cannot read the HTTPRoutes' status through this source", g.Name()))
	}
	for _, r := range g.routes {
		obj, err := live.Live(ctx, ObjectRef{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute", Namespace: r.Namespace, Name: r.Name})
		if err != nil {
			return obs, fmt.Errorf("%s: read HTTPRoute %s/%s: %w", g.Name(), r.Namespace, r.Name, err)
		}
		if obj == nil {
			continue
		}
		waiting, failed := judgeRoute(r, obj)
		if failed != "" {
			return obs, &FailedError{Source: g.Name(), Commit: commit, Reason: "RouteNotAccepted", Message: failed}
		}
		if waiting != "" {
			obs.Done, obs.Waiting = false, waiting
			return obs, nil
		}
	}
	return obs, nil
}

// routeStatus is the part of an HTTPRoute that judgeRoute reads.
type routeStatus struct {
	Metadata struct {
		Generation int64 `json:"generation"`
	} `json:"metadata"`
	Status struct {
		Parents []struct {
			ParentRef struct {
				Group       *string `json:"group"`
				Kind        *string `json:"kind"`
				Namespace   string  `json:"namespace"`
				Name        string  `json:"name"`
				SectionName string  `json:"sectionName"`
				Port        int     `json:"port"`
			} `json:"parentRef"`
			ControllerName string          `json:"controllerName"`
			Conditions     []kubeCondition `json:"conditions"`
		} `json:"parents"`
	} `json:"status"`
}

// judgeRoute says what the route still waits for, or why it failed.
func judgeRoute(r Route, obj map[string]any) (waiting, failed string) {
	var st routeStatus
	if err := fromUnstructured(obj, &st); err != nil {
		return "", fmt.Sprintf("HTTPRoute %s/%s: unreadable status: %v", r.Namespace, r.Name, err)
	}
	gen := st.Metadata.Generation
	for _, p := range r.Parents {
		ns := p.Namespace
		if ns == "" {
			ns = r.Namespace
		}
		found := false
		for _, sp := range st.Status.Parents {
			ref := sp.ParentRef
			kind := "Gateway"
			if ref.Kind != nil {
				kind = *ref.Kind
			}
			refNS := ref.Namespace
			if refNS == "" {
				refNS = r.Namespace
			}
			if ref.Name != p.Name || refNS != ns || kind != p.kind() || ref.SectionName != p.SectionName || ref.Port != p.Port {
				continue
			}
			found = true
			for _, typ := range []string{"Accepted", "ResolvedRefs"} {
				c := findCondition(sp.Conditions, typ)
				switch {
				case c == nil || c.ObservedGeneration != gen:
					return fmt.Sprintf("HTTPRoute %s/%s: %s has not reported %s for generation %d yet", r.Namespace, r.Name, p, typ, gen), ""
				case c.Status == "False":
					return "", fmt.Sprintf("HTTPRoute %s/%s: %s reports %s=False: %s: %s", r.Namespace, r.Name, p, typ, c.Reason, c.Message)
				case c.Status != "True":
					return fmt.Sprintf("HTTPRoute %s/%s: %s reports %s=%s", r.Namespace, r.Name, p, typ, c.Status), ""
				}
			}
		}
		if !found {
			return fmt.Sprintf("HTTPRoute %s/%s: no status from %s yet (is a Gateway API controller running for it?)", r.Namespace, r.Name, p), ""
		}
	}
	return "", ""
}

// kubeLive reads an object through a dynamic client, for the kinds of
// liveKinds; a 404 is a nil map.
func kubeLive(ctx context.Context, client dynamic.Interface, ref ObjectRef) (map[string]any, error) {
	k, ok := liveKinds[schema.GroupKind{Group: ref.Group, Kind: ref.Kind}]
	if !ok {
		return nil, Permanent(fmt.Errorf("cannot read a %s: not a kind bgrender reads", ref.Kind))
	}
	version := ref.Version
	if version == "" {
		version = k.version
	}
	gvr := schema.GroupVersionResource{Group: ref.Group, Version: version, Resource: k.resource}
	u, err := client.Resource(gvr).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, kubeError(err)
	}
	return u.Object, nil
}

// Live reads an object through the Kubernetes API.
func (f *FluxKustomization) Live(ctx context.Context, ref ObjectRef) (map[string]any, error) {
	return kubeLive(ctx, f.Client, ref)
}

// Live reads an object through the Kubernetes API, which must be the
// Application's destination cluster (Argo CD's own).
func (a *ArgoCDKube) Live(ctx context.Context, ref ObjectRef) (map[string]any, error) {
	return kubeLive(ctx, a.Client, ref)
}

// Live reads an object of the app through the Argo CD server's resource
// API; an object the app does not have is a nil map.
func (a *ArgoCDREST) Live(ctx context.Context, ref ObjectRef) (map[string]any, error) {
	obj, err := a.liveObject(ctx, ArgoResource{Group: ref.Group, Version: ref.Version, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name})
	var ae *APIError
	if errors.As(err, &ae) && (ae.StatusCode == 404 || strings.Contains(strings.ToLower(ae.Message), "not found")) {
		return nil, nil
	}
	return obj, err
}
