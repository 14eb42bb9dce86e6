package smoketest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/pkg/state"
)

// Rule is one http rule of the VirtualService, as bgrender renders it: a
// match on the Cookie header (a regex that must match the whole header, as
// Envoy's safe_regex does) and/or on a header with an exact value, routing to
// the subset of one color. A rule with neither condition matches every
// request: it is the default rule.
type Rule struct {
	// Name is the rule's name (the VirtualService's http[].name), recorded
	// in Routed.
	Name string
	// CookieRegex (RE2) must match the whole Cookie header; a request
	// without a Cookie header does not match. Build it with
	// render.CookieRegex to test what bgrender renders.
	CookieRegex string
	// HeaderName must be present with exactly the value HeaderExact.
	HeaderName, HeaderExact string
	// Color is the subset the rule routes to.
	Color state.Color
}

// Routed records one routing decision of a Gateway.
type Routed struct {
	Method, Path, Host string
	// Rule is the matched rule's name; "" when no rule matched (404).
	Rule  string
	Color state.Color
	// Status is the status the gateway sent back.
	Status int
}

type compiledRule struct {
	Rule
	cookie *regexp.Regexp
}

// Gateway stands in for the Istio ingress gateway, that is the Envoy proxy
// running the routes istiod programs from the app's VirtualService, which
// cannot run in a unit test. For each request it evaluates the rules like
// Envoy evaluates the VirtualService's http rules: the Host header must match
// one of the hosts (SetHosts; default "*"), then the first rule whose
// conditions all hold wins (the test rule: the Cookie header matched in full
// against an RE2 regex, or a header with an exact value; then the default
// rule with no conditions), and the request is proxied, Host header
// unchanged, to that color's App. Like Envoy it answers 404 with an empty body
// when no rule matches (response flag NR), 503 "no healthy upstream" when the
// color has no App (UH), and 503 "upstream connect error" when the App cannot
// be reached. SetRoutes swaps the rules atomically while it runs, to simulate
// istiod re-programming the route.
//
// It does not do: TLS, SNI or Gateway server/port matching; DestinationRule
// subsets, load balancing or traffic policy (a color is one App); route
// weights, mirroring, rewrites, redirects, retries, timeouts or fault
// injection; uri, method or query matches; header manipulation or
// x-forwarded-*/x-envoy-* headers; propagation delay (a change is instant,
// and all "gateway replicas" agree). It reads no YAML: the test gives the
// rules, so a test proves the runner against routing it describes, not that
// bgrender renders that routing (the render tests do that).
type Gateway struct {
	// URL is the gateway's base URL, the smoke.Target's GatewayURL.
	URL string

	t        testing.TB
	srv      *httptest.Server
	backends map[state.Color]*App
	proxies  map[state.Color]*httputil.ReverseProxy

	// mesh: a caller's sidecar (StartMeshCaller), not the ingress gateway.
	mesh bool

	mu     sync.Mutex
	rules  []compiledRule
	hosts  []string
	routed []Routed
	next   int // round robin over the Service's endpoints (mesh)
}

// StartGateway starts a Gateway in front of backends (color -> App), with no
// rules yet (every request gets 404) and hosts "*". It is closed when the
// test ends.
func StartGateway(t testing.TB, backends map[state.Color]*App) *Gateway {
	t.Helper()
	g := &Gateway{t: t, hosts: []string{"*"}}
	g.SetBackends(backends)
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.srv.URL
	t.Cleanup(g.srv.Close)
	return g
}

// StartMeshCaller starts a stand-in for the sidecar of a pod inside the mesh
// that calls the app's Service by name (Host "<app>" or
// "<app>.<ns>.svc.cluster.local"). Envoy cannot run here either. With rules
// (SetRoutes, from the VirtualService bound to "mesh", and SetHosts, its
// hosts) it routes as Gateway does. With no rules, or for a host that no
// rule set covers, there is no VirtualService for the call, and the sidecar
// sends it to the Service's endpoints: the pods of every color, here each
// App in turn (by color, sorted; an app's pods from before bgrender may
// have none, or "adopted"), recorded with Rule "". That is what
// makes an unbound release under test take production calls.
func StartMeshCaller(t testing.TB, backends map[state.Color]*App) *Gateway {
	t.Helper()
	g := StartGateway(t, backends)
	g.mesh = true
	return g
}

