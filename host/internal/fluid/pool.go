package fluid

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// Module is a compiled version 2 guest.
type Module interface {
	// Instantiate creates an instance and runs its initialisation
	// (_initialize, then wfn_init when exported).
	Instantiate(ctx context.Context, cfg engine.InstanceConfig) (Instance, error)
	// Close releases the compiled code. Instances must be closed first.
	Close(ctx context.Context) error
}

// Instance is one live version 2 guest.
type Instance interface {
	// Serve calls the serving export and returns when it returns. ctx
	// carries the instance's Loop (WithLoop); when it ends the guest is
	// stopped at its next poll, and Serve returns an error.
	Serve(ctx context.Context) error
	// Close releases the instance.
	Close(ctx context.Context) error
}

// Caller is an Instance that calls a guest export of signature () -> ()
// by name, outside the serving call: the registration calls of the
// handler exports (Pool.Exports, SPEC-v2.md section 2). An engine whose
// instances are not Callers serves only guests without handler exports.
type Caller interface {
	// Call calls export once and returns when it returns; ctx carries
	// the instance's Loop (WithLoop) for its imports.
	Call(ctx context.Context, export string) error
}

// LoopAttacher is an Instance told the loop that serves it, before its
// registration and serving calls (the host's stdout and stderr lines ask
// it for the invocation in flight, Loop.SoleRequestID).
type LoopAttacher interface {
	AttachLoop(l *Loop)
}

// Compiler is an engine that serves version 2 guests.
type Compiler interface {
	// CompileV2 validates and compiles a version 2 guest; a guest that is
	// not one, or imports what the host does not serve, fails with an
	// *engine.LoadError.
	CompileV2(ctx context.Context, name string, wasm []byte) (Module, error)
}

// Errors of Pool.Serve, matched with errors.Is.
var (
	// ErrThrottled: every instance is full and no other may be made.
	ErrThrottled = errors.New("wfn: every instance is serving its bound of invocations")
	// ErrClosed: the pool is closed.
	ErrClosed = errors.New("wfn: the function's pool is closed")
)

// Failure is how an invocation ended badly, for the host to answer.
type Failure int

// The failures Pool.Serve reports to Answer.
const (
	Failed                 Failure = iota + 1 // the instance trapped, exited or was stopped: 500
	TimedOut                                  // past the deadline: 504
	ResponseTooLarge                          // a buffered response over 4.5 MB: 500
	ResponseHeaderTooLarge                    // header fields over abi.MaxResponseHeader: 500
	InvalidStatus                             // a final status outside 200..599: 502
	GuestAborted                              // the guest failed its response (response_abort): 500 or a cut
	RequestTooLarge                           // the client's request body passed 4.5 MB: 413, or a cut
	BadRequestBody                            // the client's request body was malformed or cut short: 400, or a cut
	ShutDown                                  // the host shut down past its grace before the response was complete: 503, or a cut
)

// Request is what Pool.Serve needs beside the HTTP request.
type Request struct {
	ID       string // the request id (x-vercel-id)
	Function string // the function's source path
	Params   []hostcall.Param
	Deadline time.Time // maxDuration from the start
	// Cancel aborts the invocation when the client leaves
	// (supportsCancellation).
	Cancel bool
	// Ctx answers for the request context imports and outbound HTTP;
	// nil: none.
	Ctx hostcall.RequestContext
	// OnPlaced, when set, is called on Serve's goroutine once the
	// invocation has an instance: fresh reports that the instance was
	// made for it (it is the instance's first invocation).
	OnPlaced func(fresh bool)
	// OnAbort, when set, is called once when the invocation is aborted,
	// with why (abi.AbortClient, abi.AbortDeadline, ...): the host
	// cancels its outbound requests in flight, as in v1, and counts it.
	OnAbort func(why int32)
	// OnEnd, when set, is called once when the invocation ends:
	// invocation_end, or its instance ended. It may run on the guest's
	// goroutine, so it must not wait.
	OnEnd func()
	// OnBodyError, when set, is called once, on the goroutine reading
	// the request body, when the body cannot be read because of the
	// client: err is ErrBodyTooLarge past 4.5 MB, or the read's error (a
	// malformed chunked encoding, a body cut short). A read ended by the
	// deadline or after an abort is not reported. The guest gets
	// ETOOLARGE or EIO and answers as it will.
	OnBodyError func(err error)
}

// Pool keeps the instances of one version 2 function and gives each
// request to an instance with room (abi/SPEC-v2.md section 4,
// "Concurrency"):
//
//   - to the first, in the order they were made, whose guest is not
//     CPU-busy: it waits in poll_oneoff, or has run for less than
//     BusyAfter since it last did, or in the last BusyAfter of that run
//     has ended no invocation yet called the host (it is taking new ones
//     in) or shown no computing (no interrupt polls: its thread waited
//     for a processor), and no such run ended less than BusyAfter ago.
//     Invocations that wait (on a backend, a timer) leave their guest
//     waiting, so they pack into one instance.
//   - when every instance with room is CPU-busy, to a new instance while
//     fewer than CPUInstances are live: one instance is one guest thread,
//     so a load that keeps it computing gets the host's other processors.
//   - past that bound, to the CPU-busy one with the fewest invocations in
//     flight.
//   - when every instance holds Concurrency invocations, to a new one,
//     up to MaxInstances (then ErrThrottled).
type Pool struct {
	// New makes an initialised instance.
	New func(ctx context.Context) (Instance, error)
	// Concurrency bounds the invocations one instance serves at once
	// (the function's instanceConcurrency); 0: abi.MaxConcurrentInvocations.
	Concurrency int
	// MaxInstances bounds the live instances (maxConcurrency); 0: none.
	MaxInstances int
	// BusyAfter is how long a guest runs without blocking in poll_oneoff,
	// ending invocations or computing without a host call (Loop.Stepped),
	// before its instance counts as CPU-busy and new invocations go to
	// another (abi/SPEC-v2.md section 4); 0:
	// abi.CPUBusyMs; negative: never (the first instance with room takes
	// every invocation).
	BusyAfter time.Duration
	// CPUInstances bounds the live instances a CPU-busy pool grows to
	// (MaxInstances still bounds them); 0: runtime.GOMAXPROCS(0), one
	// guest thread per processor Go runs on.
	CPUInstances int
	// IdleTimeout closes an instance that has had no invocation in flight
	// for this long (the function's idleTimeout, as package pool closes
	// a version 1 instance): it gets EventStop once and returns from its
	// serving export; one that has not returned StopGrace later is
	// stopped. It is checked every IdleTimeout/4 (at least 10 ms), so an
	// instance goes between IdleTimeout and 1.25 IdleTimeout after its
	// last invocation ended. 0: idle instances stay until Close.
	IdleTimeout time.Duration
	// Log receives the lines of the log import.
	Log Logger
	// Conns, when set, makes the outbound TCP connections of a new
	// instance (section 8); they close when the instance ends. Without
	// it the TCP imports answer EIO.
	Conns func() *outbound.Conns
	// Ended, when set, is told why an instance ended: ErrServeReturned
	// after a stop, else a trap, an exit, ErrWatchdog or ErrClosed.
	Ended func(err error)
	// Exports are the guest's handler exports (method exports such as
	// "GET", and "wfn_handle"; HandlerExports reads them). Each instance
	// calls each once, in this order, after its initialisation and
	// before its serving call, for the guest to register the handler it
	// serves; the import registering_export names the one called.
	Exports []string
	// Answer writes the error response of a failed invocation whose head
	// was not sent, and logs it; err is the cause, when known. Required.
	Answer func(w http.ResponseWriter, r *http.Request, req Request, f Failure, err error)

	mu      sync.Mutex
	insts   []*Loop
	closed  bool
	makeMu  sync.Mutex // one instance made at a time
	created atomic.Int64
	sweep   chan struct{} // closed by Close to end the idle sweep; nil until the first instance
}

// StopGrace is how long an instance asked to stop (EventStop, after its
// idle timeout) has to return from its serving export before it is
// stopped, as SIGTERM's grace (abi/SPEC-v2.md section 4).
const StopGrace = 500 * time.Millisecond

// Instances is the number of live instances.
func (p *Pool) Instances() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.insts)
}

// CPUBusy is the number of live instances that count as CPU-busy now
// (BusyAfter); 0 when BusyAfter is negative.
func (p *Pool) CPUBusy() int {
	now := time.Now().UnixNano()
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.insts {
		if l.cpuBusy(now) {
			n++
		}
	}
	return n
}

// Created is the number of instances made since the pool started.
func (p *Pool) Created() int64 { return p.created.Load() }

func (p *Pool) bound() int {
	if p.Concurrency > 0 {
		return p.Concurrency
	}
	return abi.MaxConcurrentInvocations
}

func (p *Pool) busyAfter() time.Duration {
	if p.BusyAfter != 0 {
		return p.BusyAfter
	}
	return abi.CPUBusyMs * time.Millisecond
}

func (p *Pool) cpuInstances() int {
	n := p.CPUInstances
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if p.MaxInstances > 0 {
		n = min(n, p.MaxInstances)
	}
	return n
}

// tryStart gives inv to a live instance as the Pool's doc orders them,
// and reports false when a new instance should take it: every live one
// is full, or every one with room is CPU-busy and the pool may grow for
// CPU (cpuInstances).
func (p *Pool) tryStart(inv *Invocation) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false, ErrClosed
	}
	bound := p.bound()
	now := time.Now().UnixNano()
	busy := 0
	for _, l := range p.insts {
		if l.cpuBusy(now) {
			busy++
			continue
		}
		if l.start(inv, bound) {
			return true, nil
		}
	}
	if busy == 0 || len(p.insts) < p.cpuInstances() {
		return false, nil
	}
	// Every instance is CPU-busy or full and the pool may not grow for
	// CPU: the busy one with the fewest in flight.
	var least *Loop
	fewest := bound
	for _, l := range p.insts {
		if n := l.Inflight(); n < fewest && l.cpuBusy(now) {
			least, fewest = l, n
		}
	}
	if least != nil && least.start(inv, bound) {
		return true, nil
	}
	for _, l := range p.insts {
		if l.start(inv, bound) {
			return true, nil
		}
	}
	return false, nil
}

// place starts inv on an instance, making one when tryStart asks.
func (p *Pool) place(ctx context.Context, inv *Invocation) error {
	if ok, err := p.tryStart(inv); ok || err != nil {
		return err
	}
	p.makeMu.Lock()
	defer p.makeMu.Unlock()
	// Another request may have made one while this one waited.
	if ok, err := p.tryStart(inv); ok || err != nil {
		return err
	}
	p.mu.Lock()
	full := p.MaxInstances > 0 && len(p.insts) >= p.MaxInstances
	p.mu.Unlock()
	if full {
		return ErrThrottled
	}
	inst, err := p.New(ctx)
	if err != nil {
		return err
	}
	p.created.Add(1)
	l := newLoop()
	l.inst = inst
	if a, ok := inst.(LoopAttacher); ok {
		a.AttachLoop(l)
	}
	l.busyAfter = p.busyAfter()
	if p.Conns != nil {
		l.conns = p.Conns()
	}
	if err := p.register(ctx, l, inst); err != nil {
		if l.conns != nil {
			l.conns.CloseAll()
		}
		_ = inst.Close(context.Background())
		return err
	}
	sctx, cancel := context.WithCancelCause(context.Background())
	l.cancel = cancel
	inv.fresh = true
	l.start(inv, p.bound())
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		cancel(ErrClosed)
		_ = inst.Close(context.Background())
		return ErrClosed
	}
	p.insts = append(p.insts, l)
	if p.IdleTimeout > 0 && p.sweep == nil {
		p.sweep = make(chan struct{})
		go p.sweepIdle(p.sweep)
	}
	p.mu.Unlock()
	go p.run(sctx, l, inst)
	return nil
}

