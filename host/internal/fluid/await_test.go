package fluid

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// awaitInvocation is an invocation on a loop of its own, for await alone.
func awaitInvocation() *Invocation {
	inv := newInvocation()
	inv.id = 7
	inv.l = &Loop{q: newQueue()}
	return inv
}

// readyEvents polls inv's queue until it holds want EventReady records or
// the deadline passes, and returns the handles of those it read.
func readyEvents(t *testing.T, inv *Invocation, want int) []int32 {
	t.Helper()
	var hs []int32
	buf := make([]byte, 64*abi.EventSize)
	for deadline := time.Now().Add(10 * time.Second); len(hs) < want && time.Now().Before(deadline); {
		n := inv.l.q.read(buf)
		for rec := buf[:n]; len(rec) >= abi.EventSize; rec = rec[abi.EventSize:] {
			if binary.LittleEndian.Uint32(rec[0:]) != abi.EventReady || binary.LittleEndian.Uint32(rec[4:]) != inv.id {
				t.Fatalf("event %x: want EventReady for invocation %d", rec[:abi.EventSize], inv.id)
			}
			hs = append(hs, int32(binary.LittleEndian.Uint32(rec[8:])))
		}
		if n == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return hs
}

func TestAwaitPostsOnceWhenReadyOrCancelled(t *testing.T) {
	inv := awaitInvocation()
	ready, setReady := context.WithCancel(context.Background())
	session, endSession := context.WithCancel(context.Background())
	defer endSession()
	if e := inv.await(3, ready, session); e != abi.EAGAIN {
		t.Fatalf("await before ready = %d, want EAGAIN", e)
	}
	// A second wait on the same handle adds no second event.
	if e := inv.await(3, ready, session); e != abi.EAGAIN {
		t.Fatalf("second await = %d, want EAGAIN", e)
	}
	setReady()
	if hs := readyEvents(t, inv, 1); len(hs) != 1 || hs[0] != 3 {
		t.Fatalf("EventReady handles %v, want [3]", hs)
	}
	if e := inv.await(3, ready, session); e != 0 {
		t.Fatalf("await once ready = %d, want 0", e)
	}
	// The session's end wakes a wait whose handle never gets ready.
	never := context.Background()
	if e := inv.await(4, never, session); e != abi.EAGAIN {
		t.Fatalf("await = %d, want EAGAIN", e)
	}
	endSession()
	if hs := readyEvents(t, inv, 1); len(hs) != 1 || hs[0] != 4 {
		t.Fatalf("EventReady handles %v, want [4]", hs)
	}
	// Both registrations fired or were stopped: nothing more comes.
	for deadline := time.Now().Add(10 * time.Second); ; {
		inv.mu.Lock()
		n := len(inv.watching)
		inv.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d handles still watched", n)
		}
		time.Sleep(time.Millisecond)
	}
	if n := inv.l.q.read(make([]byte, abi.EventSize)); n != 0 {
		t.Fatalf("an extra event was posted")
	}
}

// TestAwaitHoldsNoGoroutine: a wait costs no goroutine while it waits
// (thousands of held invocations each wait at once).
func TestAwaitHoldsNoGoroutine(t *testing.T) {
	const waits = 200
	inv := awaitInvocation()
	session, endSession := context.WithCancel(context.Background())
	defer endSession()
	before := runtime.NumGoroutine()
	cancels := make([]context.CancelFunc, waits)
	for i := range waits {
		var ready context.Context
		ready, cancels[i] = context.WithCancel(context.Background())
		if e := inv.await(int32(i+1), ready, session); e != abi.EAGAIN {
			t.Fatalf("await = %d, want EAGAIN", e)
		}
	}
	if grew := runtime.NumGoroutine() - before; grew >= waits/2 {
		t.Fatalf("%d waits started %d goroutines", waits, grew)
	}
	for _, c := range cancels {
		c()
	}
	if hs := readyEvents(t, inv, waits); len(hs) != waits {
		t.Fatalf("%d EventReady of %d", len(hs), waits)
	}
}
