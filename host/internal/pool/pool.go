// Package pool keeps warm instances of one function and hands each to one
// invocation at a time, within a per-function and a global bound.
package pool

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/host/internal/engine"
)

var (
	// ErrThrottled is returned by Get when the function's queue is full.
	ErrThrottled = errors.New("wfn: too many invocations waiting for an instance")
	// ErrQueueTimeout is returned by Get when no instance came free within
	// the pool's queue timeout.
	ErrQueueTimeout = errors.New("wfn: timed out waiting for an instance")
	// ErrClosed is returned by Get once the pool is closed.
	ErrClosed = errors.New("wfn: pool closed")
)

// Factory creates an instance.
type Factory func(ctx context.Context) (engine.Instance, error)

// Limit bounds the number of live instances across pools.
type Limit struct {
	mu      sync.Mutex
	used    int
	max     int
	changed chan struct{} // closed and replaced when capacity frees up
	pools   []*Pool
	// full is used >= max, set under mu and read without it: while it is
	// false no pool can be starved, which every Put asks.
	full atomic.Bool
	// calls bounds the Close and Suspend calls that the pools make
	// together on instances they took out of their idle lists (see
	// concurrentCalls).
	calls chan struct{}
}

// concurrentCalls is how many Close and Suspend calls the pools of a
// Limit make at once when they close or suspend idle instances in bulk
// (Close, Drain, the sweep). Each may run the guest's wfn_on_suspend,
// which the host gives up to 500 ms and which mostly waits on the network
// (closing a database pool's connections): one after another, a hundred
// such instances would hold a shutdown for 50 s; all at once, a thousand
// would start a thousand guest calls.
const concurrentCalls = 16

// NewLimit returns a limit of max live instances in all pools together.
func NewLimit(max int) *Limit {
	return &Limit{max: max, changed: make(chan struct{}), calls: make(chan struct{}, concurrentCalls)}
}

// each calls f(i) for i in [0, n), at most concurrentCalls at once
// across the limit's pools, and returns when all calls have. One call
// runs on the caller's goroutine.
func (l *Limit) each(n int, f func(i int)) {
	if n == 1 {
		l.calls <- struct{}{}
		defer func() { <-l.calls }()
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		l.calls <- struct{}{}
		wg.Go(func() {
			defer func() { <-l.calls }()
			f(i)
		})
	}
	wg.Wait()
}

// closeAll closes instances already taken out of their pool's counts,
// concurrently (Limit.each), releasing each one's share of the limit.
func (l *Limit) closeAll(ctx context.Context, insts []engine.Instance) error {
	errs := make([]error, len(insts))
	l.each(len(insts), func(i int) {
		errs[i] = insts[i].Close(ctx)
		l.release()
	})
	return errors.Join(errs...)
}

func (l *Limit) tryAcquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.used >= l.max {
		return false
	}
	l.used++
	l.full.Store(l.used >= l.max)
	return true
}

func (l *Limit) release() {
	l.mu.Lock()
	l.used--
	l.full.Store(l.used >= l.max)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *Limit) wait() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// starved reports whether the limit is reached while a pool other than
