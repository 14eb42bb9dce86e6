package smoke

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Defaults applied by Spec.WithDefaults (and by Run, which calls it).
const (
	DefaultTimeout         = 2 * time.Minute // Spec.Timeout: all of verification
	DefaultCheckTimeout    = 5 * time.Second // Check.Timeout and Identity.Timeout: one attempt
	DefaultRetries         = 3               // Check.Retries
	DefaultIdentityRetries = 5               // Identity.Retries: covers route propagation to Envoy
	DefaultStatus          = http.StatusOK   // Expect.Status
	DefaultMethod          = http.MethodGet  // Check.Method
	DefaultIdentityPath    = "/"             // Identity.Path when no check is a GET
)

// The values of Identity.Value.
const (
	IdentityVersion = "version" // the response must carry the release's version (default)
	IdentityRelease = "release" // the response must carry the release's id
)

// FieldPrefix is the key Spec sits under in bgrender.yaml; Validate names
// fields from there, e.g. "verify.checks[1].expect.status".
const FieldPrefix = "verify"

// Spec is the `verify:` section of bgrender.yaml: how to prove which release
// answers, and the smoke checks to run against it. The zero value is a valid,
// unconfigured spec (Run returns ErrNotConfigured for it).
//
// Zero values mean "the default"; WithDefaults fills them in, and Run does so
// itself, so a config file does not need to store them.
type Spec struct {
	// Identity says how a response proves which release answered it.
	// Required (Header or JSONField) when there are checks.
	Identity Identity `yaml:"identity,omitempty" json:"identity,omitempty"`
	// Checks run in order, each with its own retries.
	Checks []Check `yaml:"checks,omitempty" json:"checks,omitempty"`
	// Timeout bounds all of verification: identity proof, checks and the
	// waits between retries. Default 2m.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Identity says how a response proves which release answered: the app puts
// its version (or release id) in a response header or a JSON field. Exactly
// one of Header and JSONField is set.
type Identity struct {
	// Path is requested (GET) to prove identity before the checks run.
	// Default: the path of the first GET check, else "/". Set it explicitly
	// when identity is a JSON field that only one path returns, e.g. /version.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Header is the response header carrying the identity, e.g. x-app-version.
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	// JSONField is a dotted path into a JSON response body, e.g. "version"
	// or "build.release"; a numeric segment indexes an array ("items.0.id").
	JSONField string `yaml:"jsonField,omitempty" json:"jsonField,omitempty"`
	// Value names what must appear: "version" (default), the release's
	// version, or "release", the release's id.
	Value string `yaml:"value,omitempty" json:"value,omitempty"`
	// Timeout bounds one identity request. Default 5s.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Retries is how many more identity requests are made, with exponential
	// backoff, while the identity is missing or another release answers:
	// the route may not have reached Envoy yet. Default 5; 0 means one try.
	Retries *int `yaml:"retries,omitempty" json:"retries,omitempty"`
}

// Check is one smoke request and what its response must look like.
type Check struct {
	// Name identifies the check in reports. Default "<METHOD> <path>".
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Method is GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
	Method string `yaml:"method,omitempty" json:"method,omitempty"`
	// Path is the request path with an optional query, e.g. /api/items?limit=1.
	Path string `yaml:"path" json:"path"`
	// Headers are added to the request. Cookie and Host are not allowed:
	// bgrender sets them (the test route's cookie, the gateway host).
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Body is sent as the request body, byte for byte.
	Body   string `yaml:"body,omitempty" json:"body,omitempty"`
	Expect Expect `yaml:"expect,omitempty" json:"expect,omitempty"`
	// Timeout bounds one attempt (request and reading the body). Default 5s.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Retries is how many more attempts are made, with exponential backoff,
	// after a failed one. Default 3; 0 means one attempt (for requests that
	// must not be repeated).
	Retries *int `yaml:"retries,omitempty" json:"retries,omitempty"`
}

// Expect is what a check's response must satisfy; all given conditions must hold.
type Expect struct {
	// Status is the exact response status. Default 200. Redirects are not
	// followed, so a 3xx can be expected.
	Status int `yaml:"status,omitempty" json:"status,omitempty"`
	// BodyContains must appear in the body (the first 1 MiB).
	BodyContains string `yaml:"bodyContains,omitempty" json:"bodyContains,omitempty"`
	// BodyRegex (RE2) must match somewhere in the body (the first 1 MiB).
	BodyRegex string `yaml:"bodyRegex,omitempty" json:"bodyRegex,omitempty"`
	// JSON lists fields of a JSON body and the values they must have.
	JSON []JSONExpect `yaml:"json,omitempty" json:"json,omitempty"`
}

// JSONExpect requires a JSON body's field to have a value.
type JSONExpect struct {
	// Field is a dotted path, e.g. "status" or "db.ok"; a numeric segment
	// indexes an array ("items.0.id").
	Field string `yaml:"field" json:"field"`
	// Equals is compared with the field's value written as JSON text without
	// quotes: a string as is, 12, 1.5, true, false or null. Objects and
	// arrays never equal anything.
	Equals string `yaml:"equals" json:"equals"`
}

// Duration is a time.Duration written in YAML and JSON as a Go duration
// string, e.g. "5s" or "1m30s".
type Duration struct{ time.Duration }

// D makes a Duration.
func D(d time.Duration) Duration { return Duration{d} }

// IsZero reports whether d is zero, so that omitempty leaves it out.
func (d Duration) IsZero() bool { return d.Duration == 0 }

// String writes d like time.Duration, without trailing zero units: 2m, 1h30m, 1.5s.
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalYAML writes d as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string such as "5s", "1m30s" or "0".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 5s or 1m30s", n.Line)
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"5s\": %w", err)
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write it with a unit, such as 5s or 1m30s", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q: a duration must not be negative", s)
	}
	return v, nil
}

