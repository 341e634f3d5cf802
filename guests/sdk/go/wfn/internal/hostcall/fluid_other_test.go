//go:build !wasip1 && wfn_fluid

package hostcall

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// noHost is a Host whose imports are never called.
type noHost struct{ Host }

// idleWorkers returns how many worker goroutines wait for an invocation.
func idleWorkers() int {
	workers.mu.Lock()
	defer workers.mu.Unlock()
	return len(workers.idle)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}

// Invocations run on worker goroutines that serve the next invocation once
// theirs has ended, at most maxIdleWorkers of them waiting; a reused
// worker serves its new invocation only.
func TestWorkersAreReused(t *testing.T) {
	const n = maxIdleWorkers + 36
	release := make(chan struct{})
	var ended sync.WaitGroup
	ended.Add(n)
	for range n {
		Invoke(noHost{}, func() {
			<-release
			InvocationEnd()
		}, ended.Done)
	}
	close(release)
	ended.Wait()
	waitFor(t, "maxIdleWorkers idle workers", func() bool { return idleWorkers() == maxIdleWorkers })

	// The next invocation takes an idle worker, which knows it alone.
	type seen struct {
		ctx   context.Context
		state any
	}
	got := make(chan seen, 1)
	busy := make(chan struct{})
	done := make(chan struct{})
	id := Invoke(noHost{}, func() {
		SetState("mine")
		<-busy
		got <- seen{AbortContext(), State()}
		InvocationEnd()
	}, func() { close(done) })
	waitFor(t, "a worker taken", func() bool { return idleWorkers() == maxIdleWorkers-1 })
	Abort(id, AbortDeadline)
	close(busy)
	s := <-got
	<-done
	if s.state != "mine" {
		t.Errorf("State in a reused worker: %v, want its own invocation's", s.state)
	}
	if cause := context.Cause(s.ctx); !errors.Is(cause, context.DeadlineExceeded) {
		t.Errorf("AbortContext's cause after AbortDeadline: %v, want context.DeadlineExceeded", cause)
	}
	waitFor(t, "the worker back", func() bool { return idleWorkers() == maxIdleWorkers })
	if current() != nil || State() != nil {
		t.Error("the test's goroutine serves an invocation")
	}
	if got := RequestMethod(nil); got != int32(abi.EBADHANDLE) {
		t.Errorf("RequestMethod outside an invocation: %d, want EBADHANDLE", got)
	}
}

// A goroutine that outlives its invocation serves none once the
// invocation has ended, though current() found that invocation last,
// from the same label, just before the end.
func TestGoroutineAfterItsInvocationEnded(t *testing.T) {
	type seen struct {
		found  bool
		state  any
		method int32
	}
	ended := make(chan struct{})
	done := make(chan struct{})
	got := make(chan seen, 1)
	Invoke(noHost{}, func() {
		SetState("mine")
		go func() {
			<-ended
			got <- seen{current() != nil, State(), RequestMethod(nil)}
		}()
		_ = State() // the last look-up before the end, from this label
		InvocationEnd()
	}, func() { close(done) })
	<-done
	close(ended)
	s := <-got
	if s.found || s.state != nil || s.method != int32(abi.EBADHANDLE) {
		t.Errorf("after the end: current found %v, State %v, RequestMethod %d; want none, nil, EBADHANDLE", s.found, s.state, s.method)
	}
}
