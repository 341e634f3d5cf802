package outbound

import (
	"context"

	"github.com/wfn-dev/wfn/abi"
)

// ReadyContext returns a context that ends once what the next import on
// handle would wait for is in or has failed: the response head until an
// import has returned it, then the next body bytes, whose read it starts.
// It serves a host whose guest must not wait in an import (ABI v2,
// abi/SPEC-v2.md section 7): the guest's goroutine calls it, like the
// imports, and any goroutine may wait on its Done, or run a function at
// its end with context.AfterFunc, which needs no goroutine of its own
// (many invocations wait at once, BENCHMARKS.md, ABI v2 density). Its Err
// says only that the wait is over, not how the request went: the import
// says that. EBADHANDLE for an unknown handle, ECANCELED once the session
// or the request is cancelled.
func (s *Session) ReadyContext(handle int32) (context.Context, abi.Errno) {
	s.mu.Lock()
	c := s.calls[handle]
	s.mu.Unlock()
	if c == nil {
		return nil, abi.EBADHANDLE
	}
	if s.ctx.Err() != nil || c.canceled.Load() {
		return nil, abi.ECANCELED
	}
	if c.headSeen.Load() && c.resp != nil {
		return c.prefetchBody(), 0
	}
	return c.ready, 0
}

// Context returns the session's context: it ends when the session ends
// (Close), and then its requests are cancelled and their imports return
// ECANCELED.
func (s *Session) Context() context.Context { return s.ctx }
