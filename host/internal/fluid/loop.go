package fluid

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// ErrWatchdog is the cause of an instance stopped because an invocation
// was past its deadline and the guest had not called into the host for
// abi.WatchdogMs.
var ErrWatchdog = errors.New("wfn: the guest ran past an invocation's deadline without yielding")

// ErrServeReturned is the failure of the invocations of an instance whose
// serving export returned without being asked to stop.
var ErrServeReturned = errors.New("wfn: wfn_serve returned while invocations were in flight")

// ErrNeverEnded is the cause of an instance stopped because invocations
// on it did not end within abi.WatchdogMs of their deadline, though the
// guest was not spinning (a task or goroutine waiting on something that
// never comes), and no other invocation was left on it (Pool.watch).
var ErrNeverEnded = errors.New("wfn: invocations did not end within a second of their deadline")

// Loop is the host side of one version 2 instance: its event source and
// its invocations. Its imports run on the goroutine that runs the guest;
// the serving goroutines of its requests post events and read responses
// from other goroutines, so its state is locked.
type Loop struct {
	q *queue

	mu       sync.Mutex
	invs     map[uint32]*Invocation
	next     uint32
	inflight int // invocations started and not ended
	stopping bool
	// retired: an invocation did not end within abi.WatchdogMs of its
	// deadline; the instance takes no new invocation (Pool.watch).
	retired bool
	// idleSince is when the last invocation in flight ended; zero while
	// one is in flight.
	idleSince time.Time
	// stopPosted and sigtermPosted: EventStop and EventSigterm go to an
	// instance once each.
	stopPosted, sigtermPosted bool

	dead    chan struct{} // closed when the instance ends
	gone    chan struct{} // closed when the instance is closed, after dead
	deadErr error         // why, set before dead is closed

	lastHost atomic.Int64 // when the guest last called into the host (UnixNano)
	// polls counts the guest's calls of the interrupt checks' poll
	// function (Stepped), each after engine.PollSteps steps of its code;
	// pollsAtHost is what polls was at lastHost. The two tell a guest that
	// computes from one whose thread waits for a processor (computing).
	polls, pollsAtHost atomic.Int64
	parked             atomic.Bool // the guest waits in poll_oneoff
	// memory is the size of the guest's linear memory in bytes, as its
	// latest poll_oneoff found it (recordMemory); 0 before the first.
	memory atomic.Uint64
	// runSince is when the guest last stopped waiting in poll_oneoff
	// (UnixNano), or when the loop was made: how long it has run since
	// it last had nothing to do (cpuBusy).
	runSince atomic.Int64
	// busyUntil is until when (UnixNano) the guest counts as CPU-busy
	// after a run of busyAfter or longer ended: one short wait between
	// two long runs does not make it idle (cpuBusy).
	busyUntil atomic.Int64
	// lastEnd is when an invocation last ended (UnixNano): a guest that
	// runs without ending any is taking invocations in, which then wait,
	// not computing through them (cpuBusy).
	lastEnd atomic.Int64
	// overdue counts its invocations past their deadline that have not
	// ended (Pool.startWatch).
	overdue atomic.Int32
	// busyAfter is the pool's BusyAfter (Pool.busyAfter), set before
	// the serving call; 0 or less: never CPU-busy.
	busyAfter time.Duration

	// registering is the handler export of the registration call under
	// way (Pool.Exports), "" outside one. Set and read only on the
	// goroutine that makes the registration calls, before the serving
	// call starts.
	registering string

	cancel context.CancelCauseFunc // ends the serving call
	inst   Instance                // the engine's instance

	conns *outbound.Conns // its outbound TCP connections; nil: none served
	self  *Invocation     // id 0: the instance, for the imports that take it
}

func newLoop() *Loop {
	l := &Loop{q: newQueue(), invs: map[uint32]*Invocation{}, dead: make(chan struct{}), gone: make(chan struct{})}
	l.self = newInvocation()
	l.self.l = l
	l.enterHost()
	l.runSince.Store(l.lastHost.Load())
	return l
}

type loopKey struct{}

// WithLoop returns ctx carrying l, for the import and WASI functions an
// engine registers: they find the instance they serve with [LoopFrom].
func WithLoop(ctx context.Context, l *Loop) context.Context {
	return context.WithValue(ctx, loopKey{}, l)
}

// LoopFrom returns the loop of the serving call ctx belongs to, or nil
// (during the initialisation).
func LoopFrom(ctx context.Context) *Loop {
	l, _ := ctx.Value(loopKey{}).(*Loop)
	return l
}

