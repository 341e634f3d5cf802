package wfnhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// A plain net/http handler runs unchanged. In a function at
// api/greet/[name] it is registered from init:
//
//	func init() { wfnhttp.Handle(greet, "name") }
func ExampleHandler() {
	greet := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello %s! (%s %s)", r.PathValue("name"), r.Method, r.URL.Path)
	})

	resp := wfntest.Do(wfnhttp.Handler(greet, "name"),
		httptest.NewRequest("GET", "/api/greet/ada", nil), map[string]string{"name": "ada"})
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Header.Get("Content-Type"))
	fmt.Println(string(body))
	// Output:
	// text/plain; charset=utf-8
	// Hello ada! (GET /api/greet/ada)
}
