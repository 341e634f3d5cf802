package wfnfetch_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnfetch"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// A function calls an API with a plain http.Client. In a test, wfntest
// serves the outbound requests with a handler.
func Example() {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	})
	fn := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := &http.Client{Transport: wfnfetch.Transport}
		req, _ := http.NewRequestWithContext(r.Context(), "GET", "https://api.example.com/hello", nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)

		// Loopback, private and metadata addresses are denied by default.
		_, err = client.Get("http://169.254.169.254/latest/meta-data/")
		fmt.Fprintf(w, "; metadata denied: %v", errors.Is(err, abi.EDENIED))
	})

	resp := wfntest.Do(wfnhttp.Handler(fn), httptest.NewRequest("GET", "/api/fn", nil), nil, wfntest.Outbound(api))
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: hello from api.example.com; metadata denied: true
}