// enterHost records that the guest called into the host.
func (l *Loop) enterHost() {
	l.lastHost.Store(time.Now().UnixNano())
	l.pollsAtHost.Store(l.polls.Load())
}

// Stepped records that the guest ran engine.PollSteps steps of its code
// since the last call: the engines call it from the poll function of the
// interrupt checks (wasmbin.Checks.Interrupt), on the guest's goroutine.
// It is not a call into the host in the sense of enterHost: a guest that
// only polls is computing, and the watchdog still applies to it.
func (l *Loop) Stepped() { l.polls.Add(1) }

// busyPolls is how many interrupt polls (engine.PollSteps = 2^18 steps
// each, about 0.1 ms of guest code on a 2026 server core) a guest makes
// without any other host call before a run of busyAfter without host
// calls counts as computing: about 6 ms of code. A guest whose thread
// waits for a processor makes none, however long the wait.
const busyPolls = 64

func (l *Loop) park() {
	l.enterHost()
	now := l.lastHost.Load()
	if l.computing(now) {
		l.busyUntil.Store(now + int64(l.busyAfter))
	}
	l.parked.Store(true)
}

func (l *Loop) unpark() {
	l.enterHost()
	l.runSince.Store(l.lastHost.Load())
	l.parked.Store(false)
}

// waitEvents is poll_oneoff's wait on the event source: it returns at
// once when an event is pending or timeout is 0 (a poll that does not
// wait, which Go's scheduler makes between goroutines), else it parks the
// guest until an event is pending, timeout passes (negative: no bound)
// or ctx ends. Only a wait that blocks ends a run of the guest (cpuBusy).
func (l *Loop) waitEvents(ctx context.Context, timeout time.Duration) bool {
	if timeout == 0 || l.q.pending() {
		l.enterHost()
		return l.q.pending()
	}
	l.park()
	ready := l.q.wait(ctx, timeout)
	l.unpark()
	return ready
}

// computing reports whether, at now (UnixNano), the guest has run for
// busyAfter or longer without blocking in poll_oneoff, and in the last
// busyAfter of that run either ended an invocation (it computes through
// its invocations more slowly than they come) or made no host call but
// busyPolls or more interrupt polls (one invocation computes, holding up
// the others on its instance). A guest that only takes new invocations
// in (a burst of requests that then wait on a backend) calls the host
// for each and ends none: it is not computing, and those invocations
// pack into its instance; nor is one whose thread waits for a processor
// (no poll), which wall time alone cannot tell from one that computes.
func (l *Loop) computing(now int64) bool {
	d := int64(l.busyAfter)
	since := l.runSince.Load()
	if d <= 0 || now-since < d {
		return false
	}
	if l.lastEnd.Load() >= max(since, now-d) {
		return true
	}
	return now-l.lastHost.Load() >= d && l.polls.Load()-l.pollsAtHost.Load() >= busyPolls
}

// cpuBusy reports whether, at now (UnixNano), the guest counts as
// CPU-busy (Pool.BusyAfter): it is computing, or a run in which it was
// ended less than busyAfter ago, so that one short wait between two such
// runs does not make it idle.
func (l *Loop) cpuBusy(now int64) bool {
	if l.busyAfter <= 0 {
		return false
	}
	if now < l.busyUntil.Load() {
		return true
	}
	return !l.parked.Load() && l.computing(now)
}

// memorySizer is a hostcall.Memory that knows the size of the linear
// memory, in bytes (wazero's api.Memory, the Wasmtime engine's view).
type memorySizer interface {
	Size() uint32
}

// recordMemory records the size of the guest's linear memory. It is
// called on the guest's goroutine (poll_oneoff), where the memory cannot
// grow during the call: the size is never read while the guest runs.
func (l *Loop) recordMemory(mem hostcall.Memory) {
	if m, ok := mem.(memorySizer); ok {
		l.memory.Store(uint64(m.Size()))
	}
}

// spinning reports whether the guest has run for at least d without
// calling into the host.
func (l *Loop) spinning(d time.Duration) bool {
	return !l.parked.Load() && time.Since(time.Unix(0, l.lastHost.Load())) >= d
}

// lookup returns the live invocation id, or nil.
func (l *Loop) lookup(id uint32) *Invocation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.invs[id]
}