// register makes the registration calls of the guest's handler exports
// (Exports), one at a time, before the serving call.
func (p *Pool) register(ctx context.Context, l *Loop, inst Instance) error {
	if len(p.Exports) == 0 {
		return nil
	}
	c, ok := inst.(Caller)
	if !ok {
		return fmt.Errorf("wfn: the guest has handler exports (%s), which this engine cannot call for an ABI v2 guest", strings.Join(p.Exports, ", "))
	}
	ctx = WithLoop(ctx, l)
	for _, name := range p.Exports {
		l.registering = name
		err := c.Call(ctx, name)
		l.registering = ""
		if err != nil {
			return fmt.Errorf("wfn: the registration call of handler export %s failed: %w", name, err)
		}
	}
	return nil
}

// sweepIdle closes the instances idle for IdleTimeout, every quarter of
// it, until done is closed.
func (p *Pool) sweepIdle(done <-chan struct{}) {
	t := time.NewTicker(max(p.IdleTimeout/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			cutoff := now.Add(-p.IdleTimeout)
			p.mu.Lock()
			for _, l := range p.insts {
				if l.closeIdle(cutoff) {
					time.AfterFunc(StopGrace, func() {
						select {
						case <-l.dead:
						default:
							l.fail(ErrClosed)
						}
					})
				}
			}
			p.mu.Unlock()
		}
	}
}

// run makes the serving call and, when it returns, ends the instance.
func (p *Pool) run(ctx context.Context, l *Loop, inst Instance) {
	err := inst.Serve(WithLoop(ctx, l))
	if err == nil {
		err = ErrServeReturned
	}
	l.fail(err)
	if l.conns != nil {
		l.conns.CloseAll()
	}
	if p.Ended != nil {
		p.Ended(l.Err())
	}
	p.mu.Lock()
	p.insts = slices.DeleteFunc(p.insts, func(x *Loop) bool { return x == l })
	p.mu.Unlock()
	_ = inst.Close(context.Background())
	close(l.gone)
}

