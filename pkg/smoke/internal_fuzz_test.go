package smoke

import (
	"net/http"
	"testing"
)

// FuzzResponse: reading identity and expectations from any response body
// never panics.
func FuzzResponse(f *testing.F) {
	f.Add([]byte(`{"version":"v2","build":{"release":"r-1"},"items":[{"id":1}]}`), "items.0.id")
	f.Add([]byte(`[1,2,3]`), "0")
	f.Add([]byte(`not json`), "version")
	f.Add([]byte(`{"a":null}`), "a.b")
	f.Fuzz(func(t *testing.T, body []byte, field string) {
		if validateFieldPath(field) != nil {
			return
		}
		resp := response{status: 200, header: http.Header{"X-App-Version": {string(body)}}, body: body}
		_, _, _ = identitySource{field: field}.find(resp)
		_, _, _ = identitySource{header: "x-app-version"}.find(resp)
		x := expectation{status: 200, contains: field, json: []JSONExpect{{Field: field, Equals: "1"}}}
		_ = x.check(resp)
	})
}
