package gitops

import (
	"net/http"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/bgrender/bgrender/internal/httptransport"
)

// go-git picks the transport of a URL from a process-wide registry, and
// clones offer no way to pass another. So the first Open installs, once per
// process, an HTTP transport for http and https that never follows a
// redirect: go-git's default follows those of the first request, with the
// credentials when the origin stays the same. A remote that redirects gets
// go-git's error naming the location ("redirects disabled to URL"): use that
// URL instead. The transport also has an HTTP transport of its own, not
// http.DefaultTransport.
var installOnce sync.Once

func installTransports() {
	installOnce.Do(func() {
		tr := githttp.NewClientWithOptions(&http.Client{Transport: httptransport.New()},
			&githttp.ClientOptions{RedirectPolicy: githttp.NoFollowRedirects})
		client.InstallProtocol("http", tr)
		client.InstallProtocol("https", tr)
	})
}
