// Function cancel streams a line every 100 ms for 10 s. It has
// supportsCancellation (guests/vercel.json), so when the client goes away
// the host aborts the invocation: r.Context() is done, the function
// prints "request aborted" and returns, and the cleanup task it
// registered at the start prints "cleanup done".
package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

// The stream's length and pace; tests shorten them.
var (
	lines    = 100
	interval = 100 * time.Millisecond
)

func init() { wfnhttp.Handle(http.HandlerFunc(cancel)) }

func cancel(w http.ResponseWriter, r *http.Request) {
	wfnhttp.WaitUntil(r, func(context.Context) { fmt.Println("cleanup done") })
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	flusher := w.(http.Flusher)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(w, "line %d\n", i)
		flusher.Flush() // without a flush the host would buffer the response
		select {
		case <-r.Context().Done():
			fmt.Println("request aborted")
			return
		case <-tick.C:
		}
	}
}

func main() {}
