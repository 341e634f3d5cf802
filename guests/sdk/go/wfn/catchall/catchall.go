// Package catchall exports wfn_handle, the catch-all handler export, and
// runs the handler registered with [Handle] for it.
//
// Importing this package gives a module the wfn_handle export, which the
// host calls for every method the module has no method export for. A
// module that wants the host to answer 405 for the methods it does not
// export must not import it (nor wfnhttp.Handle, which uses it).
//
// A function's main never runs (it is a WASI reactor), so register the
// handler from an init function:
//
//	func init() { catchall.HandleFunc(hello) }
//
//	func hello(w *wfn.ResponseWriter, r *wfn.Request) {
//		w.WriteString("Hello from wfn!")
//	}
//
//	func main() {}
package catchall

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
)

var handler wfn.Handler

// Handle registers h as the catch-all handler. It panics if h is nil or a
// handler is already registered.
func Handle(h wfn.Handler) {
	if h == nil {
		panic("catchall: nil handler")
	}
	if handler != nil {
		panic("catchall: Handle called twice")
	}
	handler = h
}

// HandleFunc registers f as the catch-all handler, as Handle does.
func HandleFunc(f func(w *wfn.ResponseWriter, r *wfn.Request)) {
	if f == nil {
		panic("catchall: nil handler")
	}
	Handle(wfn.HandlerFunc(f))
}

// noHandler is the body of the 500 answered when nothing is registered.
const noHandler = "wfn: no catch-all handler registered: call catchall.Handle from an init function\n"

// Serve runs the registered handler for the current invocation; it is
// what the wfn_handle export does. When no handler is registered it
// answers 500 with a message saying so. Tests run it with wfntest.Call.
func Serve() {
	if handler == nil {
		wfn.Serve(wfn.HandlerFunc(unregistered))
		return
	}
	wfn.Serve(handler)
}

func unregistered(w *wfn.ResponseWriter, _ *wfn.Request) {
	w.SetStatus(500)
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString(noHandler)
}
