package wait

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeClient returns a dynamic client for the cluster that a kubeconfig
// names, the way kubectl finds it: the file at kubeconfig if given, else the
// files in $KUBECONFIG, else ~/.kube/config; with context, or the current
// context if context is "". Its errors never include credentials.
func KubeClient(kubeconfig, context string) (dynamic.Interface, error) {
	cfg, err := KubeConfig(kubeconfig, context)
	if err != nil {
		return nil, err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("make a Kubernetes client for %s: %w", cfg.Host, err)
	}
	return client, nil
}

// KubeConfig is the REST configuration that KubeClient uses.
func KubeConfig(kubeconfig, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := loader.ClientConfig()
	if err != nil {
		where := kubeconfig
		if where == "" {
			where = strings.Join(rules.GetLoadingPrecedence(), string(filepath.ListSeparator))
		}
		msg := redactSecrets(err.Error(), rules)
		if context != "" {
			return nil, fmt.Errorf("load kubeconfig %s (context %q): %w", where, context, errors.New(msg))
		}
		return nil, fmt.Errorf("load kubeconfig %s: %w", where, errors.New(msg))
	}
	cfg.UserAgent = "bgrender"
	return cfg, nil
}

// redactSecrets removes from msg any credential that the kubeconfig files
// hold, in case a parse or validation error quotes one. The files are read
// again, since a failed load leaves nothing to look at.
func redactSecrets(msg string, rules *clientcmd.ClientConfigLoadingRules) string {
	var secrets []string
	add := func(s string) {
		if len(s) >= 4 { // shorter strings are too likely to be words
			secrets = append(secrets, s)
		}
	}
	paths := rules.GetLoadingPrecedence()
	if rules.ExplicitPath != "" {
		paths = []string{rules.ExplicitPath}
	}
	for _, p := range paths {
		cfg, err := clientcmd.LoadFromFile(p)
		if err != nil {
			continue
		}
		for _, ai := range cfg.AuthInfos {
			addAuthInfo(ai, add)
		}
	}
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "REDACTED")
	}
	return msg
}

func addAuthInfo(ai *clientcmdapi.AuthInfo, add func(string)) {
	if ai == nil {
		return
	}
	add(ai.Token)
	add(ai.Password)
	add(string(ai.ClientKeyData))
	if ai.AuthProvider != nil {
		for _, v := range ai.AuthProvider.Config {
			add(v)
		}
	}
}

// kubeError classifies an error of the Kubernetes API for Wait: 401 and 403
// match ErrUnauthorized, 404 (no such object, or no such resource type: the
// CRD is not installed) ErrNotFound, and those are permanent. Others are
// returned as they are, and Wait retries them.
func kubeError(err error) error {
	switch {
	case apierrors.IsUnauthorized(err), apierrors.IsForbidden(err):
		return &kubeAPIError{err: err, kind: ErrUnauthorized}
	case apierrors.IsNotFound(err):
		return &kubeAPIError{err: err, kind: ErrNotFound}
	}
	return err
}

type kubeAPIError struct {
	err  error // the *apierrors.StatusError
	kind error // ErrUnauthorized or ErrNotFound
}

func (e *kubeAPIError) Error() string   { return e.err.Error() }
func (e *kubeAPIError) Unwrap() []error { return []error{e.err, e.kind} }
func (e *kubeAPIError) Permanent() bool { return true }

// fromUnstructured decodes an unstructured object into a typed one through
// JSON, the way the API server's JSON reaches a typed client.
func fromUnstructured(obj map[string]any, into any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}
