package fluid

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// kinds returns the kinds of the events pending on l, in order.
func kinds(l *Loop) []uint32 {
	l.q.mu.Lock()
	defer l.q.mu.Unlock()
	var k []uint32
	for rec := l.q.recs; len(rec) >= abi.EventSize; rec = rec[abi.EventSize:] {
		k = append(k, binary.LittleEndian.Uint32(rec))
	}
	return k
}

// An instance is closed for idleness only with no invocation in flight
// and idle since before the cutoff; EventStop and EventSigterm go to it
// once each, and no invocation starts on it once it was asked to stop.
func TestLoopCloseIdleOnce(t *testing.T) {
	l := newLoop()
	inv := newInvocation()
	if !l.start(inv, 10) {
		t.Fatal("start failed on a new loop")
	}
	if l.closeIdle(time.Now().Add(time.Hour)) {
		t.Fatal("closed with an invocation in flight")
	}
	l.end(inv)
	if l.closeIdle(time.Now().Add(-time.Hour)) {
		t.Fatal("closed although idle for less than the timeout")
	}
	if !l.closeIdle(time.Now().Add(time.Second)) {
		t.Fatal("not closed although idle past the timeout")
	}
	if l.closeIdle(time.Now().Add(time.Second)) {
		t.Fatal("closed twice")
	}
	if !l.stop() {
		t.Fatal("stop after an idle close: not reported as asked")
	}
	l.sigterm()
	if l.start(newInvocation(), 10) {
		t.Fatal("an invocation started on an instance asked to stop")
	}
	want := []uint32{abi.EventInvoke, abi.EventStop}
	if got := kinds(l); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("events %v, want %v", got, want)
	}

	// A busy instance gets EventSigterm once, however often it is asked.
	b := newLoop()
	if !b.start(newInvocation(), 10) {
		t.Fatal("start failed")
	}
	for range 3 {
		if b.stop() {
			t.Fatal("a busy instance was asked to stop")
		}
		b.sigterm()
	}
	want = []uint32{abi.EventInvoke, abi.EventSigterm}
	if got := kinds(b); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("events %v, want %v", got, want)
	}
}
