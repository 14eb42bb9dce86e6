package render

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// ErrNetworkInBuild is returned to kustomize's loader when it tries to fetch
// a URL during a build. vetLocal refuses every field that would make it do
// so before the build starts; this is the second line, for a field that
// kustomize may load from in a version we have not read.
var ErrNetworkInBuild = errors.New("kustomize tried to fetch a URL during a build; builds never reach the network")

// kustomize's loader fetches remote files with a zero http.Client, that is
// through http.DefaultTransport, and offers no way to give it another
// client. So the first build replaces http.DefaultTransport, once per
// process, with netGuard: while any build runs, it refuses every request;
// at other times it passes them on to the transport it replaced. bgrender's
// own HTTP clients never use http.DefaultTransport, so nothing of theirs is
// refused. A program that embeds this package and sends requests through
// http.DefaultTransport while a build runs would see them refused.
var (
	buildsRunning atomic.Int64
	guardOnce     sync.Once
)

type netGuard struct{ next http.RoundTripper }

func (g netGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if buildsRunning.Load() > 0 {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w (%s %s)", ErrNetworkInBuild, req.Method, req.URL.Redacted())
	}
	return g.next.RoundTrip(req)
}

// offline runs f with kustomize's loader unable to reach the network.
func offline(f func()) {
	guardOnce.Do(func() { http.DefaultTransport = netGuard{next: http.DefaultTransport} })
	buildsRunning.Add(1)
	defer buildsRunning.Add(-1)
	f()
}
