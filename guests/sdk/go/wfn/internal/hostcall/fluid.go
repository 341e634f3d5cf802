//go:build wfn_fluid

package hostcall

// The part of the ABI version 2 runtime (abi/SPEC-v2.md) that WebAssembly
// (fluid_wasip1.go) and plain Go (fluid_other.go, which package wfntest
// drives) share: which invocation a goroutine serves, the invocation's
// context, its end, and the worker goroutines that run invocations.
//
// Which invocation a goroutine serves is its profiler label (runtime/pprof's
// goroutine labels): the runtime labels each invocation's goroutine, and
// goroutines inherit the labels of the goroutine that starts them, so the
// goroutines and waitUntil tasks a handler starts act for its invocation
// too. A goroutine with no invocation (init, a pool's background work
// started in init) gets EBADHANDLE from the per-invocation imports.

import (
	"context"
	"fmt"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/wfn-dev/wfn/abi"
)

// Concurrent reports whether invocations run at once in this build: ABI
// version 2 runs many per instance, so the SDK keeps no per-invocation
// state in package variables.
const Concurrent = true

// errAborted is the cause of an invocation's context after an abort by
// the client or the shutdown; after the deadline it is
// context.DeadlineExceeded, and at the end context.Canceled.
var errAborted error = abi.ECANCELED

// maxIdleWorkers bounds the goroutines kept waiting for the next
// invocation once theirs has ended; past it they exit.
const maxIdleWorkers = 64

// inv is the guest side of one invocation.
type inv struct {
	id    uint32
	label unsafe.Pointer // the goroutine label of its goroutines
	body  func()         // what serves it; nil: Exports.Handle

	mu     sync.Mutex
	ended  bool
	ctx    context.Context // cancelled at an abort and at the end; made at the first use (context)
	cancel context.CancelCauseFunc
	cause  error  // the first cancellation's cause while ctx is not made yet
	sys    invSys // what the platform keeps with it

	// state is package wfn's state of the invocation, read on every call
	// of its API: an atomic load costs less in WebAssembly than the lock.
	state atomic.Pointer[any]
}

var (
	invMu   sync.Mutex
	byID    = map[uint32]*inv{}
	byLabel = map[unsafe.Pointer]*inv{}

	// lastFound is the invocation current found last, kept while it
	// lives: a handler's host calls come one after another from the same
	// goroutine, and each would otherwise take invMu and search byLabel.
	// Set and cleared under invMu, read without it.
	lastFound atomic.Pointer[inv]
)

// getProfLabel returns the calling goroutine's profiler labels, as
// runtime/pprof stores them; the runtime keeps it for packages that read
// them (go.dev/issue/67401).
//
//go:linkname getProfLabel runtime/pprof.runtime_getProfLabel
func getProfLabel() unsafe.Pointer

// current returns the invocation of the calling goroutine, or nil.
func current() *inv {
	p := getProfLabel()
	if p == nil {
		return nil
	}
	if i := lastFound.Load(); i != nil && i.label == p {
		return i
	}
	invMu.Lock()
	i := byLabel[p]
	if i != nil {
		lastFound.Store(i)
	}
	invMu.Unlock()
	return i
}

// newInv makes invocation id, served by body (nil: Exports.Handle), and
// registers it under its id.
func newInv(id uint32, body func()) *inv {
	i := &inv{id: id, body: body}
	invMu.Lock()
	byID[id] = i
	invMu.Unlock()
	return i
}

// byIDLookup returns invocation id, or nil once it has ended.
func byIDLookup(id uint32) *inv {
	invMu.Lock()
	defer invMu.Unlock()
	return byID[id]
}

// workers are the idle worker goroutines, each waiting on its channel for
// the next invocation to serve.
var workers struct {
	mu   sync.Mutex
	idle []chan *inv
}

// start serves i on an idle worker goroutine, or a new one: a goroutine
// per invocation costs its stack's growth each time, where a worker keeps
// the stack it grew.
func (i *inv) start() {
	workers.mu.Lock()
	if n := len(workers.idle); n > 0 {
		w := workers.idle[n-1]
		workers.idle = workers.idle[:n-1]
		workers.mu.Unlock()
		w <- i
		return
	}
	workers.mu.Unlock()
	go work(i)
}

