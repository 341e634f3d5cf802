package wfn

// Handler responds to a request.
type Handler interface {
	ServeWFN(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// ServeWFN calls f(w, r).
func (f HandlerFunc) ServeWFN(w *ResponseWriter, r *Request) { f(w, r) }

// invState is the state of one invocation: its request and response, and
// its lifecycle. In ABI version 1 an instance serves one invocation at a
// time, so one is reused (state.go); in version 2 each invocation has its
// own (state_fluid.go).
type invState struct {
	life     lifeState
	request  Request
	response ResponseWriter
}

// Serve runs h for the current invocation. Call it from a handler export
// (catchall does so for wfn_handle). A panic in h is not recovered under
// ABI version 1; under version 2 it fails only its invocation. When h
// returns, the invocation ends, unless h registered tasks with WaitUntil:
// then it ends when the last of them returns.
//
// Under ABI version 2 (build tag wfn_fluid) the host calls each handler
// export once per instance, before it serves, with no invocation
// (abi/SPEC-v2.md section 2): Serve then records h as the handler of that
// export and returns at once, and the SDK runs h for each invocation of
// the export's method. The code of an export around its Serve call runs
// at that registration, once per instance, not per request.
func Serve(h Handler) {
	if register(h) {
		return
	}
	begin()
	s := cur()
	s.request, s.response = Request{}, ResponseWriter{}
	serveHandler(h, &s.response, &s.request)
	handlerReturned()
}
