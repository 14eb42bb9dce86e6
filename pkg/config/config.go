package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bgrender/bgrender/pkg/smoke"
	"github.com/bgrender/bgrender/pkg/state"
)

// File identifiers.
const (
	APIVersion = "bgrender.io/v1alpha1"
	Kind       = "App"
	// FileName is the config file's name inside an app directory.
	FileName = "bgrender.yaml"
	// DefaultIstioAPIVersion is used for VirtualService, DestinationRule and Gateway.
	DefaultIstioAPIVersion = "networking.istio.io/v1"
)

// Config is one app's bgrender.yaml.
type Config struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	// App names the Service, Deployments (<app>-<color>) and routes.
	App       string `yaml:"app"`
	Namespace string `yaml:"namespace"`
	// Image is the repository; a release runs <image>:<version>.
	Image string `yaml:"image"`
	// Container names the container of the template's Deployment that
	// gets the image; empty means the only one, or the one named after
	// the app.
	Container string `yaml:"container,omitempty"`
	Port      int    `yaml:"port"`
	// Env are literal, non-secret environment variables of the container.
	Env []EnvVar `yaml:"env,omitempty"`
	// SecretEnv adds envFrom the Secret <app>-env-<color> to each color's
	// container: per-color secrets (the classic env-blue / env-green) are
	// referenced, never written to git.
	SecretEnv     bool   `yaml:"secretEnv,omitempty"`
	ReadinessPath string `yaml:"readinessPath"`
	// Routing is istio (the default, also when empty) or gateway-api.
	Routing string `yaml:"routing,omitempty"`
	// Gateway and Istio are the Istio routing's; GatewayAPI the Gateway
	// API's.
	Gateway    Gateway    `yaml:"gateway,omitempty"`
	TestRoute  Test       `yaml:"testRoute"`
	Istio      Istio      `yaml:"istio,omitempty"`
	GatewayAPI GatewayAPI `yaml:"gatewayAPI,omitempty"`
	// Standby shapes the warm standby color after a promote.
	Standby Standby `yaml:"standby,omitempty"`
	// Provided lists what the pods use that something outside git makes
	// (an operator, a secret store): check does not ask the app to declare
	// it.
	Provided Provided `yaml:"provided,omitempty"`
	// Wait names the GitOps controller that applies the app dir.
	Wait Wait `yaml:"wait,omitempty"`
	// Verify declares the smoke checks run through the test route.
	Verify smoke.Spec `yaml:"verify,omitempty"`
	// Hooks are commands run as Jobs for a release: migrations and
	// in-cluster tests.
	Hooks []Hook `yaml:"hooks,omitempty"`
	// Analysis judges a release by its metrics in Prometheus.
	Analysis *Analysis `yaml:"analysis,omitempty"`
	// Notify are the places told about each transition that lands and each
	// release's outcome.
	Notify []NotifyTarget `yaml:"notify,omitempty"`
}

// Standby shapes the warm standby: the previous active color, kept for a
// rollback.
type Standby struct {
	// Replicas, when set, is the standby Deployment's size (0 or more); its
	// autoscalers are removed while it is the standby. A rollback brings it
	// back to full size in the same commit, so the rollback waits for the
	// pods to start. Unset: it keeps the size it had when live.
	Replicas *int `yaml:"replicas,omitempty"`
}

// Provided names ConfigMaps and Secrets made outside git, by the names the
// pods use (a per-color one with its -<color> suffix).
type Provided struct {
	ConfigMaps []string `yaml:"configMaps,omitempty"`
	Secrets    []string `yaml:"secrets,omitempty"`
}

func (p Provided) validate() error {
	for _, list := range []struct {
		field string
		names []string
	}{{"configMaps", p.ConfigMaps}, {"secrets", p.Secrets}} {
		for i, n := range list.names {
			if len(n) > 253 || !dns1123Subdomain.MatchString(n) {
				return fmt.Errorf("provided.%s[%d] %q: must be a DNS-1123 name", list.field, i, n)
			}
		}
	}
	return nil
}

// EnvVar is a literal environment variable.
type EnvVar struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// credentialName matches variable names that hold credentials.
var credentialName = regexp.MustCompile(`(?i)(pass(word|wd)?|secret|token|api_?key|private_?key|credential|auth)`)

// envName is a C identifier, the portable environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func validateEnv(env []EnvVar, secretEnv bool) error {
	seen := map[string]bool{}
	for i, v := range env {
		field := fmt.Sprintf("env[%d]", i)
		if !envName.MatchString(v.Name) {
			return fmt.Errorf("%s.name %q: must be letters, digits and '_', not starting with a digit", field, v.Name)
		}
		if seen[v.Name] {
			return fmt.Errorf("%s.name %q: set twice", field, v.Name)
		}
		seen[v.Name] = true
		if credentialName.MatchString(v.Name) {
			return fmt.Errorf("%s %s: looks like a credential, and bgrender.yaml is committed to git: put it in the Secret %s and set secretEnv: true", field, v.Name, "<app>-env-<color>")
		}
		if strings.ContainsAny(v.Value, "\x00") {
			return fmt.Errorf("%s.value: must not contain NUL", field)
		}
	}
	return nil
}