// work serves i, then waits for the next invocation, unless
// maxIdleWorkers others wait already. An invocation that ends its
// goroutine (ProcExit's runtime.Goexit) ends the worker too.
func work(i *inv) {
	var next chan *inv
	for {
		i.serve()
		pprof.SetGoroutineLabels(context.Background())
		workers.mu.Lock()
		if len(workers.idle) >= maxIdleWorkers {
			workers.mu.Unlock()
			return
		}
		if next == nil {
			next = make(chan *inv, 1)
		}
		workers.idle = append(workers.idle, next)
		workers.mu.Unlock()
		i = <-next
	}
}

// invocationLabels are the profiler labels of an invocation's goroutines.
var invocationLabels = pprof.Labels("wfn", "invocation")

// serve runs the invocation on the calling goroutine, labelled with it.
func (i *inv) serve() {
	// The label set is the same for every invocation: what tells them
	// apart is the label pointer, which WithLabels makes anew each time.
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), invocationLabels))
	i.label = getProfLabel()
	invMu.Lock()
	if byID[i.id] == i { // not ended before it started
		byLabel[i.label] = i
	}
	invMu.Unlock()
	defer func() {
		// The SDK's Serve recovers a handler's panic; this catches what
		// fails outside it, and fails only this invocation.
		if p := recover(); p != nil {
			Log(2, fmt.Sprintf("wfn: panic serving the invocation: %v\n%s", p, debug.Stack()))
			ResponseSetStatus(500)
			i.end()
		}
	}()
	h := i.body
	if h == nil {
		h = Exports.Handle
	}
	if h == nil {
		ResponseSetStatus(500)
		ResponseBodyWriteString("wfn: the SDK's dispatcher is not linked (package wfn sets it)\n")
		i.end()
		return
	}
	h()
}

// context returns the invocation's context, cancelled at an abort and at
// the end. It is made at the first call, most invocations never asking
// for it (a context costs about 1 to 3 µs of guest CPU on wazero); one
// made after a cancellation is cancelled at once, with its cause.
func (i *inv) context() context.Context {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.ctx == nil {
		i.ctx, i.cancel = context.WithCancelCause(context.Background())
		if i.cause != nil {
			i.cancel(i.cause)
		}
	}
	return i.ctx
}

// cancelCtx cancels the invocation's context with cause; as with
// context.WithCancelCause, the first cause stays.
func (i *inv) cancelCtx(cause error) {
	i.mu.Lock()
	cancel := i.cancel
	if cancel == nil && i.cause == nil {
		i.cause = cause
	}
	i.mu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
}

// abort cancels the invocation's context for reason (AbortClient, ...).
func (i *inv) abort(reason int32) {
	if reason == AbortDeadline {
		i.cancelCtx(context.DeadlineExceeded)
		return
	}
	i.cancelCtx(errAborted)
}

// end ends the invocation once: its context is cancelled, its id released,
// and the host told (endSys).
func (i *inv) end() {
	i.mu.Lock()
	ended := i.ended
	i.ended = true
	i.mu.Unlock()
	if ended {
		return
	}
	i.cancelCtx(context.Canceled)
	invMu.Lock()
	delete(byID, i.id)
	if i.label != nil {
		delete(byLabel, i.label)
	}
	lastFound.CompareAndSwap(i, nil)
	invMu.Unlock()
	i.endSys()
}

// InvocationEnd ends the calling goroutine's invocation (invocation_end):
// package wfn calls it when the handler and every waitUntil task have
// returned.
func InvocationEnd() {
	if i := current(); i != nil {
		i.end()
	}
}

// AbortContext is the parent of the calling goroutine's invocation
// context: cancelled when the invocation is aborted (context.Cause is
// abi.ECANCELED, or context.DeadlineExceeded at its deadline), and at the
// end (context.Canceled).
func AbortContext() context.Context {
	if i := current(); i != nil {
		return i.context()
	}
	return context.Background()
}

// State returns the value stored with SetState for the calling
// goroutine's invocation, or nil.
func State() any {
	if i := current(); i != nil {
		if p := i.state.Load(); p != nil {
			return *p
		}
	}
	return nil
}

// SetState stores package wfn's per-invocation state with the calling
// goroutine's invocation; it reports false outside one.
func SetState(v any) bool {
	i := current()
	if i == nil {
		return false
	}
	i.state.Store(&v)
	return true
}

// with runs f with the calling goroutine's invocation, or answers
// EBADHANDLE outside one.
func with(f func(i *inv) int32) int32 {
	i := current()
	if i == nil {
		return int32(abi.EBADHANDLE)
	}
	return f(i)
}
