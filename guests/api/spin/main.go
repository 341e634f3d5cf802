// Function spin computes forever without calling the host. Its
// maxDuration is 2 s (guests/vercel.json): the host must stop it in the
// middle of the loop, answer 504 FUNCTION_INVOCATION_TIMEOUT and discard
// the instance.
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

// x is package-level so that the compiler cannot remove the loop.
var x uint64

func init() { catchall.HandleFunc(spin) }

func spin(w *wfn.ResponseWriter, r *wfn.Request) {
	for {
		x = x*31 + 7
	}
}

func main() {}