// Configured reports whether the spec asks for any verification: an identity
// source or at least one check.
func (s Spec) Configured() bool {
	return len(s.Checks) > 0 || s.Identity.Header != "" || s.Identity.JSONField != ""
}

// WithDefaults returns a copy of s with every zero value that has a default
// filled in. It does not validate, it is idempotent, and it does not share
// slices, maps or pointers with s. An unconfigured spec (see Configured) is
// returned as it is, so that a config without a verify section stays empty.
func (s Spec) WithDefaults() Spec {
	if !s.Configured() {
		return s
	}
	out := s
	if out.Timeout.Duration == 0 {
		out.Timeout = D(DefaultTimeout)
	}
	out.Checks = make([]Check, len(s.Checks))
	for i, c := range s.Checks {
		if c.Method == "" {
			c.Method = DefaultMethod
		}
		if c.Name == "" {
			c.Name = c.Method + " " + c.Path
		}
		c.Headers = maps.Clone(c.Headers)
		if c.Expect.Status == 0 {
			c.Expect.Status = DefaultStatus
		}
		c.Expect.JSON = append([]JSONExpect(nil), c.Expect.JSON...)
		if c.Timeout.Duration == 0 {
			c.Timeout = D(DefaultCheckTimeout)
		}
		c.Retries = intOr(c.Retries, DefaultRetries)
		out.Checks[i] = c
	}
	if out.Identity.Value == "" {
		out.Identity.Value = IdentityVersion
	}
	if out.Identity.Path == "" {
		out.Identity.Path = DefaultIdentityPath
		for _, c := range out.Checks {
			if c.Method == http.MethodGet {
				out.Identity.Path = c.Path
				break
			}
		}
	}
	if out.Identity.Timeout.Duration == 0 {
		out.Identity.Timeout = D(DefaultCheckTimeout)
	}
	out.Identity.Retries = intOr(out.Identity.Retries, DefaultIdentityRetries)
	return out
}

func intOr(p *int, def int) *int {
	v := def
	if p != nil {
		v = *p
	}
	return &v
}

// FieldError reports an invalid field of the spec. Field is the path as it
// appears in bgrender.yaml, e.g. "verify.checks[1].expect.status".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Limits on retries, so that a typo cannot make verify spin for hours.
const maxRetries = 100

var (
	// token is the RFC 9110 token grammar, for header names.
	token = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")
	// requestPath is an absolute path with an optional query: no spaces,
	// control characters or fragment.
	requestPath = regexp.MustCompile(`^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*(\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?$`)
	methods     = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	// reserved are request headers bgrender or net/http set, which a check
	// must not override.
	reserved = map[string]string{
		"Cookie":            "bgrender sets the test route's cookie",
		"Host":              "bgrender sets the gateway host",
		"Content-Length":    "it is computed from body",
		"Transfer-Encoding": "it is set by the HTTP client",
		"Connection":        "it is set by the HTTP client",
	}
)

