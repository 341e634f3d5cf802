//go:build !wasip1

package fluid

import (
	"errors"
	"net/http"
)

// Transport sends outbound HTTP requests through the host; outside
// WebAssembly there is no host, and every request fails.
var Transport http.RoundTripper = transport{}

type transport struct{}

func (transport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("wfn: fluid.Transport serves only in a wasip1 guest")
}
