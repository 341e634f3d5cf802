//go:build !wasip1 && wfn_fluid

package hostcall

// The ABI version 2 runtime outside WebAssembly (build tag wfn_fluid on
// any other platform), which package wfntest drives as the host drives the
// WebAssembly one: [Invoke] is EventInvoke, [Abort] EventAbort. Each call
// runs on the [Host] of the calling goroutine's invocation (the one given
// to Invoke), which waits in plain Go where the host's version 2 import
// would answer EAGAIN; outside an invocation the per-invocation imports
// answer EBADHANDLE, as in WebAssembly, and the TCP imports go to the host
// given to [InstallIdle].

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/wfn-dev/wfn/abi"
)

// ResponseAborter is implemented by a Host that serves ABI version 2:
// ResponseAbort is response_abort (abi/SPEC-v2.md), which fails the
// invocation (500, or a cut response if its head was sent).
type ResponseAborter interface {
	ResponseAbort() int32
}

// invSys is what the runtime keeps with an invocation outside WebAssembly.
type invSys struct {
	host  Host
	ended func()
}

// endSys calls the function given to Invoke.
func (i *inv) endSys() {
	if i.sys.ended != nil {
		i.sys.ended()
	}
}

var lastID atomic.Uint32

// Invoke starts an invocation served by h: body (a handler export's body,
// such as wfn.Serve of a handler) runs on a worker goroutine labelled
// with the invocation, and every import made from it, or from the
// goroutines it starts, goes to h. ended is called once, on the goroutine
// that ends the invocation (invocation_end: when the handler and its
// waitUntil tasks have returned, or a panic or ProcExit failed it).
// Invoke returns the invocation's id, for [Abort]; ids start at 1 and do
// not repeat.
func Invoke(h Host, body func(), ended func()) uint32 {
	i := newInv(lastID.Add(1), body)
	i.sys = invSys{host: h, ended: ended}
	i.start()
	return i.id
}

// Abort is EventAbort for invocation id: its context is cancelled, with
// abi.ECANCELED as the cause, or context.DeadlineExceeded for
// AbortDeadline. It does nothing once the invocation has ended.
func Abort(id uint32, reason int32) {
	if i := byIDLookup(id); i != nil {
		i.abort(reason)
	}
}

// Install panics: under ABI version 2 each invocation has its own host,
// given to [Invoke].
func Install(Host) {
	panic("wfn: hostcall.Install is not available under ABI version 2 (build tag wfn_fluid): use Invoke")
}

// idleHost answers the TCP imports of goroutines outside an invocation.
var idleHost atomic.Pointer[Host]

// InstallIdle makes h the host of the TCP imports of goroutines that
// serve no invocation (a pool's background work, a test's cleanup).
func InstallIdle(h Host) { idleHost.Store(&h) }

// tcpHost is the calling goroutine's invocation's host, else the idle one.
func tcpHost() Host {
	if i := current(); i != nil {
		return i.sys.host
	}
	if h := idleHost.Load(); h != nil {
		return *h
	}
	return nil
}

// Log writes one log line of the calling goroutine's invocation; outside
// WebAssembly the lines of every invocation go to standard error.
func Log(level uint32, line string) { fmt.Fprintln(os.Stderr, line) }

// RegisteringExport returns "": outside WebAssembly no host makes
// registration calls, so wfn.Serve serves the handler it is given.
func RegisteringExport() string { return "" }

// RequestMethod calls request_method.
func RequestMethod(buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.RequestMethod(buf) })
}

// RequestURL calls request_url.
func RequestURL(buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.RequestURL(buf) })
}

// RequestHeaderNames calls request_header_names.
func RequestHeaderNames(buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.RequestHeaderNames(buf) })
}

// RequestHeader calls request_header.
func RequestHeader(name string, buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.RequestHeader(name, buf) })
}

// RequestParam calls request_param.
func RequestParam(name string, buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.RequestParam(name, buf) })
}

// RequestBodyRead calls request_body_read.
func RequestBodyRead(buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.RequestBodyRead(buf) })
}

// ResponseSetStatus calls response_set_status.
func ResponseSetStatus(code int32) int32 {
	return with(func(i *inv) int32 { return i.sys.host.ResponseSetStatus(code) })
}

// ResponseHeaderSet calls response_header_set.
func ResponseHeaderSet(name, value string) int32 {
	return with(func(i *inv) int32 { return i.sys.host.ResponseHeaderSet(name, value) })
}

// ResponseHeaderAdd calls response_header_add.
func ResponseHeaderAdd(name, value string) int32 {
	return with(func(i *inv) int32 { return i.sys.host.ResponseHeaderAdd(name, value) })
}

// ResponseHeaderDelete calls response_header_delete.
func ResponseHeaderDelete(name string) int32 {
	return with(func(i *inv) int32 { return i.sys.host.ResponseHeaderDelete(name) })
}

// ResponseBodyWrite calls response_body_write.
func ResponseBodyWrite(p []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.ResponseBodyWrite(p) })
}

