// Function hello answers every request with "Hello from wfn!", using the
// native API through the catch-all export. Its warm path makes no heap
// allocations.
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(hello) }

func hello(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("Hello from wfn!")
}

// main never runs: a function is a WASI reactor.
func main() {}
