// Package pool keeps warm instances of one function and hands each to one
// invocation at a time, within a per-function and a global bound.
package pool

import (
	"context"
	"errors"
	"slices"
	"sync"
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
}

// NewLimit returns a limit of max live instances in all pools together.
func NewLimit(max int) *Limit {
	return &Limit{max: max, changed: make(chan struct{})}
}

func (l *Limit) tryAcquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.used >= l.max {
		return false
	}
	l.used++
	return true
}

func (l *Limit) release() {
	l.mu.Lock()
	l.used--
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

// Pool holds the instances of one function.
type Pool struct {
	newInstance Factory
	limit       *Limit
	max         int
	maxQueue    int
	timeout     time.Duration

	mu      sync.Mutex
	idle    []engine.Instance // most recently used last
	live    int
	waiters []chan engine.Instance
	closed  bool
}

// New returns a pool of at most max live instances, with at most maxQueue
// invocations waiting, each for at most timeout, within limit.
func New(newInstance Factory, max, maxQueue int, timeout time.Duration, limit *Limit) *Pool {
	p := &Pool{newInstance: newInstance, limit: limit, max: max, maxQueue: maxQueue, timeout: timeout}
	limit.mu.Lock()
	limit.pools = append(limit.pools, p)
	limit.mu.Unlock()
	return p
}

// Get returns an instance for one invocation: an idle one, a new one, or
// the next one released, waiting until ctx is done or the queue timeout
// passes (ErrQueueTimeout). It returns ErrThrottled at once when the queue
// is full.
func (p *Pool) Get(ctx context.Context) (engine.Instance, error) {
	for evicted := false; ; {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if n := len(p.idle); n > 0 {
			inst := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			return inst, nil
		}
		if p.live < p.max && p.limit.tryAcquire() {
			p.live++
			p.mu.Unlock()
			return p.create(ctx)
		}
		full := p.live < p.max // the global limit is what stops us
		p.mu.Unlock()
		if full && !evicted && p.limit.evictIdle(ctx, p) {
			evicted = true
			continue
		}
		break
	}
	return p.wait(ctx)
}

func (p *Pool) wait(ctx context.Context) (engine.Instance, error) {
	changed := p.limit.wait()
	p.mu.Lock()
	if len(p.waiters) >= p.maxQueue {
		p.mu.Unlock()
		return nil, ErrThrottled
	}
	ch := make(chan engine.Instance, 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	timer := time.NewTimer(p.timeout)
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
			if i := slices.Index(p.waiters, ch); i >= 0 && p.live < p.max && p.limit.tryAcquire() {
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
// that trapped or timed out) is closed, never reused.
func (p *Pool) Put(ctx context.Context, inst engine.Instance, healthy bool) {
	p.mu.Lock()
	if healthy && !p.closed {
		if p.handOff(inst) {
			return
		}
		// No one here wants it. If all capacity is in use and another
		// function waits for some, free this instance's share.
		p.mu.Unlock()
		starved := p.limit.starved(p)
		p.mu.Lock()
		if !starved {
			if !p.handOff(inst) {
				p.idle = append(p.idle, inst)
				p.mu.Unlock()
			}
			return
		}
	}
	p.live--
	p.mu.Unlock()
	_ = inst.Close(ctx)
	p.limit.release()
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
	inst := p.idle[0] // the least recently used
	p.idle = p.idle[1:]
	p.live--
	p.mu.Unlock()
	_ = inst.Close(ctx)
	p.limit.release()
	return true
}

// Stats is a snapshot of a pool.
type Stats struct {
	Live, Idle, Waiting int
}

// Stats returns the pool's counts.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Live: p.live, Idle: len(p.idle), Waiting: len(p.waiters)}
}

// Close closes the idle instances and fails the waiters. Instances in use
// are closed when they are put back.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	idle, waiters := p.idle, p.waiters
	p.idle, p.waiters = nil, nil
	p.live -= len(idle)
	p.mu.Unlock()
	for _, ch := range waiters {
		ch <- nil
	}
	var err error
	for _, inst := range idle {
		err = errors.Join(err, inst.Close(ctx))
		p.limit.release()
	}
	p.limit.mu.Lock()
	if i := slices.Index(p.limit.pools, p); i >= 0 {
		p.limit.pools = slices.Delete(p.limit.pools, i, i+1)
	}
	p.limit.mu.Unlock()
	return err
}
