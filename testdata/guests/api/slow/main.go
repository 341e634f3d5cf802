// Function slow sleeps for the number of milliseconds in its query param
// ms (0 if absent) and then answers "done". The sleep is WASI
// poll_oneoff, so it shows how the host throttles and runs instances
// concurrently.
package main

import (
	"net/url"
	"strconv"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		if u, err := url.Parse(r.URL()); err == nil {
			if ms, err := strconv.Atoi(u.Query().Get("ms")); err == nil && ms > 0 {
				time.Sleep(time.Duration(ms) * time.Millisecond)
			}
		}
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString("done")
	})
}

func main() {}
