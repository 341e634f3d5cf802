package fluid

import (
	"context"
	"sync"

	"github.com/wfn-dev/wfn/abi"
)

// await is the non-blocking form of a wait on an outbound handle: 0 when
// ready has ended (the import can go on), else EAGAIN, and an EventReady
// for h is posted once ready or cancel ends (the session's context, which
// ends with the invocation at the latest).
//
// The post is a context.AfterFunc of both, not a goroutine waiting on
// them: thousands of invocations held at once on a slow backend each
// wait here, and a parked goroutine costs its stack, a few KiB at the
// least (BENCHMARKS.md, ABI v2 density).
func (inv *Invocation) await(h int32, ready, cancel context.Context) abi.Errno {
	if ready.Err() != nil {
		return 0
	}
	inv.mu.Lock()
	if inv.watching[h] {
		// One watch is enough: it posts an EventReady, and the guest
		// asks again.
		inv.mu.Unlock()
		return abi.EAGAIN
	}
	inv.watching[h] = true
	inv.mu.Unlock()
	w := &watch{}
	fire := func() {
		w.mu.Lock()
		if w.fired {
			w.mu.Unlock()
			return
		}
		w.fired = true
		stops := w.stops
		w.mu.Unlock()
		// The other context's registration goes (a session that makes
		// many requests would otherwise keep one per wait).
		for _, stop := range stops {
			stop()
		}
		inv.mu.Lock()
		delete(inv.watching, h)
		inv.mu.Unlock()
		inv.l.q.post(abi.EventReady, inv.id, h, 0)
	}
	// fire runs on a goroutine of its own (context.AfterFunc), after the
	// registrations below are recorded: it waits for w.mu.
	w.mu.Lock()
	w.stops = append(w.stops, context.AfterFunc(ready, fire), context.AfterFunc(cancel, fire))
	w.mu.Unlock()
	return abi.EAGAIN
}

// watch is one await's registrations, stopped by the first to fire.
type watch struct {
	mu    sync.Mutex
	fired bool
	stops []func() bool
}
