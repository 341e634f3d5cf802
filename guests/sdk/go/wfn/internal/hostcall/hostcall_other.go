//go:build !wasip1 && !wfn_fluid

package hostcall

import (
	"context"
	"sync/atomic"
	"unsafe"
)

var current atomic.Pointer[Host]

// Install makes h the host that every call dispatches to, until the next
// Install. Install(nil) removes it.
func Install(h Host) {
	if h == nil {
		current.Store(nil)
		return
	}
	current.Store(&h)
}

// idleHost answers the imports that work outside an invocation (tcp_*)
// when no host is installed.
var idleHost atomic.Pointer[Host]

// InstallIdle makes h the host of the TCP imports while no host is
// installed: between invocations an instance's connections stay usable
// (a pool's background work, a test's cleanup), while the request imports
// still panic there.
func InstallIdle(h Host) { idleHost.Store(&h) }

// tcpHost is the installed host, else the idle one.
func tcpHost() Host {
	if h := current.Load(); h != nil {
		return *h
	}
	if h := idleHost.Load(); h != nil {
		return *h
	}
	return host()
}

func host() Host {
	h := current.Load()
	if h == nil {
		panic("wfn: no host installed: outside WebAssembly, run handlers with the wfntest package")
	}
	return *h
}

// RequestMethod calls request_method.
func RequestMethod(buf []byte) int32 { return host().RequestMethod(buf) }

// RequestURL calls request_url.
func RequestURL(buf []byte) int32 { return host().RequestURL(buf) }

// RequestHeaderNames calls request_header_names.
func RequestHeaderNames(buf []byte) int32 { return host().RequestHeaderNames(buf) }

// RequestHeader calls request_header.
func RequestHeader(name string, buf []byte) int32 { return host().RequestHeader(name, buf) }

// RequestParam calls request_param.
func RequestParam(name string, buf []byte) int32 { return host().RequestParam(name, buf) }

// RequestBodyRead calls request_body_read.
func RequestBodyRead(buf []byte) int32 { return host().RequestBodyRead(buf) }

// ResponseSetStatus calls response_set_status.
func ResponseSetStatus(code int32) int32 { return host().ResponseSetStatus(code) }

// ResponseHeaderSet calls response_header_set.
func ResponseHeaderSet(name, value string) int32 { return host().ResponseHeaderSet(name, value) }

// ResponseHeaderAdd calls response_header_add.
func ResponseHeaderAdd(name, value string) int32 { return host().ResponseHeaderAdd(name, value) }

// ResponseHeaderDelete calls response_header_delete.
func ResponseHeaderDelete(name string) int32 { return host().ResponseHeaderDelete(name) }

// ResponseBodyWrite calls response_body_write.
func ResponseBodyWrite(p []byte) int32 { return host().ResponseBodyWrite(p) }