// Gateway is the Istio Gateway the VirtualService binds to.
type Gateway struct {
	Name  string   `yaml:"name"`
	Hosts []string `yaml:"hosts"`
}

// Test selects the requests that go to the release under test. Exactly one of
// Cookie or Header is set.
type Test struct {
	Cookie *Cookie `yaml:"cookie,omitempty"`
	Header *Header `yaml:"header,omitempty"`
}

// Cookie matches a cookie name=value anywhere in the Cookie header.
type Cookie struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// Header matches a request header with an exact value.
type Header struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// Istio holds the Istio API details.
type Istio struct {
	APIVersion string `yaml:"apiVersion"`
	// Bind says which traffic the routes govern: "gateway" (requests
	// through the app's Gateway), "mesh" (calls from pods of the mesh to
	// the app's Service; no Gateway) or "both", the default: with the
	// gateway alone, in-mesh callers reach both colors through the Service,
	// so the release under test would get production traffic.
	Bind string `yaml:"bind,omitempty"`
}

// Bindings of the routes.
const (
	BindBoth    = "both"
	BindGateway = "gateway"
	BindMesh    = "mesh"
)

// Gateway reports whether the routes bind to the app's Gateway; Mesh,
// whether they bind to the mesh.
func (i Istio) Gateway() bool { return i.Bind != BindMesh }
func (i Istio) Mesh() bool    { return i.Bind != BindGateway }

// Default returns the configuration `bgrender init` writes.
func Default(app, image string) Config {
	c := Config{App: app, Image: image}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.APIVersion == "" {
		c.APIVersion = APIVersion
	}
	if c.Kind == "" {
		c.Kind = Kind
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	if c.Port == 0 {
		c.Port = 3000
	}
	if c.ReadinessPath == "" {
		c.ReadinessPath = "/ready"
	}
	if c.TestRoute.Cookie == nil && c.TestRoute.Header == nil {
		c.TestRoute.Cookie = &Cookie{Name: "test", Value: "true"}
	}
	if c.Routing == RoutingGatewayAPI {
		if c.GatewayAPI.Bind == "" {
			c.GatewayAPI.Bind = BindGateway
		}
		return
	}
	if c.Gateway.Name == "" && c.App != "" {
		c.Gateway.Name = c.App + "-gateway"
	}
	if len(c.Gateway.Hosts) == 0 {
		c.Gateway.Hosts = []string{"*"}
	}
	if c.Istio.APIVersion == "" {
		c.Istio.APIVersion = DefaultIstioAPIVersion
	}
	if c.Istio.Bind == "" {
		c.Istio.Bind = BindBoth
	}
}

// DefaultGatewayAPI returns the configuration `bgrender init --routing
// gateway-api` writes: the HTTPRoute attached to the Gateway parent.
func DefaultGatewayAPI(app, image string, parent ParentRef, hostnames []string) Config {
	c := Config{App: app, Image: image, Routing: RoutingGatewayAPI}
	c.GatewayAPI.ParentRefs = []ParentRef{parent}
	c.GatewayAPI.Hostnames = hostnames
	c.applyDefaults()
	return c
}

// Parse reads bgrender.yaml, applies defaults and validates it. name is the
// file's path, used in messages.
func Parse(name string, data []byte) (Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("%s: empty file", name)
		}
		return Config{}, fmt.Errorf("%s: %w", name, explainUnknownFields(err))
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// Marshal writes c as bgrender.yaml.
func Marshal(c Config) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	return buf.Bytes(), nil
}

