package engine

import (
	"context"
	"errors"
)

// PollSteps is how many steps (wasmbin.Checks.Interrupt: instructions of
// loop bodies and function code, as the checks count them) a guest runs
// between two calls of the host's poll function: the bound on how late
// it stops after its context ends, and, on wazero, on how long it can
// hold up the Go garbage collector's stop-the-world. With 2^18 a
// collection waits about 0.1 ms for a spinning guest (2^20: 1 ms), and
// the checks cost 1% to 2% on compute (BENCHMARKS.md, "cheap
// interruption").
const PollSteps = 1 << 18

// ErrEngineClosed is the cause of a guest stopped because its engine is
// closing.
var ErrEngineClosed = errors.New("wfn: the engine is closing")

// Poll is what a host's poll function returns to a guest instrumented by
// wasmbin.Checks.Interrupt: PollSteps while the call may go on, -1 to stop
// the guest once ctx has ended or closing is set.
func Poll(ctx context.Context, closing bool) int32 {
	if closing || ctx.Err() != nil {
		return -1
	}
	return PollSteps
}

// StopCause is why a guest that a poll stopped was stopped: ctx's cause,
// or ErrEngineClosed. It is nil if neither holds: the guest was not
// stopped by a poll.
func StopCause(ctx context.Context, closing bool) error {
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	if closing {
		return ErrEngineClosed
	}
	return nil
}
