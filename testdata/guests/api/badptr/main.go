// Function badptr passes an out-of-bounds pointer to response_body_write,
// through its own declaration of the raw import. The host must trap the
// guest (not crash) and discard the instance.
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

//go:wasmimport wfn response_body_write
func responseBodyWrite(ptr, n uint32) int32

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		responseBodyWrite(0xFFFFFFF0, 100)
		w.WriteString("unreachable: the host did not trap")
	})
}

func main() {}
