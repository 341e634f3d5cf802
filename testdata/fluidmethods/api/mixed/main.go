// Command mixed has a GET export and a catch-all (package catchall),
// built for ABI version 2 by testdata/fluidmethods/wfn.json: GET (and
// HEAD) reach the export's handler, every other method the catch-all's,
// as in version 1.
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		w.WriteString("catch-all " + r.Method())
	})
}

//go:wasmexport GET
func get() {
	wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		w.WriteString("GET export")
	}))
}

func main() {}
