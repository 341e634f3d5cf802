// Function slow sleeps 10 s before answering "done". Its maxDuration is
// 2 s (guests/vercel.json), so the host answers 504
// FUNCTION_INVOCATION_TIMEOUT after about 2 s and discards the instance.
package main

import (
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

// sleep is how long the function sleeps; tests shorten it.
var sleep = 10 * time.Second

func init() { catchall.HandleFunc(slow) }

func slow(w *wfn.ResponseWriter, r *wfn.Request) {
	time.Sleep(sleep) // WASI poll_oneoff in the guest
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("done")
}

func main() {}
