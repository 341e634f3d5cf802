// Function methods has per-method exports, GET and POST, and no
// catch-all: the host answers 405 with "Allow: GET, POST" for any other
// method. It must not import catchall or call wfnhttp.Handle, which
// would add the wfn_handle export.
package main

import "github.com/wfn-dev/wfn/guests/sdk/go/wfn"

//go:wasmexport GET
func get() { wfn.Serve(wfn.HandlerFunc(getOK)) }

//go:wasmexport POST
func post() { wfn.Serve(wfn.HandlerFunc(postOK)) }

func getOK(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("GET ok")
}

func postOK(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("POST ok")
}

func main() {}
