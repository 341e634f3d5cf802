// Package deadline is the context of the calls of one instance: it ends
// at the running invocation's deadline (its maxDuration) or when the
// invocation is cancelled, and is reused by the instance's next
// invocation. A warm invocation that nobody waits on so allocates no
// context, no channel and no timer, where context.WithDeadline makes five
// objects and a timer per invocation.
//
// Each use of a Context is a run, begun by Start and ended by End, by
// its deadline or by Cancel. Within a run it is a context.Context as
// context.WithDeadline's is: Err is context.DeadlineExceeded from the
// deadline on (read from the monotonic clock, so that it holds before any
// timer fires), Done closes when the run ends, and AfterFunc (which
// context.AfterFunc and the contexts derived from it use, so that they
// need no goroutine to watch it) runs its function then. Its timer runs
// only while someone has asked for Done.
//
// A holder of the Context must not use it after the run it was given in
// has ended, except through the contexts it derived from it: those ended
// with the run and stay ended.
package deadline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Context is the reusable context of one instance's calls. The zero
// value is ready to Start. It must not be copied.
type Context struct {
	mu       sync.Mutex
	run      uint64        // the current run, from 1
	deadline time.Time     // with its monotonic reading; zero for none
	err      error         // why the run ended; nil while it goes on
	ended    atomic.Bool   // err != nil, for Err without the lock
	done     chan struct{} // made by Done, closed when the run ends
	timer    *time.Timer   // ends the run at the deadline, once Done was asked for
	afters   []after       // the functions to run when the run ends
	// running counts the AfterFunc functions of ended runs that have not
	// returned, counted in under mu as their run ends: Start waits for
	// them, since they may ask Err of the run that ended (context's
	// cancel propagation does), which Start would reset. pending is its
	// count, so that Start need not wait when it is 0.
	running sync.WaitGroup
	pending atomic.Int64
	nextID  uint64
}

type after struct {
	id uint64
	f  func()
}

var _ context.Context = (*Context)(nil)

// Start begins a run that ends at deadline (zero: only by End or Cancel),
// ending the one before it if it was still going. It returns the run's
// number, which End and Cancel take.
func (c *Context) Start(deadline time.Time) uint64 {
	c.mu.Lock()
	if c.err == nil && c.run > 0 {
		fs := c.endLocked(context.Canceled)
		c.mu.Unlock()
		c.runAll(fs)
		c.mu.Lock()
	}
	if c.pending.Load() > 0 {
		// The ended run's functions may still ask Err: they see it ended.
		// (Counted in under mu as the run ended, so none is missed here.)
		c.mu.Unlock()
		c.running.Wait()
		c.mu.Lock()
	}
	c.run++
	c.deadline = deadline
	c.err = nil
	c.ended.Store(false)
	c.done = nil
	run := c.run
	c.mu.Unlock()
	return run
}

// End ends run with context.Canceled, if it is the current run and has
// not ended. An invocation calls it when it is over, so that what was
// derived from the context is released.
func (c *Context) End(run uint64) { c.Cancel(run, context.Canceled) }

// Cancel ends run with err (context.Canceled, context.DeadlineExceeded)
// if it is the current run and has not ended; a late call for a run that
// is over does nothing to the next one.
func (c *Context) Cancel(run uint64, err error) {
	c.mu.Lock()
	if run != c.run || c.err != nil {
		c.mu.Unlock()
		return
	}
	fs := c.endLocked(err)
	c.mu.Unlock()
	c.runAll(fs)
}

// endLocked ends the current run with err and returns the functions of
// AfterFunc to run, once c.mu is released.
func (c *Context) endLocked(err error) []func() {
	c.err = err
	c.ended.Store(true)
	if c.done != nil {
		close(c.done)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	if len(c.afters) == 0 {
		return nil
	}
	fs := make([]func(), len(c.afters))
	for i, a := range c.afters {
		fs[i] = a.f
	}
	c.count(len(fs))
	clear(c.afters)
	c.afters = c.afters[:0]
	return fs
}

// count counts in n functions about to run (runAll), under mu.
func (c *Context) count(n int) {
	if n > 0 {
		c.running.Add(n)
		c.pending.Add(int64(n))
	}
}

// runAll starts fs, counted in by count, each in its own goroutine, as
// context.AfterFunc's functions run; Start waits for them.
func (c *Context) runAll(fs []func()) {
	for _, f := range fs {
		go func() {
			defer func() {
				c.pending.Add(-1)
				c.running.Done()
			}()
			f()
		}()
	}
}

// expired reports whether the current run has reached its deadline.
func (c *Context) expired() bool {
	return !c.deadline.IsZero() && time.Until(c.deadline) <= 0
}

// Deadline returns the current run's deadline; ok is false without one.
func (c *Context) Deadline() (deadline time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadline, !c.deadline.IsZero()
}

// Done returns a channel closed when the current run ends. The first call
// in a run makes the channel and sets the timer of the deadline.
func (c *Context) Done() <-chan struct{} {
	c.mu.Lock()
	fs := c.doneLocked()
	done := c.done
	c.mu.Unlock()
	c.runAll(fs)
	return done
}

// doneLocked makes the run's channel and sets its timer if Done was not
// asked for yet, and returns the functions of AfterFunc to run if the run
// has just reached its deadline.
func (c *Context) doneLocked() []func() {
	if c.done != nil {
		return nil
	}
	c.done = make(chan struct{})
	switch {
	case c.err != nil:
		close(c.done)
	case c.expired():
		return c.endLocked(context.DeadlineExceeded)
	case !c.deadline.IsZero():
		if c.timer == nil {
			c.timer = time.AfterFunc(time.Until(c.deadline), c.expire)
		} else {
			c.timer.Reset(time.Until(c.deadline))
		}
	}
	return nil
}

// expire is the timer's function: it ends the current run if its
// deadline has passed (a timer set for an earlier run may fire late).
func (c *Context) expire() {
	c.mu.Lock()
	if c.err != nil || !c.expired() {
		c.mu.Unlock()
		return
	}
	fs := c.endLocked(context.DeadlineExceeded)
	c.mu.Unlock()
	c.runAll(fs)
}

// Err returns nil while the current run goes on, and why it ended once it
// has: context.DeadlineExceeded from its deadline on, or the error given
// to Cancel.
func (c *Context) Err() error {
	// The deadline is set by Start, before the run is handed to anyone.
	if !c.ended.Load() && !c.expired() {
		return nil
	}
	c.mu.Lock()
	if c.err != nil || !c.expired() {
		err := c.err
		c.mu.Unlock()
		return err
	}
	fs := c.endLocked(context.DeadlineExceeded)
	c.mu.Unlock()
	c.runAll(fs)
	return context.DeadlineExceeded
}

// Value returns nil: the context carries no values.
func (c *Context) Value(any) any { return nil }

// AfterFunc arranges for f to run in its own goroutine when the current
// run ends, as context.AfterFunc does (which calls it); at once if the run
// has ended. stop unregisters f, reporting whether it did so before f
// started.
func (c *Context) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	fs := c.doneLocked() // f must run at the deadline: the timer is set
	if c.err != nil {
		c.count(1)
		c.mu.Unlock()
		c.runAll(append(fs, f))
		return func() bool { return false }
	}
	c.nextID++
	run, id := c.run, c.nextID
	c.afters = append(c.afters, after{id: id, f: f})
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if run != c.run {
			return false
		}
		for i, a := range c.afters {
			if a.id == id {
				c.afters = append(c.afters[:i], c.afters[i+1:]...)
				return true
			}
		}
		return false
	}
}
