// Package hostcall holds the raw wfn host imports (module "wfn", ABI
// version 1) behind small Go functions that take slices and strings.
//
// On wasip1 each function is a thin wrapper over a //go:wasmimport
// declaration. On every other platform each function dispatches to the
// [Host] installed with [Install], so the SDK runs in plain Go tests; the
// wfntest package installs one.
//
// Under the build tag wfn_fluid the same functions run ABI version 2
// (module "wfn_v2", abi/SPEC-v2.md) for the invocation of the calling
// goroutine: fluid.go holds what WebAssembly (fluid_wasip1.go) and plain
// Go (fluid_other.go, whose Invoke and Abort wfntest calls) share.
//
// Results follow the ABI: a non-negative value is a success (a length, a
// count, or nothing), a negative one is an abi.Errno.
package hostcall

// The reasons of an abort, EventAbort's value (abi/SPEC-v2.md section 3).
const (
	// AbortClient: the client left, and the function has
	// supportsCancellation.
	AbortClient int32 = 1
	// AbortDeadline: the invocation's deadline (maxDuration) passed.
	AbortDeadline int32 = 2
	// AbortShutdown: the host shuts down past its grace period.
	AbortShutdown int32 = 3
)

// Host implements the wfn imports in plain Go. Each method has the
// semantics of the import of the same name; buffers follow the ABI's
// buffer protocol (return the full length, write only when it fits).
type Host interface {
	RequestMethod(buf []byte) int32
	RequestURL(buf []byte) int32
	RequestHeaderNames(buf []byte) int32
	RequestHeader(name string, buf []byte) int32
	RequestParam(name string, buf []byte) int32
	RequestBodyRead(buf []byte) int32
	ResponseSetStatus(code int32) int32
	ResponseHeaderSet(name, value string) int32
	ResponseHeaderAdd(name, value string) int32
	ResponseHeaderDelete(name string) int32
	ResponseBodyWrite(p []byte) int32
	ResponseFlush() int32
	ResponseClose() int32
	AbortSignaled() int32
	WaitUntil(task int32) int32
	DeadlineRemainingMs() int64
	// ProcExit is WASI's proc_exit: it ends the instance, and the
	// invocation fails as when the guest traps. It does not return.
	ProcExit(code int32)

	IPAddress(buf []byte) int32
	Geolocation(buf []byte) int32

	// HTTPSend's headers are name NUL value NUL pairs.
	HTTPSend(method, url string, headers, body []byte) int32
	HTTPResponseStatus(h int32) int32
	HTTPResponseHeaderNames(h int32, buf []byte) int32
	HTTPResponseHeader(h int32, name string, buf []byte) int32
	HTTPResponseBodyRead(h int32, buf []byte) int32
	HTTPClose(h int32) int32

	// Tag lists (tags) are the tags joined with commas, "a,b".
	CacheGet(key string, buf []byte) int32
	CacheSet(key string, value []byte, ttlSeconds int64, tags []byte, name string) int32
	CacheDelete(key string) int32
	CacheExpireTag(tags []byte) int32
	CDNAddCacheTag(tags []byte) int32
	CDNInvalidateByTag(tags []byte) int32
	CDNDeleteByTag(tags []byte, revalidationDeadlineSeconds int64) int32
	CDNInvalidateBySrcImage(src string) int32
	CDNDeleteBySrcImage(src string, revalidationDeadlineSeconds int64) int32

	// Outbound TCP (SPEC.md section 5c). addr is "host:port"; timeouts are
	// milliseconds, negative for none of the call's own, 0 for no wait.
	TCPConnect(addr string, flags int32, timeoutMs int64) int32
	TCPRead(h int32, buf []byte, timeoutMs int64) int32
	TCPWrite(h int32, p []byte, timeoutMs int64) int32
	TCPCloseWrite(h int32) int32
	TCPClose(h int32) int32
	TCPRemoteAddress(h int32, buf []byte) int32
}

// Exports are the SDK's own exports that a host outside WebAssembly calls,
// as the real host calls wfn_run_task and wfn_on_sigterm. Package wfn sets
// them when it is initialised (never in WebAssembly, where they are real
// exports); wfntest calls them.
var Exports struct {
	// RunTask is wfn_run_task: it runs the task registered with wait_until
	// under this id.
	RunTask func(task int32)
	// OnSigterm is wfn_on_sigterm.
	OnSigterm func()
	// OnSuspend is wfn_on_suspend.
	OnSuspend func()
	// Discard forgets the current invocation's state (its tasks and its
	// context watcher), as a killed instance loses it. The host calls it
	// after an invocation whose tasks it did not run; it is a no-op when
	// the invocation ended normally.
	Discard func()
	// Handle is the catch-all handler (package catchall's Serve) that the
	// ABI version 2 runtime (build tag wfn_fluid) runs for each
	// invocation, on a goroutine of its own. Unused in version 1, where
	// the host calls the wfn_handle export.
	Handle func()
}
