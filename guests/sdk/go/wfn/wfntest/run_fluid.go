//go:build wfn_fluid && !wasip1

package wfntest

import (
	"net/http"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// run serves one invocation under ABI version 2 (build tag wfn_fluid), as
// the host posts EventInvoke: the export runs on a goroutine of the SDK's
// runtime, its WaitUntil tasks on goroutines of their own alongside the
// response, and run returns when the invocation ends (invocation_end),
// that is when the handler and every task have returned, or a panic or
// proc_exit failed it. Other invocations run at the same time.
func run(h *host, export func()) {
	defer h.end()
	ended := make(chan struct{})
	h.inv.Store(hostcall.Invoke(h, export, func() { close(ended) }))
	// An abort or the deadline that came before the id was known.
	if h.ctx.Err() != nil {
		h.closeBeforeAbort()
		h.post(hostcall.AbortClient)
	}
	if h.killed.Load() {
		h.post(hostcall.AbortDeadline)
	}
	<-ended
	h.finish()
}

// post is EventAbort for the invocation, with its reason.
func (h *host) post(reason int32) {
	if id := h.inv.Load(); id != 0 {
		hostcall.Abort(id, reason)
	}
}

// ResponseAbort is response_abort: the guest fails the invocation (ABI
// version 2's proc_exit), answered as the host does, 500
// FUNCTION_INVOCATION_FAILED if the head was not sent, else a cut
// response.
func (h *host) ResponseAbort() int32 {
	h.kill(http.StatusInternalServerError, CodeInvocationFailed)
	return 0
}