var (
	// imageRepo is the OCI distribution reference grammar for a repository
	// (optional registry host and port, lowercase path components).
	imageRepo = regexp.MustCompile(`^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(:[0-9]+)?/)?[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	// dns1123Subdomain names namespaces and gateways.
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// hostPattern is an Istio host: "*", "*.example.com" or a DNS name, optionally namespace/-prefixed.
	hostPattern = regexp.MustCompile(`^(\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$`)
	// httpPath is an absolute URL path without spaces or control characters.
	httpPath = regexp.MustCompile(`^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$`)
	// token is the RFC 7230 token grammar, used for cookie and header names.
	token = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")
	// cookieValue is the RFC 6265 cookie-octet grammar.
	cookieValue = regexp.MustCompile(`^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$`)
	// headerValue is a visible-ASCII header value without leading or trailing space.
	headerValue = regexp.MustCompile(`^[\x21-\x7E]([\x20-\x7E]*[\x21-\x7E])?$`)
	apiVersion  = regexp.MustCompile(`^[a-z0-9.-]+/v[0-9]+((alpha|beta)[0-9]+)?$`)
)

// ValidateImage checks an image repository (no tag or digest: the version is the tag).
func ValidateImage(image string) error {
	if image == "" {
		return errors.New("image: must name the image repository, e.g. ghcr.io/acme/myapp")
	}
	if strings.ContainsAny(image, "@") || (strings.Contains(image, ":") && !imageRepo.MatchString(image)) {
		return fmt.Errorf("image %q: give the repository without a tag or digest; the release version is the tag", image)
	}
	if len(image) > 255 || !imageRepo.MatchString(image) {
		return fmt.Errorf("image %q: not a valid image repository (lowercase path components separated by '/', optional registry host)", image)
	}
	return nil
}

// Validate checks every field, naming the field in errors.
func (c Config) Validate() error {
	if c.APIVersion != APIVersion {
		return fmt.Errorf("apiVersion %q: want %q", c.APIVersion, APIVersion)
	}
	if c.Kind != Kind {
		return fmt.Errorf("kind %q: want %q", c.Kind, Kind)
	}
	if err := state.ValidateAppName(c.App); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	if len(c.Namespace) > 63 || !dns1123Subdomain.MatchString(c.Namespace) || strings.Contains(c.Namespace, ".") {
		return fmt.Errorf("namespace %q: must be a DNS-1123 label", c.Namespace)
	}
	if err := ValidateImage(c.Image); err != nil {
		return err
	}
	if err := validateEnv(c.Env, c.SecretEnv); err != nil {
		return err
	}
	if c.Container != "" && (len(c.Container) > 63 || !dns1123Subdomain.MatchString(c.Container) || strings.Contains(c.Container, ".")) {
		return fmt.Errorf("container %q: must be a container name (a DNS-1123 label)", c.Container)
	}
	if err := c.Provided.validate(); err != nil {
		return err
	}
	if r := c.Standby.Replicas; r != nil && (*r < 0 || *r > 10000) {
		return fmt.Errorf("standby.replicas %d: must be between 0 and 10000", *r)
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("port %d: must be between 1 and 65535", c.Port)
	}
	if !httpPath.MatchString(c.ReadinessPath) {
		return fmt.Errorf("readinessPath %q: must be an absolute URL path such as /ready", c.ReadinessPath)
	}
	if err := c.validateRouting(); err != nil {
		return err
	}
	if err := c.TestRoute.validate(); err != nil {
		return err
	}
	if err := validateHooks(c.App, c.Hooks); err != nil {
		return err
	}
	if c.Analysis != nil {
		if err := c.Analysis.Validate(); err != nil {
			return err
		}
	}
	if err := validateNotify(c.Notify); err != nil {
		return err
	}
	if err := c.Wait.Validate(); err != nil {
		return err
	}
	return c.Verify.Validate()
}

func (c Config) validateIstio() error {
	if len(c.Gateway.Name) > 253 || !dns1123Subdomain.MatchString(c.Gateway.Name) {
		return fmt.Errorf("gateway.name %q: must be a DNS-1123 name", c.Gateway.Name)
	}
	for i, h := range c.Gateway.Hosts {
		if !hostPattern.MatchString(h) {
			return fmt.Errorf("gateway.hosts[%d] %q: must be \"*\", \"*.example.com\" or a DNS name", i, h)
		}
	}
	if !apiVersion.MatchString(c.Istio.APIVersion) || !strings.HasPrefix(c.Istio.APIVersion, "networking.istio.io/") {
		return fmt.Errorf("istio.apiVersion %q: must be networking.istio.io/<version>, e.g. %s", c.Istio.APIVersion, DefaultIstioAPIVersion)
	}
	switch c.Istio.Bind {
	case BindBoth, BindGateway, BindMesh:
	default:
		return fmt.Errorf("istio.bind %q: must be both, gateway or mesh", c.Istio.Bind)
	}
	return nil
}

func (t Test) validate() error {
	switch {
	case t.Cookie != nil && t.Header != nil:
		return errors.New("testRoute: set either cookie or header, not both")
	case t.Cookie != nil:
		if !token.MatchString(t.Cookie.Name) {
			return fmt.Errorf("testRoute.cookie.name %q: must be a cookie name (letters, digits and !#$%%&'*+-.^_`|~)", t.Cookie.Name)
		}
		if !cookieValue.MatchString(t.Cookie.Value) {
			return fmt.Errorf("testRoute.cookie.value %q: must be a non-empty cookie value without spaces, quotes, ',', ';' or '\\'", t.Cookie.Value)
		}
	case t.Header != nil:
		if !token.MatchString(t.Header.Name) || strings.ToLower(t.Header.Name) != t.Header.Name {
			return fmt.Errorf("testRoute.header.name %q: must be a lowercase HTTP header name (Istio matches header names in lowercase)", t.Header.Name)
		}
		if strings.EqualFold(t.Header.Name, "cookie") {
			return errors.New("testRoute.header.name: use testRoute.cookie to match a cookie")
		}
		if !headerValue.MatchString(t.Header.Value) {
			return fmt.Errorf("testRoute.header.value %q: must be printable ASCII without leading or trailing space", t.Header.Value)
		}
	default:
		return errors.New("testRoute: set cookie or header")
	}
	return nil
}
