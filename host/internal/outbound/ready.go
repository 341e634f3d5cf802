package outbound

import "github.com/wfn-dev/wfn/abi"

// Ready returns a channel that is closed once what the next import on
// handle would wait for is in or has failed: the response head until an
// import has returned it, then the next body bytes, whose read it starts.
// It serves a host whose guest must not wait in an import (ABI v2,
// abi/SPEC-v2.md section 7): the guest's goroutine calls it, like the
// imports, and any goroutine may wait on the channel. EBADHANDLE for an
// unknown handle, ECANCELED once the session or the request is cancelled.
func (s *Session) Ready(handle int32) (<-chan struct{}, abi.Errno) {
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
	return c.done, 0
}

// Done returns a channel closed when the session ends: its requests are
// cancelled and their imports return ECANCELED.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }
