package host

import (
	"sync"
	"sync/atomic"

	"github.com/wfn-dev/wfn/host/internal/cdn"
)

// Stats is a snapshot of the host's counters, for metrics (package admin
// exports them in the Prometheus format). Counters only grow while the
// host runs; the other numbers are the state at the time of the call.
type Stats struct {
	// Functions are the functions' numbers, in the order of Functions.
	Functions []FunctionStats
	// CDN counts the responses served through the CDN cache by its state
	// (x-vercel-cache): HIT, MISS, STALE, REVALIDATED, BYPASS.
	CDN map[string]uint64
	// RuntimeCache counts the guests' Runtime Cache operations by name
	// (get, set, delete, expireTag, invalidateByTag, ...).
	RuntimeCache map[string]CacheOpStats
	// CDNStoreErrors counts the CDN cache's store calls that failed
	// with the store unavailable (Redis down, or full), by operation:
	// get (the request was answered from the origin), set (the
	// response was not stored), delete.
	CDNStoreErrors map[string]uint64
	// LoadedModules is the number of functions whose compiled code is in
	// memory now, counting those that a Reload replaced and whose last
	// invocations still run.
	LoadedModules int
}

// FunctionStats are the numbers of one function.
type FunctionStats struct {
	// Route and Source name the function, as in Function.
	Route, Source string
	// ColdStarts counts the instances created (each runs the guest's
	// initialisation, or starts from its snapshot).
	ColdStarts uint64
	// Throttled counts the invocations refused with 503
	// FUNCTION_THROTTLED: the queue was full or its wait timed out.
	Throttled uint64
	// TimedOut counts the invocations stopped at their maxDuration (504
	// FUNCTION_INVOCATION_TIMEOUT).
	TimedOut uint64
	// Aborted counts the invocations signalled to abort: their client
	// left (with supportsCancellation) or the host shut down past its
	// grace.
	Aborted uint64
	// Live and Idle are the function's instances now: all of them, and
	// those waiting for an invocation (ABI v2: with none in flight).
	Live, Idle int
	// Queued is the number of invocations waiting for an instance now.
	Queued int
	// MemoryBytes is the linear memory of the function's live instances,
	// in bytes, as measured after each one's latest call (ABI v2: at each
	// one's latest wait for events).
	MemoryBytes uint64
	// Unloaded is true while the function's compiled code is released
	// (Config.UnloadAfter); Loads counts the times it was loaded again
	// from the compile cache since.
	Unloaded bool
	Loads    uint64
	// Loaded is true while the function's compiled code is in memory:
	// its load is done and did not fail, and the code is not released.
	// It is false while the function is built and compiled at start.
	Loaded bool
	// LoadFailed is true when the function failed to load (Function.Err
	// says why): its requests get 500.
	LoadFailed bool
}

// CacheOpStats counts one Runtime Cache operation.
type CacheOpStats struct {
	// Calls counts the guests' calls; Errors those that failed because
	// the store was unavailable (the guest got EIO). A miss is no error.
	Calls, Errors uint64
}

// fnCounters are a function's counters; see FunctionStats.
type fnCounters struct {
	coldStarts, throttled, timedOut, aborted, codeLoads atomic.Uint64
}

// hostCounters are the host's own counters; see Stats.
type hostCounters struct {
	cdn      [5]atomic.Uint64 // by cdnStates
	cacheOps sync.Map         // op name -> *[2]atomic.Uint64: calls, errors
	cdnStore [3]atomic.Uint64 // failed store calls, by cdnStoreOps
}

var (
	cdnStates   = [...]string{cdn.Hit, cdn.Miss, cdn.Stale, cdn.Revalidated, cdn.Bypass}
	cdnStoreOps = [...]string{"get", "set", "delete"}
)

// countCDNStoreError counts a CDN cache store call that failed
// (cdn.Options.OnStoreError).
func (c *hostCounters) countCDNStoreError(op string) {
	for i, o := range cdnStoreOps {
		if o == op {
			c.cdnStore[i].Add(1)
			return
		}
	}
}

// countCDN counts a response by its x-vercel-cache state.
func (c *hostCounters) countCDN(state string) {
	for i, s := range cdnStates {
		if s == state {
			c.cdn[i].Add(1)
			return
		}
	}
}

// countCacheOp counts a guest's Runtime Cache call and whether the store
// failed it.
func (c *hostCounters) countCacheOp(op string, failed bool) {
	v, ok := c.cacheOps.Load(op)
	if !ok {
		v, _ = c.cacheOps.LoadOrStore(op, new([2]atomic.Uint64))
	}
	n := v.(*[2]atomic.Uint64)
	n[0].Add(1)
	if failed {
		n[1].Add(1)
	}
}

// Stats returns the host's counters and the state of its pools.
func (h *Host) Stats() Stats {
	st := Stats{CDN: make(map[string]uint64, len(cdnStates)), RuntimeCache: map[string]CacheOpStats{}, CDNStoreErrors: make(map[string]uint64, len(cdnStoreOps))}
	mem := map[*function]uint64{}
	h.live.Range(func(k, _ any) bool {
		li := k.(*liveInstance)
		mem[li.fn] += li.memory.Load()
		return true
	})
	for _, fn := range h.st.Load().fns {
		fs := FunctionStats{
			Route:       fn.src.Route,
			Source:      fn.src.Path,
			ColdStarts:  fn.counters.coldStarts.Load(),
			Throttled:   fn.counters.throttled.Load(),
			TimedOut:    fn.counters.timedOut.Load(),
			Aborted:     fn.counters.aborted.Load(),
			MemoryBytes: mem[fn],
			Loads:       fn.counters.codeLoads.Load(),
		}
		if loaded(fn) {
			fs.LoadFailed = fn.err != nil
			fs.Loaded = fn.err == nil
		}
		if loaded(fn) && fn.pool != nil {
			ps := fn.pool.Stats()
			fs.Live, fs.Idle, fs.Queued = ps.Live, ps.Idle, ps.Waiting
			fs.Unloaded = !fn.code.loaded.Load()
			fs.Loaded = fs.Loaded && !fs.Unloaded
		}
		if loaded(fn) && fn.fluid != nil {
			// ABI v2: no queue; the memory as each guest's latest
			// poll_oneoff found it (fluid.Pool.LinearMemory).
			p := fn.fluid.pool
			fs.Live, fs.Idle, fs.MemoryBytes = p.Instances(), p.Idle(), p.LinearMemory()
		}
		st.Functions = append(st.Functions, fs)
	}
	for i, s := range cdnStates {
		st.CDN[s] = h.counters.cdn[i].Load()
	}
	for i, op := range cdnStoreOps {
		st.CDNStoreErrors[op] = h.counters.cdnStore[i].Load()
	}
	h.counters.cacheOps.Range(func(k, v any) bool {
		n := v.(*[2]atomic.Uint64)
		st.RuntimeCache[k.(string)] = CacheOpStats{Calls: n[0].Load(), Errors: n[1].Load()}
		return true
	})
	st.LoadedModules = int(h.loadedCode.Load())
	return st
}

// loaded reports whether fn's loading has ended (its pool, module and
// error are set), without waiting.
func loaded(fn *function) bool {
	select {
	case <-fn.ready:
		return true
	default:
		return false
	}
}

// CacheDir is the directory of the host's builds, compiled code and file
// caches (Config.CacheDir, or its default).
func (h *Host) CacheDir() string { return h.cacheDir }
