// Function broken does not compile, on purpose: the host must report the
// compiler's message naming this function. It lives in its own served
// tree (testdata/broken) so the testdata/guests module stays buildable.
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		var n int = "not a number" // deliberate type error
		w.WriteString(n)
	})
}

func main() {}