// SetBackends replaces the App behind each color, as a new Deployment in a
// color replaces its pods. A color without an App answers 503.
func (g *Gateway) SetBackends(backends map[state.Color]*App) {
	g.t.Helper()
	apps := map[state.Color]*App{}
	proxies := map[state.Color]*httputil.ReverseProxy{}
	for color, app := range backends {
		if app == nil {
			continue
		}
		target, err := url.Parse(app.URL)
		if err != nil {
			g.t.Fatalf("smoketest: app %s: %v", color, err)
		}
		apps[color] = app
		proxies[color] = &httputil.ReverseProxy{
			// Not http.DefaultTransport: a kustomize build in the same process
			// refuses requests through it while it runs (render.offline).
			Transport: httptransport.New(),
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = pr.In.Host
			},
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				envoyError(w, http.StatusServiceUnavailable, "upstream connect error or disconnect/reset before headers. reset reason: "+err.Error())
			},
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.backends, g.proxies = apps, proxies
}

// SetRoutes replaces the rules, evaluated in order. It fails the test (call
// it from the test's goroutine) when a CookieRegex does not compile.
func (g *Gateway) SetRoutes(rules []Rule) {
	g.t.Helper()
	compiled := make([]compiledRule, len(rules))
	for i, r := range rules {
		compiled[i].Rule = r
		if r.CookieRegex != "" {
			re, err := regexp.Compile(`^(?:` + r.CookieRegex + `)$`)
			if err != nil {
				g.t.Fatalf("smoketest: rule %q: cookie regex: %v", r.Name, err)
			}
			compiled[i].cookie = re
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rules = compiled
}

// SetHosts sets the hosts the VirtualService matches: "*", "*.example.com" or
// a name. The Host header's port is ignored.
func (g *Gateway) SetHosts(hosts ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hosts = append([]string(nil), hosts...)
}

// Routed returns the routing decisions so far, oldest first.
func (g *Gateway) Routed() []Routed {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Routed(nil), g.routed...)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	rule, ok := g.match(r)
	if g.mesh && (len(g.rules) == 0 || !hostMatches(g.hosts, r.Host)) {
		rule, ok = g.serviceEndpoint()
	}
	proxy := g.proxies[rule.Color]
	g.mu.Unlock()
	rec := Routed{Method: r.Method, Path: r.URL.Path, Host: r.Host, Rule: rule.Name, Color: rule.Color}
	defer func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.routed = append(g.routed, rec)
	}()
	if !ok {
		rec.Rule, rec.Color, rec.Status = "", "", http.StatusNotFound
		envoyError(w, http.StatusNotFound, "")
		return
	}
	if proxy == nil {
		rec.Status = http.StatusServiceUnavailable
		envoyError(w, http.StatusServiceUnavailable, "no healthy upstream")
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	proxy.ServeHTTP(sw, r)
	rec.Status = sw.status
}

// serviceEndpoint picks the next color with an App, round robin, as a
// call to the Service without a VirtualService reaches any of its pods;
// g.mu is held.
func (g *Gateway) serviceEndpoint() (compiledRule, bool) {
	colors := make([]state.Color, 0, len(g.backends))
	for c := range g.backends {
		colors = append(colors, c)
	}
	slices.Sort(colors)
	if len(colors) == 0 {
		return compiledRule{}, true // no endpoints: 503
	}
	c := colors[g.next%len(colors)]
	g.next++
	return compiledRule{Rule: Rule{Color: c}}, true
}

// match returns the first rule matching r; g.mu is held.
func (g *Gateway) match(r *http.Request) (compiledRule, bool) {
	if !hostMatches(g.hosts, r.Host) {
		return compiledRule{}, false
	}
	for _, rule := range g.rules {
		if rule.cookie != nil {
			vals := r.Header.Values("Cookie")
			if len(vals) == 0 || !rule.cookie.MatchString(strings.Join(vals, "; ")) {
				continue
			}
		}
		if rule.HeaderName != "" {
			vals := r.Header.Values(rule.HeaderName)
			if len(vals) == 0 || strings.Join(vals, ",") != rule.HeaderExact {
				continue
			}
		}
		return rule, true
	}
	return compiledRule{}, false
}

func hostMatches(hosts []string, hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, h := range hosts {
		switch {
		case h == "*":
			return true
		case strings.HasPrefix(h, "*."):
			if strings.HasSuffix(host, h[1:]) && len(host) > len(h)-1 {
				return true
			}
		case strings.EqualFold(h, host):
			return true
		}
	}
	return false
}

// envoyError answers like Envoy's local replies.
func envoyError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Server", "istio-envoy")
	if body != "" {
		w.Header().Set("Content-Type", "text/plain")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
