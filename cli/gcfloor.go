package cli

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// gcHeapFloor is the Go heap wfn serve lets grow before it collects:
// with Go's default (GOGC=100, a goal of twice the live heap and at least
// 4 MB), a server whose live heap is a few megabytes, as wfn's is (the
// guests' linear memory is mapped outside it), collects every few hundred
// requests, and a collection costs wfn far more than the requests' own
// garbage does: under wrk, the minimal guest took 20 µs of CPU per
// request at GOGC=100 and 13.6 µs at GOGC=400, whose goal is at least
// 16 MB (BENCHMARKS.md, 2026-12-01).
// The floor raises the goal of a small heap to it: the process holds up
// to this much garbage more, and a heap above it is collected as GOGC=100
// collects it.
const gcHeapFloor = 32 << 20

// gcFloor keeps the Go heap's collection goal at or above floor bytes,
// with GOGC=100 above it: after each collection it sets the GC percent
// to what puts the next goal at the floor (at most maxGCPercent). It is
// what GOGC does not offer, a floor rather than a ratio; GOMEMLIMIT is a
// ceiling. The user's GOGC or GOMEMLIMIT, when set, stands instead.
type gcFloor struct {
	floor   uint64
	mu      sync.Mutex // orders adjust and stop
	stopped atomic.Bool
	sample  [1]metrics.Sample
}

// maxGCPercent bounds the percent gcFloor sets: a live heap of a few
// hundred kilobytes does not get an unbounded ratio.
const maxGCPercent = 10000

// startGCFloor starts keeping the heap's goal at floor bytes, unless the
// environment sets GOGC or GOMEMLIMIT; stop ends it and restores GOGC=100.
func startGCFloor(floor uint64) (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	g := &gcFloor{floor: floor}
	g.sample[0].Name = "/gc/heap/live:bytes"
	g.adjust()
	g.arm()
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.stopped.Store(true)
		debug.SetGCPercent(100)
	}
}

// gcSentinel is an object made unreachable on purpose: its finalizer runs
// after the collection that found it so, which is how gcFloor learns that
// a collection ended. It holds a pointer, so the tiny allocator (whose
// blocks are freed together) does not take it.
type gcSentinel struct{ g *gcFloor }

func (g *gcFloor) arm() {
	runtime.SetFinalizer(&gcSentinel{g: g}, func(s *gcSentinel) {
		if s.g.stopped.Load() {
			return
		}
		s.g.adjust()
		s.g.arm()
	})
}

// adjust sets the GC percent from the live heap the last collection
// left.
func (g *gcFloor) adjust() {
	g.mu.Lock()
	defer g.mu.Unlock()
	metrics.Read(g.sample[:])
	if g.stopped.Load() || g.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	debug.SetGCPercent(gcPercentFor(g.sample[0].Value.Uint64(), g.floor))
}

// gcPercentFor is the GC percent that sets the collection goal of a live
// heap of live bytes (0: not known yet) at floor, and 100 once twice the
// live heap reaches the floor. The runtime's goal is the larger of
// live × (1 + percent/100) and its minimum heap, 4 MB × percent/100
// (runtime/mgcpacer.go, defaultHeapMinimum): both are kept at or under
// the floor.
func gcPercentFor(live, floor uint64) int {
	if 2*live >= floor {
		return 100
	}
	p := floor * 100 / runtimeHeapMinimum
	if live > 0 {
		p = min(p, (floor-live)*100/live)
	}
	return max(int(min(p, maxGCPercent)), 100)
}

// runtimeHeapMinimum is the Go runtime's minimum collection goal at
// GOGC=100, scaled by the GC percent.
const runtimeHeapMinimum = 4 << 20