// Validate checks every field (zero values stand for their defaults) and
// returns a *FieldError naming the first bad field, e.g.
// "verify.checks[1].expect.status: 42 is not an HTTP status code (100-599)".
func (s Spec) Validate() error {
	if s.Timeout.Duration < 0 {
		return fieldErr(FieldPrefix+".timeout", "%s must not be negative", s.Timeout)
	}
	if err := s.Identity.validate(len(s.Checks) > 0); err != nil {
		return err
	}
	for i, c := range s.Checks {
		if err := c.validate(fmt.Sprintf("%s.checks[%d]", FieldPrefix, i)); err != nil {
			return err
		}
	}
	return nil
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

func (id Identity) validate(haveChecks bool) error {
	const f = FieldPrefix + ".identity"
	switch {
	case id.Header != "" && id.JSONField != "":
		return fieldErr(f, "set either header or jsonField, not both")
	case id.Header == "" && id.JSONField == "":
		if haveChecks || id.Path != "" || id.Value != "" {
			return fieldErr(f, "set header (a response header carrying the version, e.g. x-app-version) or jsonField (e.g. version): smoke checks must prove which release answered")
		}
	case id.Header != "":
		if !token.MatchString(id.Header) {
			return fieldErr(f+".header", "%q is not an HTTP header name", id.Header)
		}
	default:
		if err := validateFieldPath(id.JSONField); err != nil {
			return fieldErr(f+".jsonField", "%q: %v", id.JSONField, err)
		}
	}
	if id.Path != "" && !requestPath.MatchString(id.Path) {
		return fieldErr(f+".path", "%q must be an absolute URL path such as /version", id.Path)
	}
	switch id.Value {
	case "", IdentityVersion, IdentityRelease:
	default:
		return fieldErr(f+".value", "%q must be %q or %q", id.Value, IdentityVersion, IdentityRelease)
	}
	if id.Timeout.Duration < 0 {
		return fieldErr(f+".timeout", "%s must not be negative", id.Timeout)
	}
	if id.Retries != nil && (*id.Retries < 0 || *id.Retries > maxRetries) {
		return fieldErr(f+".retries", "%d must be between 0 and %d", *id.Retries, maxRetries)
	}
	return nil
}

func (c Check) validate(f string) error {
	if c.Method != "" && !slices.Contains(methods, c.Method) {
		return fieldErr(f+".method", "%q must be one of %s", c.Method, strings.Join(methods, ", "))
	}
	if c.Path == "" {
		return fieldErr(f+".path", "required: the request path, e.g. /healthz")
	}
	if !requestPath.MatchString(c.Path) {
		return fieldErr(f+".path", "%q must be an absolute URL path with an optional query, e.g. /api/items?limit=1", c.Path)
	}
	if _, err := url.Parse("http://x" + c.Path); err != nil {
		return fieldErr(f+".path", "%q: %v", c.Path, err)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		hf := fmt.Sprintf("%s.headers[%q]", f, name)
		if !token.MatchString(name) {
			return fieldErr(hf, "not an HTTP header name")
		}
		if why, ok := reserved[http.CanonicalHeaderKey(name)]; ok {
			return fieldErr(hf, "not allowed: %s", why)
		}
		if v := c.Headers[name]; !validHeaderValue(v) {
			return fieldErr(hf, "%q: a header value must not contain control characters (newlines included)", v)
		}
	}
	if c.Timeout.Duration < 0 {
		return fieldErr(f+".timeout", "%s must not be negative", c.Timeout)
	}
	if c.Retries != nil && (*c.Retries < 0 || *c.Retries > maxRetries) {
		return fieldErr(f+".retries", "%d must be between 0 and %d", *c.Retries, maxRetries)
	}
	e := c.Expect
	if e.Status != 0 && (e.Status < 100 || e.Status > 599) {
		return fieldErr(f+".expect.status", "%d is not an HTTP status code (100-599)", e.Status)
	}
	if e.BodyRegex != "" {
		if _, err := regexp.Compile(e.BodyRegex); err != nil {
			return fieldErr(f+".expect.bodyRegex", "not an RE2 regular expression: %v", err)
		}
	}
	for j, je := range e.JSON {
		if err := validateFieldPath(je.Field); err != nil {
			return fieldErr(fmt.Sprintf("%s.expect.json[%d].field", f, j), "%q: %v", je.Field, err)
		}
	}
	if c.Method == http.MethodHead && (e.BodyContains != "" || e.BodyRegex != "" || len(e.JSON) > 0) {
		return fieldErr(f+".expect", "a HEAD response has no body to check")
	}
	return nil
}

func validateFieldPath(p string) error {
	if p == "" {
		return errors.New("required: a dotted field path such as version or build.release")
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return errors.New("empty segment in dotted path")
		}
	}
	return nil
}

// validHeaderValue refuses control characters other than tab, so a value
// cannot add a header or split the request.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