// ResponseBodyWriteString calls response_body_write with the bytes of s.
// The host must not keep or modify the slice it is given.
func ResponseBodyWriteString(s string) int32 {
	return host().ResponseBodyWrite(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// ResponseFlush calls response_flush.
func ResponseFlush() int32 { return host().ResponseFlush() }

// ResponseClose calls response_close.
func ResponseClose() int32 { return host().ResponseClose() }

// AbortSignaled calls abort_signaled.
func AbortSignaled() int32 { return host().AbortSignaled() }

// WaitUntil calls wait_until.
func WaitUntil(task int32) int32 { return host().WaitUntil(task) }

// DeadlineRemainingMs calls deadline_remaining_ms.
func DeadlineRemainingMs() int64 { return host().DeadlineRemainingMs() }

// ProcExit calls the installed host's ProcExit, which does not return.
func ProcExit(code int32) { host().ProcExit(code) }

// IPAddress calls ip_address.
func IPAddress(buf []byte) int32 { return host().IPAddress(buf) }

// Geolocation calls geolocation.
func Geolocation(buf []byte) int32 { return host().Geolocation(buf) }

// HTTPSend calls http_send; headers are name NUL value NUL pairs.
func HTTPSend(method, url string, headers, body []byte) int32 {
	return host().HTTPSend(method, url, headers, body)
}

// HTTPResponseStatus calls http_response_status.
func HTTPResponseStatus(h int32) int32 { return host().HTTPResponseStatus(h) }

// HTTPResponseHeaderNames calls http_response_header_names.
func HTTPResponseHeaderNames(h int32, buf []byte) int32 {
	return host().HTTPResponseHeaderNames(h, buf)
}

// HTTPResponseHeader calls http_response_header.
func HTTPResponseHeader(h int32, name string, buf []byte) int32 {
	return host().HTTPResponseHeader(h, name, buf)
}

// HTTPResponseBodyRead calls http_response_body_read.
func HTTPResponseBodyRead(h int32, buf []byte) int32 { return host().HTTPResponseBodyRead(h, buf) }

// HTTPClose calls http_close.
func HTTPClose(h int32) int32 { return host().HTTPClose(h) }

// CacheGet calls cache_get.
func CacheGet(key string, buf []byte) int32 { return host().CacheGet(key, buf) }

// CacheSet calls cache_set; tags are joined with commas.
func CacheSet(key string, value []byte, ttlSeconds int64, tags []byte, name string) int32 {
	return host().CacheSet(key, value, ttlSeconds, tags, name)
}

// CacheDelete calls cache_delete.
func CacheDelete(key string) int32 { return host().CacheDelete(key) }

// CacheExpireTag calls cache_expire_tag.
func CacheExpireTag(tags []byte) int32 { return host().CacheExpireTag(tags) }

// CDNAddCacheTag calls cdn_add_cache_tag.
func CDNAddCacheTag(tags []byte) int32 { return host().CDNAddCacheTag(tags) }

// CDNInvalidateByTag calls cdn_invalidate_by_tag.
func CDNInvalidateByTag(tags []byte) int32 { return host().CDNInvalidateByTag(tags) }

// CDNDeleteByTag calls cdn_delete_by_tag.
func CDNDeleteByTag(tags []byte, revalidationDeadlineSeconds int64) int32 {
	return host().CDNDeleteByTag(tags, revalidationDeadlineSeconds)
}

// CDNInvalidateBySrcImage calls cdn_invalidate_by_src_image.
func CDNInvalidateBySrcImage(src string) int32 { return host().CDNInvalidateBySrcImage(src) }

// CDNDeleteBySrcImage calls cdn_delete_by_src_image.
func CDNDeleteBySrcImage(src string, revalidationDeadlineSeconds int64) int32 {
	return host().CDNDeleteBySrcImage(src, revalidationDeadlineSeconds)
}

// TCPConnect calls tcp_connect.
func TCPConnect(addr string, flags int32, timeoutMs int64) int32 {
	return tcpHost().TCPConnect(addr, flags, timeoutMs)
}

// TCPRead calls tcp_read.
func TCPRead(h int32, buf []byte, timeoutMs int64) int32 { return tcpHost().TCPRead(h, buf, timeoutMs) }

// TCPWrite calls tcp_write.
func TCPWrite(h int32, p []byte, timeoutMs int64) int32 { return tcpHost().TCPWrite(h, p, timeoutMs) }

// TCPCloseWrite calls tcp_close_write.
func TCPCloseWrite(h int32) int32 { return tcpHost().TCPCloseWrite(h) }

// TCPClose calls tcp_close.
func TCPClose(h int32) int32 { return tcpHost().TCPClose(h) }

// TCPRemoteAddress calls tcp_remote_address.
func TCPRemoteAddress(h int32, buf []byte) int32 { return tcpHost().TCPRemoteAddress(h, buf) }

// Concurrent reports whether invocations run at once in this build: false
// outside WebAssembly, where wfntest runs one at a time.
const Concurrent = false

// InvocationEnd does nothing outside ABI version 2.
func InvocationEnd() {}

// AbortContext is the parent of an invocation's context: outside ABI
// version 2 nothing cancels it, and package wfn asks abort_signaled.
func AbortContext() context.Context { return context.Background() }
