// Function stream writes "chunk 1" to "chunk 5", one line every 200 ms,
// flushing each, so a client sees the first line long before the last.
// It is a plain net/http handler run by the wfnhttp adapter.
package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

func init() { wfnhttp.Handle(http.HandlerFunc(stream)) }

func stream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	flusher := w.(http.Flusher)
	for i := 1; i <= 5; i++ {
		if i > 1 {
			time.Sleep(200 * time.Millisecond) // WASI poll_oneoff in the guest
		}
		if _, err := fmt.Fprintf(w, "chunk %d\n", i); err != nil {
			return // the client is gone
		}
		flusher.Flush()
	}
}

func main() {}
