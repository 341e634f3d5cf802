// Function echo answers a POST with its body, byte for byte and with the
// same Content-Type, streaming it in 32 KiB chunks: the body is never
// held whole in memory. It flushes before copying: the host buffers a
// response until the first flush (and limits a buffered response to
// 4.5 MB), and streams it, with no limit, after.
package main

import (
	"io"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(echo) }

func echo(w *wfn.ResponseWriter, r *wfn.Request) {
	if r.Method() != "POST" {
		w.SetHeader("Allow", "POST")
		w.SetStatus(405)
		return
	}
	if ct, ok := r.Header("Content-Type"); ok {
		w.SetHeader("Content-Type", ct)
	}
	w.Flush() // stream from here on
	// io.Copy uses ResponseWriter.ReadFrom, which copies through one
	// buffer reused by every invocation.
	io.Copy(w, r.Body())
}

func main() {}
