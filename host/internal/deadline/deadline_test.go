package deadline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// wait is how long a test waits for what must happen at once or at a
// deadline of a few milliseconds; a loaded machine is slow, never this slow.
const wait = 10 * time.Second

func closed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("%s: not closed after %s", what, wait)
	}
}

func open(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s: closed", what)
	default:
	}
}

// TestErrAtDeadlineWithoutDone: Err turns DeadlineExceeded at the deadline
// with no timer set (nobody asked for Done), as a guest's poll reads it.
func TestErrAtDeadlineWithoutDone(t *testing.T) {
	var c Context
	c.Start(time.Now().Add(time.Millisecond))
	for end := time.Now().Add(wait); c.Err() == nil; {
		if time.Now().After(end) {
			t.Fatalf("Err still nil %s after a deadline of 1 ms", wait)
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Fatalf("Err = %v, want DeadlineExceeded", err)
	}
	if c.timer != nil {
		t.Error("a timer was made though nobody asked for Done")
	}
	closed(t, "Done after the deadline", c.Done())
}

func TestDoneClosesAtDeadline(t *testing.T) {
	var c Context
	deadline := time.Now().Add(5 * time.Millisecond)
	c.Start(deadline)
	if d, ok := c.Deadline(); !ok || !d.Equal(deadline) {
		t.Fatalf("Deadline = %v, %v; want %v, true", d, ok, deadline)
	}
	closed(t, "Done", c.Done())
	if time.Now().Before(deadline) {
		t.Fatal("Done closed before the deadline")
	}
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Fatalf("Err = %v, want DeadlineExceeded", err)
	}
}

func TestEndAndCancel(t *testing.T) {
	var c Context
	run := c.Start(time.Now().Add(time.Hour))
	done := c.Done()
	open(t, "Done while the run goes on", done)
	if err := c.Err(); err != nil {
		t.Fatalf("Err = %v while the run goes on", err)
	}
	c.End(run)
	closed(t, "Done after End", done)
	if err := c.Err(); err != context.Canceled {
		t.Fatalf("Err after End = %v, want Canceled", err)
	}
	// Cancel of a run that has ended keeps its first error.
	c.Cancel(run, context.DeadlineExceeded)
	if err := c.Err(); err != context.Canceled {
		t.Fatalf("Err after a second Cancel = %v, want Canceled", err)
	}
}

// TestNextRun: a run starts afresh, and a late Cancel or timer of the run
// before it leaves it alone.
func TestNextRun(t *testing.T) {
	var c Context
	r1 := c.Start(time.Now().Add(time.Hour))
	first := c.Done()
	c.End(r1)
	r2 := c.Start(time.Now().Add(time.Hour))
	if r2 == r1 {
		t.Fatal("Start gave the same run twice")
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err of a new run = %v", err)
	}
	second := c.Done()
	if second == first {
		t.Fatal("a new run has the ended run's channel")
	}
	c.Cancel(r1, context.Canceled) // an abort that comes late
	c.expire()                     // a timer of the first run that fires late
	open(t, "the second run's Done after the first run's late Cancel", second)
	if err := c.Err(); err != nil {
		t.Fatalf("Err = %v after the first run's late Cancel", err)
	}
	// Start ends a run that was not ended.
	c.Start(time.Now().Add(time.Hour))
	closed(t, "Done of a run that the next Start ended", second)
}

// TestDerived: a context derived within a run ends with it, through
// AfterFunc (no goroutine of the context package's), and stays ended in
// the next run.
func TestDerived(t *testing.T) {
	var c Context
	run := c.Start(time.Now().Add(time.Hour))
	child, cancel := context.WithCancel(&c)
	defer cancel()
	if len(c.afters) != 1 {
		t.Fatalf("context.WithCancel registered %d functions with AfterFunc, want 1", len(c.afters))
	}
	open(t, "child's Done", child.Done())
	c.End(run)
	closed(t, "child's Done after End", child.Done())
	c.Start(time.Now().Add(time.Hour))
	if child.Err() != context.Canceled {
		t.Fatalf("child's Err in the next run = %v, want Canceled", child.Err())
	}

	// And at the deadline.
	c.Start(time.Now().Add(5 * time.Millisecond))
	timed, cancel2 := context.WithCancel(&c)
	defer cancel2()
	closed(t, "child's Done at the deadline", timed.Done())
	if err := timed.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("child's Err at the deadline = %v", err)
	}
	if err := context.Cause(&c); err != context.DeadlineExceeded {
		t.Fatalf("Cause = %v, want DeadlineExceeded", err)
	}
}

func TestAfterFunc(t *testing.T) {
	var c Context
	run := c.Start(time.Now().Add(time.Hour))
	ran := make(chan struct{})
	stop := context.AfterFunc(&c, func() { close(ran) })
	stopped := context.AfterFunc(&c, func() { t.Error("a stopped function ran") })
	if !stopped() {
		t.Fatal("stop before the end = false")
	}
	c.End(run)
	closed(t, "AfterFunc's function after End", ran)
	if stop() {
		t.Fatal("stop after the function ran = true")
	}
	// On a run that has ended, at once.
	now := make(chan struct{})
	context.AfterFunc(&c, func() { close(now) })
	closed(t, "AfterFunc on an ended run", now)
}

// TestConcurrent is for -race: the guest's poll reads Err while an abort
// cancels and a sleeper waits on Done.
func TestConcurrent(t *testing.T) {
	var c Context
	for range 50 {
		run := c.Start(time.Now().Add(time.Millisecond))
		var wg sync.WaitGroup
		wg.Go(func() {
			for c.Err() == nil {
			}
		})
		wg.Go(func() { <-c.Done() })
		wg.Go(func() { c.Cancel(run, context.Canceled) })
		wg.Wait()
		c.End(run)
	}
}

// A context derived from a run is cancelled by its end through AfterFunc,
// whose function asks the parent's Err: the next Start waits for it, so
// it never finds the next run going (context panics with "missing cancel
// error" then; wfn serve crashed on it under the HTTP caching suite).
func TestStartWaitsForTheEndedRunsFunctions(t *testing.T) {
	var c Context
	for range 2000 {
		run := c.Start(time.Now().Add(time.Minute))
		child, cancel := context.WithCancel(&c)
		c.End(run)
		next := c.Start(time.Time{})
		if child.Err() == nil {
			select {
			case <-child.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("a context derived from an ended run is not cancelled")
			}
		}
		cancel()
		c.End(next)
	}
}
