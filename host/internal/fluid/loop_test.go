package fluid

import (
	"slices"
	"testing"

	"github.com/wfn-dev/wfn/abi"
)

// After EventSigterm a busy instance gets EventStop when its last
// invocation ends, and no invocation starts on it in between; one whose
// last invocation ended between the close's two looks gets EventStop and
// no EventSigterm.
func TestLoopStopsAfterSigtermWhenLastInvocationEnds(t *testing.T) {
	l := newLoop()
	a, b := newInvocation(), newInvocation()
	if !l.start(a, 10) || !l.start(b, 10) {
		t.Fatal("start failed on a new loop")
	}
	if l.stop() {
		t.Fatal("a busy instance was asked to stop")
	}
	l.sigterm()
	if l.start(newInvocation(), 10) {
		t.Fatal("an invocation started after EventSigterm")
	}
	l.end(a)
	want := []uint32{abi.EventInvoke, abi.EventInvoke, abi.EventSigterm}
	if got := kinds(l); !slices.Equal(got, want) {
		t.Fatalf("with one invocation left: events %v, want %v", got, want)
	}
	l.end(b)
	want = append(want, abi.EventStop)
	if got := kinds(l); !slices.Equal(got, want) {
		t.Fatalf("after the last invocation ended: events %v, want %v", got, want)
	}
	l.sigterm()
	if got := kinds(l); !slices.Equal(got, want) {
		t.Fatalf("after a second sigterm: events %v, want %v", got, want)
	}

	// Busy when stop is tried, idle when sigterm comes.
	r := newLoop()
	c := newInvocation()
	if !r.start(c, 10) {
		t.Fatal("start failed")
	}
	if r.stop() {
		t.Fatal("a busy instance was asked to stop")
	}
	r.end(c)
	r.sigterm()
	want = []uint32{abi.EventInvoke, abi.EventStop}
	if got := kinds(r); !slices.Equal(got, want) {
		t.Fatalf("idle at the sigterm: events %v, want %v", got, want)
	}
}
