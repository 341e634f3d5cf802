package wfn

// Handler responds to a request.
type Handler interface {
	ServeWFN(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// ServeWFN calls f(w, r).
func (f HandlerFunc) ServeWFN(w *ResponseWriter, r *Request) { f(w, r) }

// The request and response of the current invocation. An instance serves
// one invocation at a time, so they are reused.
var (
	request  Request
	response ResponseWriter
)

// Serve runs h for the current invocation. Call it from a handler export
// (catchall does so for wfn_handle). A panic in h is not recovered. When h
// returns, the invocation ends, unless h registered tasks with WaitUntil:
// then it ends when the last of them returns.
func Serve(h Handler) {
	begin()
	request, response = Request{}, ResponseWriter{}
	h.ServeWFN(&response, &request)
	handlerReturned()
}
