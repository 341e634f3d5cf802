package host

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/host/internal/engine"
)

// code is the state of a function's compiled module (function.mod): it
// is loaded while any instance of the function is live or being made,
// released by the unloader once the function has been idle for
// Config.UnloadAfter, and closed, after the function's last instance,
// when a Reload replaced the function or the host closes.
type code struct {
	mu      sync.Mutex
	users   int         // live instances and instances being made
	loaded  atomic.Bool // the module's compiled code is in memory; written under mu
	retired bool        // close once users is 0
	closed  bool
	open    *atomic.Int64 // the host's count of loaded modules (Stats)

	// The unloader's own: the pool's Gets when it last changed, and when.
	gets  uint64
	quiet time.Time
}

// errRetired is the error of an instance asked of a function whose
// module is closed or closing (a Reload replaced it, the host closes):
// its pool is closed by then, so it makes no new instances.
var errRetired = errors.New("wfn: the function was replaced")

// compiled records that fn.mod was just compiled.
func (c *code) compiled() {
	c.mu.Lock()
	c.loaded.Store(true)
	c.mu.Unlock()
	c.open.Add(1)
}

// acquire holds fn's compiled code for an instance, loading it again from
// the compile cache if it was unloaded. Each acquire is paired with a
// release.
func (h *Host) acquire(ctx context.Context, fn *function) error {
	c := &fn.code
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.retired {
		return errRetired
	}
	if !c.loaded.Load() {
		t := time.Now()
		if err := fn.mod.(engine.Unloader).Load(ctx); err != nil {
			return err
		}
		c.loaded.Store(true)
		c.open.Add(1)
		fn.counters.codeLoads.Add(1)
		h.log.Info("function loaded again", "fn", fn.src.Path, "took", time.Since(t).Round(time.Microsecond))
	}
	c.users++
	return nil
}

// release gives back what acquire took; the last user of a retired
// function closes its module.
func (fn *function) releaseCode() {
	c := &fn.code
	c.mu.Lock()
	c.users--
	last := c.users == 0 && c.retired
	c.mu.Unlock()
	if last {
		fn.closeCode()
	}
}

// retireCode closes fn's module after its last instance, at once when it
// has none.
func (fn *function) retireCode() {
	c := &fn.code
	c.mu.Lock()
	c.retired = true
	idle := c.users == 0
	c.mu.Unlock()
	if idle {
		fn.closeCode()
	}
}

// closeCode closes fn's module, once.
func (fn *function) closeCode() {
	c := &fn.code
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || fn.mod == nil {
		return
	}
	c.closed = true
	if c.loaded.Load() {
		c.loaded.Store(false)
		c.open.Add(-1)
	}
	_ = fn.mod.Close(context.Background())
}

// unload releases fn's compiled code if no instance holds it, and
// reports whether it did.
func (fn *function) unload(ctx context.Context) bool {
	c := &fn.code
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := fn.mod.(engine.Unloader)
	if !ok || c.users > 0 || !c.loaded.Load() || c.retired {
		return false
	}
	if err := u.Unload(ctx); err != nil {
		return false
	}
	c.loaded.Store(false)
	c.open.Add(-1)
	return true
}

// unloadIdle runs until stop is closed: every Config.UnloadAfter/4 it
// unloads the functions that took no invocation for Config.UnloadAfter
// (their idle instances, then their compiled code), then has the
// garbage collector free what they held and give it back to the system:
// wazero unmaps machine code from a finalizer.
func (h *Host) unloadIdle(stop <-chan struct{}) {
	after := h.cfg.UnloadAfter
	tick := time.NewTicker(max(after/4, 5*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			unloaded := false
			for _, fn := range h.st.Load().fns {
				if !loaded(fn) || fn.err != nil || fn.pool == nil {
					continue
				}
				c := &fn.code
				if gets := fn.pool.Gets(); gets != c.gets || c.quiet.IsZero() {
					c.gets, c.quiet = gets, now
					continue
				}
				if now.Sub(c.quiet) < after {
					continue
				}
				_ = fn.pool.Drain(context.Background())
				if fn.unload(context.Background()) {
					unloaded = true
					h.log.Debug("function unloaded", "fn", fn.src.Path, "idle", now.Sub(c.quiet).Round(time.Millisecond))
				}
			}
			if unloaded {
				debug.FreeOSMemory()
			}
		}
	}
}
