// Function waitv2 is wait (../wait) built for ABI v2 (the build tag
// wfn_fluid, as "fluid": true gives it): it GETs the URL given as the
// request body through the host (wfnfetch.Transport), waits for the
// response head and answers "held", or 502 with the error. Its
// invocations wait together in one instance (abi/SPEC-v2.md).
package main

import (
	"io"
	"net/http"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnfetch"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

var client = &http.Client{Transport: wfnfetch.Transport}

func init() {
	wfnhttp.Handle(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		url, err := io.ReadAll(io.LimitReader(r.Body, 8192))
		if err == nil {
			var req *http.Request
			if req, err = http.NewRequestWithContext(r.Context(), http.MethodGet, string(url), nil); err == nil {
				var resp *http.Response
				if resp, err = client.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		io.WriteString(w, "held")
	}))
}

func main() {}
