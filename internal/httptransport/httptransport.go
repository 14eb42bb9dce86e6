// Package httptransport makes the HTTP transports of bgrender's own clients
// (Argo CD, the forges, smoke checks). None of them uses
// http.DefaultTransport: during a kustomize build that transport refuses
// every request (see pkg/render), and a transport of one's own does not
// share connections or settings with code one does not control.
package httptransport

import (
	"net"
	"net/http"
	"time"
)

// New returns a transport with the settings of Go's http.DefaultTransport:
// proxies from the environment, HTTP/2, and its dial, idle and TLS
// handshake timeouts.
func New() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// Client is an http.Client over a New transport with timeout per request,
// which follows no redirect: a 3xx is the answer, so that a credential
// never goes on to where a server points.
func Client(timeout time.Duration) *http.Client {
	return &http.Client{
		Transport:     New(),
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