// start registers inv, gives it an id and posts its EventInvoke. It fails
// when the instance is full, stopping or dead, or spinning with an
// invocation past its deadline.
func (l *Loop) start(inv *Invocation, bound int) bool {
	l.mu.Lock()
	if l.stopping || l.retired || l.inflight >= bound || l.deadErr != nil {
		l.mu.Unlock()
		return false
	}
	if l.overdue.Load() > 0 && l.spinning(abi.CPUBusyMs*time.Millisecond) {
		// An invocation is past its deadline and the guest has not
		// called into the host for CPUBusyMs: the watchdog is likely to
		// stop the instance, and this invocation with it.
		l.mu.Unlock()
		return false
	}
	l.next++
	if l.next == 0 {
		l.next = 1
	}
	inv.id, inv.l = l.next, l
	l.invs[inv.id] = inv
	l.inflight++
	l.idleSince = time.Time{}
	l.mu.Unlock()
	l.q.post(abi.EventInvoke, inv.id, 0, 0)
	return true
}

// end releases invocation id: the guest called invocation_end.
func (l *Loop) end(inv *Invocation) {
	l.lastEnd.Store(time.Now().UnixNano())
	l.mu.Lock()
	if l.invs[inv.id] == inv {
		delete(l.invs, inv.id)
		l.inflight--
		if l.inflight == 0 {
			l.idleSince = time.Now()
			if l.sigtermPosted && !l.stopPosted && l.deadErr == nil {
				// Shutting down (EventSigterm) and now idle: the guest
				// returns from its serving export (SPEC-v2.md section 4).
				l.stopLocked()
			}
		}
	}
	l.mu.Unlock()
}

// Inflight is the number of invocations started and not yet ended.
func (l *Loop) Inflight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}

// SoleRequestID returns the request id of the one invocation in flight,
// or "" when none or several are: then a line the guest writes to stdout
// or stderr cannot be told to be an invocation's (abi/SPEC-v2.md section
// 10; the log import takes the id).
func (l *Loop) SoleRequestID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight != 1 {
		return ""
	}
	for _, inv := range l.invs {
		return inv.req.ID
	}
	return ""
}

// fail ends the instance: every invocation in flight fails with err.
func (l *Loop) fail(err error) {
	l.mu.Lock()
	if l.deadErr != nil {
		l.mu.Unlock()
		return
	}
	l.deadErr = err
	l.stopping = true
	invs := l.invs
	l.invs = map[uint32]*Invocation{}
	l.inflight = 0
	l.mu.Unlock()
	close(l.dead)
	for _, inv := range invs {
		inv.finish()
	}
	if l.cancel != nil {
		l.cancel(err)
	}
}

// Err is why the instance ended, or nil while it serves.
func (l *Loop) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadErr
}

// stop asks the guest to return from its serving export, when no
// invocation is in flight, and reports whether it is asked (now or
// before: EventStop is posted once).
func (l *Loop) stop() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopPosted {
		return true
	}
	if l.inflight > 0 || l.deadErr != nil {
		return false
	}
	l.stopLocked()
	return true
}

func (l *Loop) stopLocked() {
	l.stopping, l.stopPosted = true, true
	l.q.post(abi.EventStop, 0, 0, 0)
}

// sigterm shuts the instance down: no invocation starts on it from now
// on; a busy one gets EventSigterm (once per instance) and then EventStop
// when its last invocation ends (end); one idle by now gets EventStop at
// once. Nothing is posted when the guest was already asked to stop.
func (l *Loop) sigterm() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sigtermPosted || l.stopPosted || l.deadErr != nil {
		return
	}
	l.stopping = true
	if l.inflight == 0 {
		// Its last invocation ended since the caller found it busy.
		l.stopLocked()
		return
	}
	l.sigtermPosted = true
	l.q.post(abi.EventSigterm, 0, 0, 0)
}

// closeIdle asks the guest to return from its serving export (EventStop)
// when no invocation has been in flight since before cutoff, and reports
// whether it did. No invocation starts on it afterwards (start fails).
func (l *Loop) closeIdle(cutoff time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping || l.deadErr != nil || l.inflight > 0 || l.idleSince.IsZero() || l.idleSince.After(cutoff) {
		return false
	}
	l.stopLocked()
	return true
}

// retire makes l take no new invocation, and reports the request ids of
// the invocations on it and whether every one is past its deadline by
// grace or more: none is left that may still end.
func (l *Loop) retire(grace time.Duration) (ids []string, all bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retired = true
	now := time.Now()
	for _, inv := range l.invs {
		if now.Sub(inv.hooks.Deadline) < grace {
			return nil, false
		}
		ids = append(ids, inv.req.ID)
	}
	slices.Sort(ids)
	return ids, true
}
