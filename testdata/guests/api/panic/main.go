// Function panic panics in its handler. Go's wasip1 runtime prints the
// panic to stderr and exits (proc_exit 2), so the host sees a failed
// invocation and must discard the instance.
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		panic("boom: deliberate panic in the panic test guest")
	})
}

func main() {}
