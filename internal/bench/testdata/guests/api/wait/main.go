// Function wait GETs the URL given as the request body through the host
// (wfn.Fetch), waits for the response head and answers "held", or 502
// with the error. It is the Go guest of wfnbench's density section: one
// invocation held per request the backend holds.
package main

import (
	"io"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(wait) }

func wait(w *wfn.ResponseWriter, r *wfn.Request) {
	url, err := io.ReadAll(io.LimitReader(r.Body(), 8192))
	if err == nil {
		var resp *wfn.FetchResponse
		if resp, err = wfn.Fetch("GET", string(url), nil, nil); err == nil {
			_, err = resp.Status()
			resp.Close()
		}
	}
	if err != nil {
		w.SetStatus(502)
		w.WriteString(err.Error())
		return
	}
	w.WriteString("held")
}

func main() {}
