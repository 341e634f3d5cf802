package wfn

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/invocation"
)

// pollInterval is how often a context watcher asks the host whether the
// invocation was aborted.
const pollInterval = 10 * time.Millisecond

// errEnded is the cause of an invocation's context once the invocation
// (its handler and its tasks) is over.
var errEnded = errors.New("wfn: invocation ended")

// lifeState is the state of one invocation, which lasts from the start
// of Serve until its last task returns. In ABI version 1 only the
// invocation's own goroutine (the one the host called in on) touches it;
// in version 2 its task goroutines do too, under mu.
type lifeState struct {
	live  bool
	ctx   *invocationContext // made at first use of Context or WaitUntil
	tasks []func(context.Context)
	base  int32 // the task id of tasks[0]; ids never repeat across invocations
	done  int   // tasks run so far

	// ABI version 2 (tasks run at once, as goroutines).
	mu       sync.Mutex
	running  int  // tasks not yet returned
	started  int  // tasks started, at most abi.MaxTasks
	returned bool // the handler has returned
}

// begin starts an invocation, forgetting one whose tasks the host did not
// run (it stopped them, or killed the instance that ran them).
func begin() {
	life := &cur().life
	if life.live {
		end()
	}
	life.live = true
	invocation.Begin()
}

// handlerReturned ends the invocation when it registered no tasks.
func handlerReturned() {
	if hostcall.Concurrent {
		handlerReturnedV2()
		return
	}
	life := &cur().life
	if life.done == len(life.tasks) {
		end()
	}
}

// end ends the invocation: its context is canceled and its watcher
// stopped, and the task table cleared. The next ids follow the last.
func end() {
	life := &cur().life
	if c := life.ctx; c != nil {
		c.end()
	}
	clear(life.tasks)
	life.base += int32(len(life.tasks))
	life.tasks = life.tasks[:0]
	life.done = 0
	life.ctx = nil
	life.live = false
	invocation.End()
	hostcall.InvocationEnd()
}

// invocationCtx returns the context of the current invocation, made at
// first use.
func invocationCtx() *invocationContext {
	life := &cur().life
	if life.ctx == nil {
		life.ctx = newInvocationContext()
	}
	return life.ctx
}

// Context returns the context of the invocation. It is done when the
// invocation is aborted (Err returns context.Canceled, and
// context.Cause abi.ECANCELED), when its deadline passes (Err returns
// context.DeadlineExceeded), or when the invocation ends: after the
// handler returns, or after its last task when it registered some with
// [WaitUntil]. Its Deadline is the invocation's maxDuration, read from the
// host at the first call.
//
// The host cannot call into a running guest, so when Done is first used a
// goroutine starts that asks the host every 10 ms whether the invocation
// was aborted; Err asks the host itself each time it is called, so a
// computation loop that checks ctx.Err() sees an abort at once. A handler
// that never calls Context pays nothing.
func (r *Request) Context() context.Context { return invocationCtx() }

