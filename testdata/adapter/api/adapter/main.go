// Function adapter runs a net/http handler through wfnhttp, for the host's
// tests of the adapter under faults. The query parameter case picks what
// it does:
//
//   - count: answers how many requests this instance has served.
//   - panic: panics before writing anything.
//   - abort: panics with http.ErrAbortHandler.
//   - panicstream: writes and flushes "started,", then panics.
//   - body: answers the request's ContentLength, TransferEncoding and body.
//   - length: declares Content-Length 10, streams 5 bytes and returns.
//   - disconnect: streams until a write fails (the client left; the
//     function has no supportsCancellation), then writes and flushes once
//     more and prints "disconnect: first=ERR write=ERR flush=ERR".
package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

var served int

func init() { wfnhttp.Handle(http.HandlerFunc(serve)) }

func serve(w http.ResponseWriter, r *http.Request) {
	served++
	switch r.URL.Query().Get("case") {
	case "count":
		io.WriteString(w, strconv.Itoa(served))
	case "panic":
		panic("boom in the adapter guest")
	case "abort":
		panic(http.ErrAbortHandler)
	case "panicstream":
		io.WriteString(w, "started,")
		w.(http.Flusher).Flush()
		panic("boom after the head")
	case "body":
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d %v %v %q %v", r.ContentLength, r.TransferEncoding, r.Body == http.NoBody, b, err)
	case "length":
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345")
		w.(http.Flusher).Flush()
	case "disconnect":
		rc := http.NewResponseController(w)
		chunk := strings.Repeat("x", 1024) + "\n"
		var werr error
		for end := time.Now().Add(30 * time.Second); werr == nil && time.Now().Before(end); {
			if _, werr = io.WriteString(w, chunk); werr == nil {
				werr = rc.Flush()
			}
			time.Sleep(time.Millisecond)
		}
		_, again := io.WriteString(w, chunk)
		fmt.Printf("disconnect: first=%v write=%v flush=%v\n", werr, again, rc.Flush())
	}
}

func main() {}