// Serve runs one invocation of r on an instance with room and sends its
// response from this goroutine, so that a slow client holds up no other
// invocation. It returns ErrThrottled, ErrClosed or the error of making
// an instance without answering; every other outcome is answered (the
// failures through p.Answer). A response cut after its head was sent
// panics with http.ErrAbortHandler, so that the client sees it cut.
func (p *Pool) Serve(w http.ResponseWriter, r *http.Request, req Request) error {
	inv := newInvocation()
	inv.pool, inv.r, inv.hooks = p, r, req
	inv.req.Reset(req.ID, req.Function, nil, r, req.Params, req.Deadline)
	inv.req.Ctx = req.Ctx
	if err := p.place(r.Context(), inv); err != nil {
		return err
	}
	if req.OnPlaced != nil {
		req.OnPlaced(inv.fresh)
	}
	l := inv.l
	timer := time.NewTimer(time.Until(req.Deadline))
	defer timer.Stop()
	// Past this call the invocation may run on (WaitUntil work): its
	// deadline still applies, unless it timed out here.
	timedOut := false
	defer func() {
		if !timedOut {
			p.expireAfterResponse(inv, r, req)
		}
	}()
	clientDone := r.Context().Done()
	rc := http.NewResponseController(w)
	// A write that waits on a client that does not read the response
	// ends at the deadline, as the invocation does: this goroutine must
	// come back to its timer. What is written once the response is
	// complete or failed gets AnswerGrace (answering).
	SetWriteDeadline(w, req.Deadline)
	answering := func() { SetAnswerDeadline(w, req.Deadline) }
	headSent := false
	var spare []byte
	fail := func(f Failure, err error) {
		inv.leave()
		if headSent {
			p.Answer(nil, r, req, f, err) // logs it
			panic(http.ErrAbortHandler)
		}
		answering()
		p.Answer(w, r, req, f, err)
	}
	for {
		select {
		case <-inv.notify:
		case <-l.dead:
			fail(Failed, l.Err())
			return nil
		case <-timer.C:
			timedOut = true
			inv.abort(abi.AbortDeadline)
			p.startWatch(l, inv)
			fail(TimedOut, nil)
			return nil
		case <-clientDone:
			clientDone = nil
			if req.Cancel {
				inv.abort(abi.AbortClient)
			}
			continue
		}
		s, wake := inv.take(headSent, spare)
		if !headSent && s.head && !time.Now().Before(req.Deadline) {
			// The guest answered at or after the deadline (its own
			// context's deadline ended its handler): a timeout, as the
			// timer would have said, whichever of the two came first.
			timedOut = true
			inv.abort(abi.AbortDeadline)
			p.startWatch(l, inv)
			fail(TimedOut, nil)
			return nil
		}
		if s.shutDown {
			fail(ShutDown, nil)
			return nil
		}
		if !headSent && s.complete && (s.tooLarge || s.badStatus) {
			f := ResponseTooLarge
			if s.badStatus {
				f = InvalidStatus
			}
			fail(f, nil)
			return nil
		}
		if !headSent && s.head && s.headerBig {
			fail(ResponseHeaderTooLarge, nil)
			return nil
		}
		if s.complete {
			answering()
		}
		if f := inv.bodyFailure(); f != 0 && (s.head && !headSent || s.complete) {
			// The client sent a body the guest could not read whole:
			// as version 1 answers it, whatever the guest answered (a
			// response already started is cut).
			fail(f, nil)
			return nil
		}
		if s.head {
			h := w.Header()
			for k, v := range s.header {
				h[k] = v
			}
			if !s.streaming && r.Method != http.MethodHead {
				h.Set("Content-Length", contentLength(len(s.body)))
			}
			w.WriteHeader(s.status)
			headSent = true
		}
		if len(s.body) > 0 {
			_, _ = w.Write(s.body)
			spare = s.body
		}
		if s.streaming {
			_ = rc.Flush()
		}
		if s.aborted {
			// After what the guest flushed: a response it streamed is
			// cut, a buffered one answered 500.
			fail(GuestAborted, nil)
			return nil
		}
		if wake {
			l.q.post(abi.EventReady, inv.id, abi.HandleResponseBody, 0)
		}
		if s.complete {
			return nil
		}
	}
}

// AnswerGrace is how long, at least, the host may take to write what
// follows a complete or failed response (a buffered body, an error page)
// to a client that reads slowly; until then a write waits until the
// invocation's deadline at most.
const AnswerGrace = 30 * time.Second

// SetAnswerDeadline gives the writes that follow a complete or failed
// response (version 1's too) until deadline, and AnswerGrace from now at
// least: a timed-out invocation's 504 is written past its deadline.
func SetAnswerDeadline(w http.ResponseWriter, deadline time.Time) {
	d := time.Now().Add(AnswerGrace)
	if deadline.After(d) {
		d = deadline
	}
	SetWriteDeadline(w, d)
}

// SetWriteDeadline sets the write deadline of w's connection, as
// http.ResponseController does, through the writers that wrap it
// (Unwrap), without allocating: a ResponseController is one allocation,
// and a writer without deadlines (httptest's) an error made per call. It
// reports whether a writer took it.
func SetWriteDeadline(w http.ResponseWriter, t time.Time) bool {
	for {
		switch x := w.(type) {
		case interface{ SetWriteDeadline(time.Time) error }:
			return x.SetWriteDeadline(t) == nil
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return false
		}
	}
}

