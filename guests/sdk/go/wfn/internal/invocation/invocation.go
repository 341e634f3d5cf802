// Package invocation tells the SDK's packages which invocation is
// running: package wfn marks where each begins and ends, and wfnnet
// remembers under which one a connection was dialed, to explain why the
// host closed it.
package invocation

import "sync/atomic"

var (
	serial atomic.Uint64 // the invocations begun so far
	live   atomic.Bool
)

// Begin marks the start of an invocation.
func Begin() {
	serial.Add(1)
	live.Store(true)
}

// End marks its end.
func End() { live.Store(false) }

// Current returns the serial number of the running invocation, or 0
// outside one (in init, wfn_on_suspend or wfn_on_sigterm).
func Current() uint64 {
	if !live.Load() {
		return 0
	}
	return serial.Load()
}