// except has invocations waiting.
func (l *Limit) starved(except *Pool) bool {
	if !l.full.Load() {
		return false
	}
	l.mu.Lock()
	full := l.used >= l.max
	pools := l.pools
	if full {
		pools = slices.Clone(pools)
	}
	l.mu.Unlock()
	if !full {
		return false
	}
	for _, p := range pools {
		if p == except {
			continue
		}
		p.mu.Lock()
		n := len(p.waiters)
		p.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// evictIdle closes one idle instance of any pool but except, to make room.
// It reports whether it did.
func (l *Limit) evictIdle(ctx context.Context, except *Pool) bool {
	l.mu.Lock()
	pools := slices.Clone(l.pools)
	l.mu.Unlock()
	for _, p := range pools {
		if p != except && p.evictOne(ctx) {
			return true
		}
	}
	return false
}

// Policy is how a pool keeps instances.
type Policy struct {
	// Max bounds the pool's live instances, and so its concurrent
	// invocations.
	Max int
	// MaxQueue bounds the invocations waiting for an instance; Timeout
	// bounds how long each waits.
	MaxQueue int
	Timeout  time.Duration
	// MinIdle instances are kept idle in reserve: created by Prewarm and
	// again in the background whenever an invocation takes one.
	MinIdle int
	// IdleTimeout closes an instance that stayed idle this long, down to
	// MinIdle. Zero: idle instances stay until evicted for another pool.
	IdleTimeout time.Duration
	// MaxUses retires an instance after this many invocations: 1 gives
	// every invocation a fresh instance. Zero: no limit.
	MaxUses int
	// OnError receives the errors of background instance creation.
	OnError func(error)
	// Suspend, when set, is called on an instance that stayed idle for
	// SuspendAfter, once per idle period; an error closes the instance.
	// While it runs no invocation can take the instance: a Get that
	// finds no other idle instance waits for the call to end rather than
	// make an instance, so Suspend must return within a short bound (the
	// host's wfn_on_suspend has 500 ms). The idle list is swept every
	// quarter of the shorter of IdleTimeout and SuspendAfter, so Suspend
	// comes at least SuspendAfter and at most SuspendAfter plus two
	// sweeps after the instance went idle (1.25 times SuspendAfter when
	// it is the shorter), and costs Put nothing.
	Suspend      func(engine.Instance) error
	SuspendAfter time.Duration
}

// Pool holds the instances of one function.
type Pool struct {
	newInstance Factory
	limit       *Limit
	policy      Policy

	mu        sync.Mutex
	idle      []idleInstance // most recently used last
	live      int
	waiters   []chan engine.Instance
	uses      map[engine.Instance]int // when policy.MaxUses > 1
	closed    bool
	refilling bool
	gets      uint64         // calls of Get
	drained   bool           // by Drain, until the next Get: no reserve
	stop      chan struct{}  // closed by Close: ends the sweep
	bg        sync.WaitGroup // the sweep and the refill

	// suspending counts the instances taken out of the idle list for
	// Policy.Suspend; resumers, the Gets waiting for one of them, at
	// most one each. resumed is closed and replaced when a Suspend call
	// ends.
	suspending, resumers int
	resumed              chan struct{}
}

type idleInstance struct {
	inst engine.Instance
	// since is when the sweep first saw it idle, at most a period after
	// it went idle: zero until then, so that Put reads no clock. The
	// unstamped ones are the most recent, at the end of the idle list.
	since time.Time
	// suspended is true once Suspend was called in this idle period.
	suspended bool
}

// New returns a pool that keeps instances by policy, within limit.
func New(newInstance Factory, policy Policy, limit *Limit) *Pool {
	policy.MinIdle = min(policy.MinIdle, policy.Max)
	if policy.Suspend == nil {
		policy.SuspendAfter = 0
	}
	p := &Pool{newInstance: newInstance, limit: limit, policy: policy, stop: make(chan struct{}), resumed: make(chan struct{})}
	if policy.MaxUses > 1 {
		p.uses = map[engine.Instance]int{}
	}
	limit.mu.Lock()
	limit.pools = append(limit.pools, p)
	limit.mu.Unlock()
	if policy.IdleTimeout > 0 || policy.SuspendAfter > 0 {
		p.bg.Go(p.sweep)
	}
	return p
}

// sweepPeriod is the time between two sweeps: a quarter of the shorter
// of the idle timeout and the suspend time, the idle timeout's at least
// 10 ms.
func (p *Pool) sweepPeriod() time.Duration {
	period := time.Duration(math.MaxInt64)
	if p.policy.IdleTimeout > 0 {
		period = max(p.policy.IdleTimeout/4, 10*time.Millisecond)
	}
	if p.policy.SuspendAfter > 0 {
		period = min(period, max(p.policy.SuspendAfter/4, time.Millisecond))
	}
	return period
}

// sweep closes the instances idle longer than the idle timeout, keeping
// the reserve, and calls Policy.Suspend on those idle for SuspendAfter,
// taking each out of the idle list while it runs. It stamps the
// instances that went idle since its last round with the time of this
// one, which is later than when they went idle by at most a period, so
// an instance is closed between the idle timeout and the timeout plus
// two periods after it went idle, and suspended likewise.
func (p *Pool) sweep() {
	tick := time.NewTicker(p.sweepPeriod())
	defer tick.Stop()
	for {
		var now time.Time
		select {
		case <-p.stop:
			return
		case now = <-tick.C:
		}
		var expired []engine.Instance
		var due []idleInstance
		p.mu.Lock()
		// The unstamped ones are the most recent, at the end.
		for i := len(p.idle) - 1; i >= 0 && p.idle[i].since.IsZero(); i-- {
			p.idle[i].since = now
		}
		if p.policy.IdleTimeout > 0 {
			// idle[0] has been idle the longest.
			cutoff := now.Add(-p.policy.IdleTimeout)
			for len(p.idle) > p.policy.MinIdle && !p.idle[0].since.After(cutoff) {
				inst := p.idle[0].inst
				p.idle = p.idle[1:]
				p.live--
				delete(p.uses, inst)
				expired = append(expired, inst)
			}
		}
		if p.policy.SuspendAfter > 0 {
			keep := p.idle[:0]
			for _, e := range p.idle {
				if !e.suspended && now.Sub(e.since) >= p.policy.SuspendAfter {
					due = append(due, e)
					continue
				}
				keep = append(keep, e)
			}
			clear(p.idle[len(keep):])
			p.idle = keep
			p.suspending += len(due)
		}
		p.mu.Unlock()
		_ = p.limit.closeAll(context.Background(), expired)
		p.limit.each(len(due), func(i int) { p.suspend(due[i]) })
	}
}

// suspend calls Policy.Suspend on e, which the sweep took out of the
// idle list, and puts it back, or closes it when Suspend failed.
func (p *Pool) suspend(e idleInstance) {
	err := p.policy.Suspend(e.inst)
	p.mu.Lock()
	p.suspending--
	close(p.resumed)
	p.resumed = make(chan struct{})
	if err == nil && !p.closed {
		e.suspended = true
		if p.handOff(e.inst) {
			return
		}
		// Back where its idle time (stamped: the sweep took it) puts
		// it: the sweep takes idle[0] first, and stamps the unstamped
		// ones from the end.
		n := len(p.idle)
		for n > 0 && p.idle[n-1].since.IsZero() {
			n--
		}
		i, _ := slices.BinarySearchFunc(p.idle[:n], e.since, func(x idleInstance, t time.Time) int { return x.since.Compare(t) })
		p.idle = slices.Insert(p.idle, i, e)
		p.mu.Unlock()
		return
	}
	p.live--
	delete(p.uses, e.inst)
	p.mu.Unlock()
	_ = e.inst.Close(context.Background())
	p.limit.release()
}

// Prewarm starts creating the reserve of idle instances in the
// background. It does not wait.
func (p *Pool) Prewarm() {
	p.mu.Lock()
	p.refillLocked()
	p.mu.Unlock()
}

// refillLocked starts the background creation of instances when the
// reserve is short. p.mu is held.
func (p *Pool) refillLocked() {
	if p.refilling || p.closed || p.drained || len(p.idle) >= p.policy.MinIdle {
		return
	}
	p.refilling = true
	p.bg.Go(p.refill)
}

func (p *Pool) refill() {
	for {
		if p.limit.starved(p) {
			p.mu.Lock()
			p.refilling = false
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		if p.closed || p.drained || len(p.idle) >= p.policy.MinIdle || p.live >= p.policy.Max || !p.limit.tryAcquire() {
			p.refilling = false
			p.mu.Unlock()
			return
		}
		p.live++
		p.mu.Unlock()
		inst, err := p.newInstance(context.Background())
		if err != nil {
			p.mu.Lock()
			p.live--
			p.refilling = false
			p.mu.Unlock()
			p.limit.release()
			if p.policy.OnError != nil {
				p.policy.OnError(err)
			}
			return // the next invocation tries again
		}
		p.mu.Lock()
		if p.closed {
			p.live--
			p.refilling = false
			p.mu.Unlock()
			_ = inst.Close(context.Background())
			p.limit.release()
			return
		}
		if !p.handOff(inst) {
			p.idle = append(p.idle, idleInstance{inst: inst})
			p.mu.Unlock()
		}
	}
}

// Get returns an instance for one invocation: an idle one, a new one, or
// the next one released, waiting until ctx is done or the queue timeout
// passes (ErrQueueTimeout). It returns ErrThrottled at once when the queue
// is full.
//
// An instance in its Policy.Suspend call counts as idle: when no other
// is, Get waits for the call to end (one Get per such instance; the
// others go on) instead of making an instance, so that suspension never
// costs an invocation a cold start.
func (p *Pool) Get(ctx context.Context) (engine.Instance, error) {
	for again, evicted := false, false; ; again = true {
		p.mu.Lock()
		if !again {
			p.gets++
			p.drained = false
		}
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if n := len(p.idle); n > 0 {
			inst := p.idle[n-1].inst
			p.idle = p.idle[:n-1]
			if n <= p.policy.MinIdle {
				p.refillLocked()
			}
			p.mu.Unlock()
			return inst, nil
		}
		if p.resumers < p.suspending {
			if err := p.awaitResume(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if p.live < p.policy.Max && p.limit.tryAcquire() {
			p.live++
			if p.policy.MinIdle > 0 {
				p.refillLocked()
			}
			p.mu.Unlock()
			return p.create(ctx)
		}
		full := p.live < p.policy.Max // the global limit is what stops us
		p.mu.Unlock()
		if full && !evicted && p.limit.evictIdle(ctx, p) {
			evicted = true
			continue
		}
		break
	}
	return p.wait(ctx)
}

// awaitResume waits, as one of the resumers, until a Suspend call ends
// or ctx is done. p.mu is held, and unlocked on return.
func (p *Pool) awaitResume(ctx context.Context) error {
	p.resumers++
	resumed := p.resumed
	p.mu.Unlock()
	var err error
	select {
	case <-resumed:
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.mu.Lock()
	p.resumers--
	p.mu.Unlock()
	return err
}

func (p *Pool) wait(ctx context.Context) (engine.Instance, error) {
	changed := p.limit.wait()
	p.mu.Lock()
	if len(p.waiters) >= p.policy.MaxQueue {
		p.mu.Unlock()
		return nil, ErrThrottled
	}
	ch := make(chan engine.Instance, 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	timer := time.NewTimer(p.policy.Timeout)
	defer timer.Stop()
	for {
		var err error
		select {
		case inst := <-ch:
			if inst == nil {
				return nil, ErrClosed
			}
			return inst, nil
		case <-changed:
			// Capacity freed up somewhere: create an instance if we may.
			changed = p.limit.wait()
			p.mu.Lock()
			if i := slices.Index(p.waiters, ch); i >= 0 && p.live < p.policy.Max && p.limit.tryAcquire() {
				p.waiters = slices.Delete(p.waiters, i, i+1)
				p.live++
				p.mu.Unlock()
				return p.create(ctx)
			}
			p.mu.Unlock()
			continue
		case <-ctx.Done():
			err = ctx.Err()
		case <-timer.C:
			err = ErrQueueTimeout
		}
		p.mu.Lock()
		if i := slices.Index(p.waiters, ch); i >= 0 {
			p.waiters = slices.Delete(p.waiters, i, i+1)
			p.mu.Unlock()
			return nil, err
		}
		p.mu.Unlock()
		// Handed an instance as we gave up: pass it on.
		if inst := <-ch; inst != nil {
			p.Put(ctx, inst, true)
		}
		return nil, err
	}
}

func (p *Pool) create(ctx context.Context) (engine.Instance, error) {
	inst, err := p.newInstance(ctx)
	if err != nil {
		p.mu.Lock()
		p.live--
		p.mu.Unlock()
		p.limit.release()
		return nil, err
	}
	return inst, nil
}

// Put returns an instance after an invocation. An unhealthy instance (one
// that trapped or timed out) is closed, never reused; so is one that
// served the policy's MaxUses invocations.
func (p *Pool) Put(ctx context.Context, inst engine.Instance, healthy bool) {
	p.mu.Lock()
	if healthy && p.policy.MaxUses > 0 {
		if p.policy.MaxUses == 1 {
			healthy = false
		} else if n := p.uses[inst] + 1; n >= p.policy.MaxUses {
			healthy = false
		} else {
			p.uses[inst] = n
		}
	}
	if !healthy {
		delete(p.uses, inst)
	}
	if healthy && !p.closed {
		if p.handOff(inst) {
			return
		}
		// No one here wants it. If all capacity is in use and another
		// function waits for some, free this instance's share. Capacity
		// left means no one can be waiting for it: the common case keeps
		// the lock.
		if !p.limit.full.Load() {
			p.idle = append(p.idle, idleInstance{inst: inst})
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		starved := p.limit.starved(p)
		p.mu.Lock()
		if !starved {
			if !p.handOff(inst) {
				p.idle = append(p.idle, idleInstance{inst: inst})
				p.mu.Unlock()
			}
			return
		}
		delete(p.uses, inst)
	}
	p.live--
	p.mu.Unlock()
	_ = inst.Close(ctx)
	p.limit.release()
	if p.policy.MinIdle > 0 {
		p.Prewarm()
	}
}

// handOff gives inst to the first waiter, if any, and unlocks p.mu when it
// does.
func (p *Pool) handOff(inst engine.Instance) bool {
	if len(p.waiters) == 0 {
		return false
	}
	ch := p.waiters[0]
	p.waiters = p.waiters[1:]
	p.mu.Unlock()
	ch <- inst
	return true
}

// evictOne closes one idle instance, reporting whether there was one.
func (p *Pool) evictOne(ctx context.Context) bool {
	p.mu.Lock()
	if len(p.idle) == 0 {
		p.mu.Unlock()
		return false
	}
	inst := p.idle[0].inst // the least recently used
	p.idle = p.idle[1:]
	p.live--
	delete(p.uses, inst)
	p.mu.Unlock()
	_ = inst.Close(ctx)
	p.limit.release()
	return true
}

// Gets returns the number of calls of Get so far: a pool whose count
// did not change for a while has not been used.
func (p *Pool) Gets() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gets
}

// Drain closes the idle instances, the reserve (Policy.MinIdle)
// included, for a function that is no longer used, and makes no reserve
// until the next Get. Instances in use are left alone.
func (p *Pool) Drain(ctx context.Context) error {
	p.mu.Lock()
	p.drained = true
	idle := p.idle
	p.idle = nil
	p.live -= len(idle)
	for _, e := range idle {
		delete(p.uses, e.inst)
	}
	p.mu.Unlock()
	return p.limit.closeAll(ctx, instances(idle))
}

// instances returns the instances of an idle list.
func instances(idle []idleInstance) []engine.Instance {
	insts := make([]engine.Instance, len(idle))
	for i, e := range idle {
		insts[i] = e.inst
	}
	return insts
}

// Stats is a snapshot of a pool.
type Stats struct {
	// Waiting counts the Gets waiting for an instance: in the queue, or
	// for the end of a Suspend call.
	Live, Idle, Waiting int
}

// Stats returns the pool's counts.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Live: p.live, Idle: len(p.idle), Waiting: len(p.waiters) + p.resumers}
}

// Close closes the idle instances and fails the waiters. Instances in use
// are closed when they are put back.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		close(p.stop)
	}
	p.closed = true
	idle, waiters := p.idle, p.waiters
	p.idle, p.waiters = nil, nil
	p.live -= len(idle)
	p.mu.Unlock()
	for _, ch := range waiters {
		ch <- nil
	}
	err := p.limit.closeAll(ctx, instances(idle))
	p.bg.Wait()
	p.limit.mu.Lock()
	if i := slices.Index(p.limit.pools, p); i >= 0 {
		p.limit.pools = slices.Delete(p.limit.pools, i, i+1)
	}
	p.limit.mu.Unlock()
	return err
}