// ResponseBodyWriteString calls response_body_write with the bytes of s.
// The host must not keep or modify the slice it is given.
func ResponseBodyWriteString(s string) int32 {
	return ResponseBodyWrite(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// ResponseFlush calls response_flush.
func ResponseFlush() int32 { return with(func(i *inv) int32 { return i.sys.host.ResponseFlush() }) }

// ResponseClose calls response_close.
func ResponseClose() int32 { return with(func(i *inv) int32 { return i.sys.host.ResponseClose() }) }

// AbortSignaled calls abort_signaled.
func AbortSignaled() int32 { return with(func(i *inv) int32 { return i.sys.host.AbortSignaled() }) }

// WaitUntil answers EBADHANDLE: version 2 has no wait_until; package wfn
// runs tasks as goroutines of the invocation.
func WaitUntil(int32) int32 { return int32(abi.EBADHANDLE) }

// DeadlineRemainingMs calls deadline_remaining_ms; -1 outside an
// invocation.
func DeadlineRemainingMs() int64 {
	i := current()
	if i == nil {
		return -1
	}
	return i.sys.host.DeadlineRemainingMs()
}

// ProcExit fails the calling goroutine's invocation, and only it, as in
// WebAssembly: the host's ResponseAbort (if it has one) answers 500 or
// cuts the response, the invocation ends, and so does the calling
// goroutine (runtime.Goexit, which runs its deferred calls). Outside an
// invocation it calls the idle host's ProcExit, or panics.
func ProcExit(code int32) {
	i := current()
	if i == nil {
		if h := idleHost.Load(); h != nil {
			(*h).ProcExit(code)
		}
		panic(fmt.Sprintf("wfn: proc_exit(%d) outside an invocation", code))
	}
	if a, ok := i.sys.host.(ResponseAborter); ok {
		a.ResponseAbort()
	}
	i.end()
	runtime.Goexit()
}

// IPAddress calls ip_address.
func IPAddress(buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.IPAddress(buf) })
}

// Geolocation calls geolocation.
func Geolocation(buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.Geolocation(buf) })
}

// HTTPSend calls http_send; headers are name NUL value NUL pairs.
func HTTPSend(method, url string, headers, body []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.HTTPSend(method, url, headers, body) })
}

// HTTPResponseStatus calls http_response_status.
func HTTPResponseStatus(h int32) int32 {
	return with(func(i *inv) int32 { return i.sys.host.HTTPResponseStatus(h) })
}

// HTTPResponseHeaderNames calls http_response_header_names.
func HTTPResponseHeaderNames(h int32, buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.HTTPResponseHeaderNames(h, buf) })
}

// HTTPResponseHeader calls http_response_header.
func HTTPResponseHeader(h int32, name string, buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.HTTPResponseHeader(h, name, buf) })
}

// HTTPResponseBodyRead calls http_response_body_read.
func HTTPResponseBodyRead(h int32, buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.HTTPResponseBodyRead(h, buf) })
}

// HTTPClose calls http_close.
func HTTPClose(h int32) int32 { return with(func(i *inv) int32 { return i.sys.host.HTTPClose(h) }) }

// CacheGet calls cache_get.
func CacheGet(key string, buf []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.CacheGet(key, buf) })
}

// CacheSet calls cache_set; tags are joined with commas.
func CacheSet(key string, value []byte, ttlSeconds int64, tags []byte, name string) int32 {
	return with(func(i *inv) int32 { return i.sys.host.CacheSet(key, value, ttlSeconds, tags, name) })
}

// CacheDelete calls cache_delete.
func CacheDelete(key string) int32 {
	return with(func(i *inv) int32 { return i.sys.host.CacheDelete(key) })
}

// CacheExpireTag calls cache_expire_tag.
func CacheExpireTag(tags []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.CacheExpireTag(tags) })
}

// CDNAddCacheTag calls cdn_add_cache_tag.
func CDNAddCacheTag(tags []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.CDNAddCacheTag(tags) })
}

// CDNInvalidateByTag calls cdn_invalidate_by_tag.
func CDNInvalidateByTag(tags []byte) int32 {
	return with(func(i *inv) int32 { return i.sys.host.CDNInvalidateByTag(tags) })
}

// CDNDeleteByTag calls cdn_delete_by_tag.
func CDNDeleteByTag(tags []byte, revalidationDeadlineSeconds int64) int32 {
	return with(func(i *inv) int32 { return i.sys.host.CDNDeleteByTag(tags, revalidationDeadlineSeconds) })
}

// CDNInvalidateBySrcImage calls cdn_invalidate_by_src_image.
func CDNInvalidateBySrcImage(src string) int32 {
	return with(func(i *inv) int32 { return i.sys.host.CDNInvalidateBySrcImage(src) })
}

// CDNDeleteBySrcImage calls cdn_delete_by_src_image.
func CDNDeleteBySrcImage(src string, revalidationDeadlineSeconds int64) int32 {
	return with(func(i *inv) int32 { return i.sys.host.CDNDeleteBySrcImage(src, revalidationDeadlineSeconds) })
}

// tcp runs f on the TCP imports' host, or answers EBADHANDLE without one.
func tcp(f func(h Host) int32) int32 {
	h := tcpHost()
	if h == nil {
		return int32(abi.EBADHANDLE)
	}
	return f(h)
}

// TCPConnect calls tcp_connect.
func TCPConnect(addr string, flags int32, timeoutMs int64) int32 {
	return tcp(func(h Host) int32 { return h.TCPConnect(addr, flags, timeoutMs) })
}

// TCPRead calls tcp_read.
func TCPRead(c int32, buf []byte, timeoutMs int64) int32 {
	return tcp(func(h Host) int32 { return h.TCPRead(c, buf, timeoutMs) })
}

// TCPWrite calls tcp_write.
func TCPWrite(c int32, p []byte, timeoutMs int64) int32 {
	return tcp(func(h Host) int32 { return h.TCPWrite(c, p, timeoutMs) })
}

// TCPCloseWrite calls tcp_close_write.
func TCPCloseWrite(c int32) int32 { return tcp(func(h Host) int32 { return h.TCPCloseWrite(c) }) }

// TCPClose calls tcp_close.
func TCPClose(c int32) int32 { return tcp(func(h Host) int32 { return h.TCPClose(c) }) }

// TCPRemoteAddress calls tcp_remote_address.
func TCPRemoteAddress(c int32, buf []byte) int32 {
	return tcp(func(h Host) int32 { return h.TCPRemoteAddress(c, buf) })
}
