// Package fluid serves guests of ABI version 2 (abi/SPEC-v2.md): many
// invocations at once in one instance, as Vercel's Fluid compute runs them.
//
// The guest makes one long-lived call into its serving export (wfn_serve)
// and schedules its invocations itself; when it has nothing to run, its
// runtime blocks in WASI poll_oneoff on the instance's event source
// (standard input), and the host makes that descriptor readable when it has
// something for the guest: a new invocation, an import that can make
// progress again, an abort, a SIGTERM, a stop. Imports never wait: one that
// would returns EAGAIN, and an EventReady follows.
//
// A [Loop] is the host side of one instance: its event queue, its
// invocations, and the engine-neutral meaning of its imports ([Table]) and
// of the WASI functions it answers itself ([PollOneoff], [ReadEvents],
// [Fdstat]). A [Pool] keeps a function's instances and gives each request
// to one with room. An engine runs the guest ([Module], [Instance]).
package fluid

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// queue is an instance's pending events, in order, as the guest reads
// them: abi.EventSize bytes each.
type queue struct {
	mu    sync.Mutex
	recs  []byte
	ready chan struct{} // holds a token while recs is not empty
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

// post appends one event record and makes the event source readable.
func (q *queue) post(kind, inv uint32, handle, value int32) {
	var rec [abi.EventSize]byte
	binary.LittleEndian.PutUint32(rec[0:], kind)
	binary.LittleEndian.PutUint32(rec[4:], inv)
	binary.LittleEndian.PutUint32(rec[8:], uint32(handle))
	binary.LittleEndian.PutUint32(rec[12:], uint32(value))
	q.mu.Lock()
	q.recs = append(q.recs, rec[:]...)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// read moves as many whole records as fit into dst and returns the bytes
// written; 0 when none is pending (or dst holds less than one record).
func (q *queue) read(dst []byte) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(dst), len(q.recs))
	n -= n % abi.EventSize
	copy(dst, q.recs[:n])
	q.recs = q.recs[:copy(q.recs, q.recs[n:])]
	if len(q.recs) > 0 {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return n
}

// pending reports whether an event waits to be read.
func (q *queue) pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.recs) > 0
}

// wait blocks until an event is pending, timeout passes (negative: no
// bound) or ctx ends, and reports whether an event is pending.
func (q *queue) wait(ctx context.Context, timeout time.Duration) bool {
	if q.pending() {
		return true
	}
	var expired <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-q.ready:
			if q.pending() {
				return true
			}
		case <-expired:
			return q.pending()
		case <-ctx.Done():
			return q.pending()
		}
	}
}