// startWatch counts inv as overdue on l, before its timeout is answered,
// and watches it (watch) until it ends or l stops. While l has an overdue
// invocation and its guest spins, l takes no new invocation (Loop.start):
// the watchdog is about to stop it, and one placed there would fail with
// it.
func (p *Pool) startWatch(l *Loop, inv *Invocation) {
	l.overdue.Add(1)
	go p.watch(l, inv)
}

// watch stops l when inv, past its deadline, has not ended and the guest
// runs without calling into the host for abi.WatchdogMs. When inv has
// not ended abi.WatchdogMs after its deadline though the guest does not
// spin (it waits on something that never comes: a task blocked for
// good), l is retired: it takes no new invocation, so that one such
// invocation does not hold a slot of the function for the instance's
// life, and it is stopped (ErrNeverEnded) once every invocation left on
// it is past its deadline by as much.
func (p *Pool) watch(l *Loop, inv *Invocation) {
	defer l.overdue.Add(-1)
	const bound = abi.WatchdogMs * time.Millisecond
	t := time.NewTicker(bound / 4)
	defer t.Stop()
	for {
		select {
		case <-l.dead:
			return
		case <-t.C:
			if inv.ended.Load() {
				return
			}
			if l.spinning(bound) {
				l.fail(ErrWatchdog)
				return
			}
			if time.Since(inv.hooks.Deadline) < bound {
				continue
			}
			if ids, all := l.retire(bound); all {
				l.fail(fmt.Errorf("%w (request ids %s): a task or goroutine that never returns", ErrNeverEnded, strings.Join(ids, ", ")))
				return
			}
		}
	}
}

// Abort aborts every invocation in flight on the pool's instances (their
// EventAbort with why, OnAbort), as Close's caller does when the host
// shuts down past its grace (abi.AbortShutdown).
func (p *Pool) Abort(why int32) {
	p.mu.Lock()
	insts := slices.Clone(p.insts)
	p.mu.Unlock()
	for _, l := range insts {
		l.mu.Lock()
		invs := make([]*Invocation, 0, len(l.invs))
		for _, inv := range l.invs {
			invs = append(invs, inv)
		}
		l.mu.Unlock()
		for _, inv := range invs {
			inv.abort(why)
		}
	}
}

// Close stops every instance: an idle one returns from its serving
// export (EventStop); a busy one gets EventSigterm, then EventStop when
// its last invocation ends; one still serving when ctx ends is stopped.
// It returns when every instance has ended.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	insts := slices.Clone(p.insts)
	if p.sweep != nil {
		close(p.sweep)
		p.sweep = nil
	}
	p.mu.Unlock()
	for _, l := range insts {
		if !l.stop() {
			l.sigterm()
		}
	}
	for _, l := range insts {
		select {
		case <-l.dead:
		case <-ctx.Done():
			l.fail(ErrClosed)
		}
		<-l.gone
	}
	return nil
}

// Inflight is the number of invocations started and not yet ended, on
// every instance.
func (p *Pool) Inflight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.insts {
		n += l.Inflight()
	}
	return n
}

// Idle is the number of live instances with no invocation in flight.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.insts {
		if l.Inflight() == 0 {
			n++
		}
	}
	return n
}

// LinearMemory is the linear memory of the live instances together, in
// bytes, as each guest's latest poll_oneoff found it: the size is
// recorded on the guest's goroutine, when it waits for events, and never
// read from another while the guest runs. An engine whose
// hostcall.Memory does not report its size (Size() uint32, as wazero's
// api.Memory) counts 0.
func (p *Pool) LinearMemory() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n uint64
	for _, l := range p.insts {
		n += l.memory.Load()
	}
	return n
}
