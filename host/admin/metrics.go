package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wfn-dev/wfn/host"
)

// The host's metrics, read from host.Stats at each scrape. The request
// counts and durations are the Monitor's.
var (
	descColdStarts = prometheus.NewDesc("wfn_cold_starts_total",
		"Instances created, by function.", []string{"fn"}, nil)
	descLive = prometheus.NewDesc("wfn_instances_live",
		"Live instances, busy or idle, by function.", []string{"fn"}, nil)
	descIdle = prometheus.NewDesc("wfn_instances_idle",
		"Idle instances waiting for an invocation, by function.", []string{"fn"}, nil)
	descQueue = prometheus.NewDesc("wfn_queue_length",
		"Invocations waiting for an instance, by function.", []string{"fn"}, nil)
	descThrottled = prometheus.NewDesc("wfn_invocations_throttled_total",
		"Invocations refused with 503 FUNCTION_THROTTLED (queue full or queue timeout), by function.", []string{"fn"}, nil)
	descTimedOut = prometheus.NewDesc("wfn_invocations_timed_out_total",
		"Invocations stopped at their maxDuration (504 FUNCTION_INVOCATION_TIMEOUT), by function.", []string{"fn"}, nil)
	descAborted = prometheus.NewDesc("wfn_invocations_aborted_total",
		"Invocations signalled to abort because the client left (supportsCancellation) or the host shut down past its grace, by function.", []string{"fn"}, nil)
	descMemory = prometheus.NewDesc("wfn_guest_memory_bytes",
		"Linear memory of the live instances, by function, in bytes.", []string{"fn"}, nil)
	descCodeLoaded = prometheus.NewDesc("wfn_function_code_loaded",
		"1 while the function's compiled code is in memory, 0 while it is built and compiled at start, after its load failed (wfn_function_load_failed), or while it is released after UnloadAfter idle (--unload-after), by function.", []string{"fn"}, nil)
	descLoadFailed = prometheus.NewDesc("wfn_function_load_failed",
		"1 while the function's load (build or compilation) has failed and its requests get 500, by function; the log and /_wfn/api/functions say why.", []string{"fn"}, nil)
	descCodeLoads = prometheus.NewDesc("wfn_function_code_loads_total",
		"Times the function's compiled code was loaded again from the compile cache after a release, by function.", []string{"fn"}, nil)
	descCDN = prometheus.NewDesc("wfn_cdn_cache_responses_total",
		"Responses through the CDN cache, by x-vercel-cache state (HIT, MISS, STALE, REVALIDATED, BYPASS).", []string{"state"}, nil)
	descCacheOps = prometheus.NewDesc("wfn_runtime_cache_operations_total",
		"The guests' Runtime Cache calls, by operation.", []string{"op"}, nil)
	descCacheErrors = prometheus.NewDesc("wfn_runtime_cache_errors_total",
		"The guests' Runtime Cache calls that failed because the store was unavailable, by operation.", []string{"op"}, nil)
	descCDNStoreErrors = prometheus.NewDesc("wfn_cdn_cache_store_errors_total",
		"The CDN cache's store calls that failed because the store was unavailable, by operation (get: answered from the origin; set: not stored).", []string{"op"}, nil)
)

// hostCollector exports host.Stats.
type hostCollector struct{ h *host.Host }

var _ prometheus.Collector = hostCollector{}

func (hostCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descColdStarts, descLive, descIdle, descQueue, descThrottled, descTimedOut, descAborted, descMemory, descCodeLoaded, descLoadFailed, descCodeLoads, descCDN, descCacheOps, descCacheErrors, descCDNStoreErrors} {
		ch <- d
	}
}

func (c hostCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.h.Stats()
	counter := func(d *prometheus.Desc, v uint64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label)
	}
	gauge := func(d *prometheus.Desc, v float64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, label)
	}
	for _, fs := range st.Functions {
		counter(descColdStarts, fs.ColdStarts, fs.Source)
		counter(descThrottled, fs.Throttled, fs.Source)
		counter(descTimedOut, fs.TimedOut, fs.Source)
		counter(descAborted, fs.Aborted, fs.Source)
		gauge(descLive, float64(fs.Live), fs.Source)
		gauge(descIdle, float64(fs.Idle), fs.Source)
		gauge(descQueue, float64(fs.Queued), fs.Source)
		gauge(descMemory, float64(fs.MemoryBytes), fs.Source)
		gauge(descCodeLoaded, b2f(fs.Loaded), fs.Source)
		gauge(descLoadFailed, b2f(fs.LoadFailed), fs.Source)
		counter(descCodeLoads, fs.Loads, fs.Source)
	}
	for state, n := range st.CDN {
		counter(descCDN, n, state)
	}
	for op, n := range st.RuntimeCache {
		counter(descCacheOps, n.Calls, op)
		counter(descCacheErrors, n.Errors, op)
	}
	for op, n := range st.CDNStoreErrors {
		counter(descCDNStoreErrors, n, op)
	}
}

// b2f is 1 for true, 0 for false: a gauge of a state.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
