// Command v2 answers "Hello from wfn!" with a net/http handler (wfnhttp).
// api/v1 is the same code; this one is built for ABI version 2 ("fluid": true in
// wfn.json): BenchmarkFluidHello compares the two in one run.
package main

import (
	"io"
	"net/http"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

func init() {
	wfnhttp.Handle(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "Hello from wfn!")
	}))
}

func main() {}
