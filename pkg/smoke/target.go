package smoke

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/bgrender/bgrender/pkg/state"
)

// Target is where the checks go and which release must answer them.
type Target struct {
	// GatewayURL is the Istio ingress gateway's base URL, e.g.
	// http://127.0.0.1:8080 (a port-forward) or https://gw.example.com.
	GatewayURL string
	// Host is sent as the Host header; the VirtualService matches it
	// against its hosts (config gateway.hosts; pick a concrete name, not a
	// wildcard). Empty: the host of GatewayURL. For an https GatewayURL the
	// TLS server name stays the URL's host; if the gateway selects its
	// certificate by SNI, set Runner.Client's TLSClientConfig.ServerName.
	Host string
	// Selector makes the gateway take the test route. The zero Selector
	// takes the default route, for checks after promotion.
	Selector Selector
	// Release must answer every request: its Version or ID, according to
	// Identity.Value, must be the identity the responses carry.
	Release state.Release
}

// SelectorKind says how a Selector marks a request.
type SelectorKind string

// The selector kinds; the empty kind is the default route.
const (
	SelectorCookie SelectorKind = "cookie"
	SelectorHeader SelectorKind = "header"
)

// Selector marks requests for the test route, as config testRoute does: a
// cookie name=value or a header with an exact value. The zero Selector marks
// nothing: requests take the default route.
type Selector struct {
	Kind  SelectorKind
	Name  string
	Value string
}

// CookieSelector selects the test route with the cookie name=value.
func CookieSelector(name, value string) Selector {
	return Selector{Kind: SelectorCookie, Name: name, Value: value}
}

// HeaderSelector selects the test route with the request header name: value.
func HeaderSelector(name, value string) Selector {
	return Selector{Kind: SelectorHeader, Name: name, Value: value}
}

// IsZero reports whether s is the default route.
func (s Selector) IsZero() bool { return s == Selector{} }

// String describes s: "cookie test=true", "header x-canary: 1", or
// "default route".
func (s Selector) String() string {
	switch s.Kind {
	case SelectorCookie:
		return fmt.Sprintf("cookie %s=%s", s.Name, s.Value)
	case SelectorHeader:
		return fmt.Sprintf("header %s: %s", s.Name, s.Value)
	}
	return "default route"
}

// cookieValue is the RFC 6265 cookie-octet grammar.
var cookieValue = regexp.MustCompile(`^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$`)

func (s Selector) validate() error {
	switch s.Kind {
	case "":
		if s.Name != "" || s.Value != "" {
			return fmt.Errorf("selector %q: has a name or value but no kind", s.Name)
		}
	case SelectorCookie:
		if !token.MatchString(s.Name) {
			return fmt.Errorf("selector cookie name %q: not a cookie name", s.Name)
		}
		if !cookieValue.MatchString(s.Value) {
			return fmt.Errorf("selector cookie value %q: not a cookie value (no spaces, quotes, ',', ';' or '\\')", s.Value)
		}
	case SelectorHeader:
		if !token.MatchString(s.Name) {
			return fmt.Errorf("selector header name %q: not an HTTP header name", s.Name)
		}
		if _, ok := reserved[http.CanonicalHeaderKey(s.Name)]; ok {
			return fmt.Errorf("selector header name %q: not allowed (use a cookie selector to match a cookie)", s.Name)
		}
		if s.Value == "" || !validHeaderValue(s.Value) {
			return fmt.Errorf("selector header value %q: must be non-empty, without control characters", s.Value)
		}
	default:
		return fmt.Errorf("selector kind %q: must be %q, %q or empty", s.Kind, SelectorCookie, SelectorHeader)
	}
	return nil
}

// apply marks h. Checks cannot set Cookie (Validate refuses it), so the
// selector's cookie is the whole Cookie header.
func (s Selector) apply(h http.Header) {
	switch s.Kind {
	case SelectorCookie:
		h.Set("Cookie", s.Name+"="+s.Value)
	case SelectorHeader:
		h.Set(s.Name, s.Value)
	}
}

// endpoint is a validated Target.
type endpoint struct {
	base *url.URL
	host string
}

func (t Target) endpoint() (endpoint, error) {
	u, err := url.Parse(t.GatewayURL)
	if err != nil {
		return endpoint{}, fmt.Errorf("gateway URL %q: %w", t.GatewayURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
		return endpoint{}, fmt.Errorf("gateway URL %q: want http(s)://host[:port] with no path, e.g. http://127.0.0.1:8080", t.GatewayURL)
	}
	host := t.Host
	if host == "" {
		host = u.Host
	}
	if strings.Contains(host, "*") {
		return endpoint{}, fmt.Errorf("host %q: a wildcard cannot be sent as a Host header; pick a concrete host the VirtualService matches", host)
	}
	if strings.ContainsAny(host, " /?#@\t\r\n") || !validHeaderValue(host) {
		return endpoint{}, fmt.Errorf("host %q: not a host name", host)
	}
	if err := t.Selector.validate(); err != nil {
		return endpoint{}, err
	}
	base := *u
	base.Path, base.RawPath = "", ""
	return endpoint{base: &base, host: host}, nil
}

// url joins the gateway URL and a validated request path (with query). The
// path is parsed after a dummy authority so that "//x" stays a path.
func (e endpoint) url(path string) (string, error) {
	p, err := url.Parse("http://x" + path)
	if err != nil {
		return "", fmt.Errorf("path %q: %w", path, err)
	}
	u := *e.base
	u.Path, u.RawPath, u.RawQuery = p.Path, p.RawPath, p.RawQuery
	return u.String(), nil
}