// DeadlineRemaining returns the time left before the invocation's
// deadline (the function's maxDuration), 0 once it has passed. Tasks
// registered with [WaitUntil] run under the same deadline.
func (r *Request) DeadlineRemaining() time.Duration {
	ms := hostcall.DeadlineRemainingMs()
	if ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// WaitUntil registers f to run after the handler has returned and the
// response is complete, as work after the response (Vercel's waitUntil).
// Tasks run one at a time, in the order they were registered, on the same
// instance and under the same deadline as the handler: the function's
// maxDuration covers the handler and all its tasks. A task may register
// more tasks. f receives the invocation's context (see
// [Request.Context]), which stays live until the last task returns.
//
// Call it from a handler or a task, not from another goroutine. It
// returns abi.ETOOLARGE past 1024 tasks in one invocation and
// abi.EBADHANDLE outside an invocation; f is not registered then.
func WaitUntil(f func(ctx context.Context)) error {
	if f == nil {
		panic("wfn: WaitUntil with a nil function")
	}
	life := &cur().life
	if !life.live {
		return abi.EBADHANDLE
	}
	if hostcall.Concurrent {
		return startTask(life, f)
	}
	runTaskHook = runTask
	id := life.base + int32(len(life.tasks))
	if err := result(hostcall.WaitUntil(id)); err != nil {
		return err
	}
	life.tasks = append(life.tasks, f)
	return nil
}

// After registers f to run after the response is complete, as WaitUntil
// does, for work that needs no context (Next.js's after).
func After(f func()) error {
	if f == nil {
		panic("wfn: After with a nil function")
	}
	return WaitUntil(func(context.Context) { f() })
}

// runTaskHook is set by the first WaitUntil, so that a module that never
// registers a task does not link the task machinery.
var runTaskHook func(task int32)

// runTask is the body of the wfn_run_task export: it runs the task with
// this id, and ends the invocation after its last task. An id that is not
// one of the current invocation's pending tasks is ignored.
func runTask(id int32) {
	life := &cur().life
	i := int(uint32(id - life.base))
	if !life.live || i >= len(life.tasks) || life.tasks[i] == nil {
		return
	}
	f := life.tasks[i]
	life.tasks[i] = nil
	life.done++
	f(invocationCtx())
	if life.done == len(life.tasks) {
		end()
	}
}

var sigterm struct {
	mu sync.Mutex
	fs []func()
}

// OnSigterm registers f to run when the host shuts down: the host calls
// the wfn_on_sigterm export once on each live instance, which runs the
// registered functions in the order they were registered. Together they
// have 500 ms before the instance is stopped. No request is being served
// then: the request and response methods fail with abi.EBADHANDLE. Call it
// from init.
func OnSigterm(f func()) {
	if f == nil {
		panic("wfn: OnSigterm with a nil function")
	}
	sigterm.mu.Lock()
	defer sigterm.mu.Unlock()
	sigterm.fs = append(sigterm.fs, f)
}

// onSigterm is what the wfn_on_sigterm export does.
func onSigterm() {
	sigterm.mu.Lock()
	fs := sigterm.fs
	sigterm.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// invocationContext is the context of one invocation. The embedded
// context carries the cancellation and the deadline; Done starts the
// abort watcher and Err asks the host.
type invocationContext struct {
	context.Context
	cancel       context.CancelCauseFunc
	stopDeadline context.CancelFunc
	expiry       *expiry
	stopAbort    func() bool

	mu       sync.Mutex
	ended    bool          // no more host calls: the host may be another invocation's
	stop     chan struct{} // closed to stop the watcher; nil until Done
	stopped  chan struct{} // closed by the watcher when it returns
	watching bool
}

// newInvocationContext makes the context of the invocation: the guest's
// own timer for the deadline, under an expiry that the host's word ends
// first when its deadline comes before that timer (both give
// context.DeadlineExceeded, to derived contexts too), and over both the
// cancellation of an abort (context.Canceled, cause abi.ECANCELED) and of
// the end.
func newInvocationContext() *invocationContext {
	exp := &expiry{done: make(chan struct{})}
	var parent context.Context = exp
	stopDeadline := context.CancelFunc(func() {})
	if ms := hostcall.DeadlineRemainingMs(); ms >= 0 {
		// The host rounds the time left down to a millisecond: one more
		// keeps the context's deadline from coming before the host's, so
		// that a handler ended by it is answered as timed out.
		parent, stopDeadline = context.WithDeadline(exp, time.Now().Add(time.Duration(ms+1)*time.Millisecond))
	}
	base, cancel := context.WithCancelCause(parent)
	c := &invocationContext{Context: base, cancel: cancel, stopDeadline: stopDeadline, expiry: exp}
	// Under ABI version 2 the runtime cancels the invocation's abort
	// context when the host posts EventAbort, with the reason as its
	// cause; under version 1 it is never cancelled.
	abort := hostcall.AbortContext()
	c.stopAbort = context.AfterFunc(abort, func() {
		switch cause := context.Cause(abort); {
		case errors.Is(cause, context.DeadlineExceeded):
			exp.fire()
		case errors.Is(cause, abi.ECANCELED):
			cancel(cause)
		}
	})
	if hostcall.AbortSignaled() == 1 {
		c.signaled()
	}
	return c
}

// signaled ends the context when abort_signaled answers 1: at the
// deadline (no time left) with context.DeadlineExceeded, as version 2's
// host also signals an invocation past its deadline; otherwise as
// aborted.
func (c *invocationContext) signaled() {
	if hostcall.DeadlineRemainingMs() == 0 {
		c.expiry.fire()
		return
	}
	c.cancel(abi.ECANCELED)
}

// expiry is a context that ends, with context.DeadlineExceeded, when
// fired. It implements AfterFunc, so that the contexts made from it start
// no goroutine to watch it.
type expiry struct {
	done chan struct{}

	mu    sync.Mutex
	fired bool
	fs    map[*func()]struct{}
}

func (e *expiry) Deadline() (time.Time, bool) { return time.Time{}, false }
func (e *expiry) Done() <-chan struct{}       { return e.done }
func (e *expiry) Value(any) any               { return nil }

func (e *expiry) Err() error {
	select {
	case <-e.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// AfterFunc runs f once e is fired; stop reports whether it kept f from
// running.
func (e *expiry) AfterFunc(f func()) (stop func() bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fired {
		go f()
		return func() bool { return false }
	}
	k := &f
	if e.fs == nil {
		e.fs = map[*func()]struct{}{}
	}
	e.fs[k] = struct{}{}
	return func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		_, ok := e.fs[k]
		delete(e.fs, k)
		return ok
	}
}

func (e *expiry) fire() {
	e.mu.Lock()
	if e.fired {
		e.mu.Unlock()
		return
	}
	e.fired = true
	close(e.done)
	fs := e.fs
	e.fs = nil
	e.mu.Unlock()
	for f := range fs {
		(*f)()
	}
}

// Done returns the channel closed when the context is done, starting the
// abort watcher at the first call.
func (c *invocationContext) Done() <-chan struct{} {
	c.mu.Lock()
	if !hostcall.Concurrent && !c.watching && !c.ended && c.Context.Err() == nil {
		c.watching = true
		c.stop, c.stopped = make(chan struct{}), make(chan struct{})
		go c.watch(c.stop, c.stopped)
	}
	c.mu.Unlock()
	return c.Context.Done()
}

// Err asks the host whether the invocation was aborted, then reports
// as context.Context does.
func (c *invocationContext) Err() error {
	c.mu.Lock()
	if !c.ended && c.Context.Err() == nil && hostcall.AbortSignaled() == 1 {
		c.signaled()
	}
	c.mu.Unlock()
	return c.Context.Err()
}

// watch polls abort_signaled until the invocation is aborted, the context
// is done, or stop is closed.
func (c *invocationContext) watch(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-c.Context.Done():
			return
		case <-t.C:
		}
		if hostcall.AbortSignaled() == 1 {
			c.signaled()
			return
		}
	}
}

// end cancels the context and stops the watcher, waiting for it so that
// it makes no host call after the invocation.
func (c *invocationContext) end() {
	c.mu.Lock()
	c.ended = true
	stop, stopped := c.stop, c.stopped
	c.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
	c.stopAbort()
	c.cancel(errEnded)
	c.stopDeadline()
}

func (c *invocationContext) String() string { return "wfn.Request.Context" }

// discard is hostcall.Exports.Discard.
func discard() {
	if cur().life.live {
		end()
	}
}
