// Function gzipped answers a text of about 4 KB that ends with
// "run <N>", cacheable by the CDN for a minute. It encodes the body itself
// with gzip (Content-Encoding: gzip) when the request's Accept-Encoding
// lists gzip, and says Vary: Accept-Encoding. N counts the runs of its
// instance.
package main

import (
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

var runs int

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		runs++
		body := strings.Repeat("the quick brown fox jumps over the lazy dog\n", 100) + "run " + strconv.Itoa(runs)
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		w.SetHeader("Cache-Control", "s-maxage=60")
		w.SetHeader("Vary", "Accept-Encoding")
		ae, _ := r.Header("accept-encoding")
		if !strings.Contains(ae, "gzip") {
			w.WriteString(body)
			return
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(body))
		zw.Close()
		w.SetHeader("Content-Encoding", "gzip")
		w.Write(buf.Bytes())
	})
}

func main() {}
