package cache

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// logEvery bounds how often a backend that stays down is logged again.
const logEvery = 10 * time.Second

// probeEvery bounds how often calls try a backend that is down; the calls
// in between fail at once without touching the network.
const probeEvery = 100 * time.Millisecond

// health tracks whether a backend answers, and logs when that changes: one
// line when it goes down, one every logEvery while it stays down (with the
// count of failures since the last line), one when it is back.
type health struct {
	logger *slog.Logger
	attrs  []any
	down   atomic.Bool
	probed atomic.Int64 // unix ns of the last call let through while down

	mu       sync.Mutex
	since    time.Time // when it went down
	lastLog  time.Time
	failures int
	last     error

	refusedLog time.Time // when refused last logged
	refusals   int       // since then
}

// allow reports whether a call may try the backend. While it is down, one
// call per probeEvery may; the others get the error that put it down.
func (h *health) allow() error {
	if !h.down.Load() {
		return nil
	}
	t := time.Now().UnixNano()
	p := h.probed.Load()
	if t-p >= int64(probeEvery) && h.probed.CompareAndSwap(p, t) {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures++
	return h.last
}

func (h *health) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := time.Now()
	h.failures++
	h.last = err
	if !h.down.Load() {
		h.probed.Store(t.UnixNano())
		h.down.Store(true)
		h.since, h.lastLog, h.failures = t, t, 0
		h.logger.Warn("cache: backend unavailable", append(h.attrs, "err", err)...)
		return
	}
	if t.Sub(h.lastLog) >= logEvery {
		h.logger.Warn("cache: backend still unavailable",
			append(h.attrs, "err", err, "for", t.Sub(h.since).Round(time.Millisecond), "failures", h.failures)...)
		h.lastLog, h.failures = t, 0
	}
}

func (h *health) ok() {
	if !h.down.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.Load() {
		h.down.Store(false)
		h.logger.Info("cache: backend reachable again",
			append(h.attrs, "after", time.Since(h.since).Round(time.Millisecond))...)
	}
}

// refused logs that the backend answered a call with an error (Redis full,
// read-only, an ACL's refusal): at most one line every logEvery, with the
// count of refusals since the last. It does not put the backend down.
func (h *health) refused(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refusals++
	if t := time.Now(); t.Sub(h.refusedLog) >= logEvery {
		h.logger.Warn("cache: backend refused a command", append(h.attrs, "err", err, "refusals", h.refusals)...)
		h.refusedLog, h.refusals = t, 0
	}
}
