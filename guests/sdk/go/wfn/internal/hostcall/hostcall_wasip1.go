//go:build wasip1 && !wfn_fluid

package hostcall

import (
	"context"
	"os"
	"unsafe"
)

// The raw imports. Pointers are passed as i32 offsets into linear memory;
// //go:noescape keeps callers' buffers and strings off the heap.

//go:wasmimport wfn request_method
//go:noescape
func requestMethod(buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn request_url
//go:noescape
func requestURL(buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn request_header_names
//go:noescape
func requestHeaderNames(buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn request_header
//go:noescape
func requestHeader(name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn request_param
//go:noescape
func requestParam(name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn request_body_read
//go:noescape
func requestBodyRead(buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn response_set_status
func responseSetStatus(code int32) int32

//go:wasmimport wfn response_header_set
//go:noescape
func responseHeaderSet(name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32) int32

//go:wasmimport wfn response_header_add
//go:noescape
func responseHeaderAdd(name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32) int32

//go:wasmimport wfn response_header_delete
//go:noescape
func responseHeaderDelete(name unsafe.Pointer, nameLen uint32) int32

//go:wasmimport wfn response_body_write
//go:noescape
func responseBodyWrite(buf unsafe.Pointer, bufLen uint32) int32

//go:wasmimport wfn response_flush
func responseFlush() int32

//go:wasmimport wfn response_close
func responseClose() int32

//go:wasmimport wfn abort_signaled
func abortSignaled() int32

//go:wasmimport wfn wait_until
func waitUntil(task int32) int32

//go:wasmimport wfn deadline_remaining_ms
func deadlineRemainingMs() int64

// Request context and outbound HTTP. Like the others, each is linked
// into a module only when something calls it.

//go:wasmimport wfn ip_address
//go:noescape
func ipAddress(buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn geolocation
//go:noescape
func geolocation(buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn http_send
//go:noescape
func httpSend(method unsafe.Pointer, methodLen uint32, url unsafe.Pointer, urlLen uint32, headers unsafe.Pointer, headersLen uint32, body unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport wfn http_response_status
func httpResponseStatus(h int32) int32

//go:wasmimport wfn http_response_header_names
//go:noescape
func httpResponseHeaderNames(h int32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn http_response_header
//go:noescape
func httpResponseHeader(h int32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn http_response_body_read
//go:noescape
func httpResponseBodyRead(h int32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn http_close
func httpClose(h int32) int32

// Runtime Cache and CDN. Tag lists are the tags joined with commas, "a,b".

//go:wasmimport wfn cache_get
//go:noescape
func cacheGet(key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn cache_set
//go:noescape
func cacheSet(key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32, ttlSeconds int64, tags unsafe.Pointer, tagsLen uint32, name unsafe.Pointer, nameLen uint32) int32

//go:wasmimport wfn cache_delete
//go:noescape
func cacheDelete(key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport wfn cache_expire_tag
//go:noescape
func cacheExpireTag(tags unsafe.Pointer, tagsLen uint32) int32

//go:wasmimport wfn cdn_add_cache_tag
//go:noescape
func cdnAddCacheTag(tags unsafe.Pointer, tagsLen uint32) int32

//go:wasmimport wfn cdn_invalidate_by_tag
//go:noescape
func cdnInvalidateByTag(tags unsafe.Pointer, tagsLen uint32) int32

//go:wasmimport wfn cdn_delete_by_tag
//go:noescape
func cdnDeleteByTag(tags unsafe.Pointer, tagsLen uint32, revalidationDeadlineSeconds int64) int32

//go:wasmimport wfn cdn_invalidate_by_src_image
//go:noescape
func cdnInvalidateBySrcImage(src unsafe.Pointer, srcLen uint32) int32

//go:wasmimport wfn cdn_delete_by_src_image
//go:noescape
func cdnDeleteBySrcImage(src unsafe.Pointer, srcLen uint32, revalidationDeadlineSeconds int64) int32

// Outbound TCP (SPEC.md section 5c). Timeouts are milliseconds.

//go:wasmimport wfn tcp_connect
//go:noescape
func tcpConnect(addr unsafe.Pointer, addrLen uint32, flags int32, timeoutMs int64) int32

//go:wasmimport wfn tcp_read
//go:noescape
func tcpRead(h int32, buf unsafe.Pointer, bufCap uint32, timeoutMs int64) int32

//go:wasmimport wfn tcp_write
//go:noescape
func tcpWrite(h int32, buf unsafe.Pointer, bufLen uint32, timeoutMs int64) int32

//go:wasmimport wfn tcp_close_write
func tcpCloseWrite(h int32) int32

//go:wasmimport wfn tcp_close
func tcpClose(h int32) int32

//go:wasmimport wfn tcp_remote_address
//go:noescape
func tcpRemoteAddress(h int32, buf unsafe.Pointer, bufCap uint32) int32

// Install panics: in WebAssembly the host is the real one.
func Install(Host) { panic("wfn: hostcall.Install is not available in WebAssembly") }

// InstallIdle does nothing: in WebAssembly the host is the real one.
func InstallIdle(Host) {}

func bytesPtr(b []byte) unsafe.Pointer  { return unsafe.Pointer(unsafe.SliceData(b)) }
func stringPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

// RequestMethod calls request_method.
func RequestMethod(buf []byte) int32 { return requestMethod(bytesPtr(buf), uint32(len(buf))) }

// RequestURL calls request_url.
func RequestURL(buf []byte) int32 { return requestURL(bytesPtr(buf), uint32(len(buf))) }

// RequestHeaderNames calls request_header_names.
func RequestHeaderNames(buf []byte) int32 {
	return requestHeaderNames(bytesPtr(buf), uint32(len(buf)))
}

// RequestHeader calls request_header.
func RequestHeader(name string, buf []byte) int32 {
	return requestHeader(stringPtr(name), uint32(len(name)), bytesPtr(buf), uint32(len(buf)))
}

// RequestParam calls request_param.
func RequestParam(name string, buf []byte) int32 {
	return requestParam(stringPtr(name), uint32(len(name)), bytesPtr(buf), uint32(len(buf)))
}

// RequestBodyRead calls request_body_read.
func RequestBodyRead(buf []byte) int32 { return requestBodyRead(bytesPtr(buf), uint32(len(buf))) }

// ResponseSetStatus calls response_set_status.
func ResponseSetStatus(code int32) int32 { return responseSetStatus(code) }

// ResponseHeaderSet calls response_header_set.
func ResponseHeaderSet(name, value string) int32 {
	return responseHeaderSet(stringPtr(name), uint32(len(name)), stringPtr(value), uint32(len(value)))
}

// ResponseHeaderAdd calls response_header_add.
func ResponseHeaderAdd(name, value string) int32 {
	return responseHeaderAdd(stringPtr(name), uint32(len(name)), stringPtr(value), uint32(len(value)))
}

// ResponseHeaderDelete calls response_header_delete.
func ResponseHeaderDelete(name string) int32 {
	return responseHeaderDelete(stringPtr(name), uint32(len(name)))
}

// ResponseBodyWrite calls response_body_write.
func ResponseBodyWrite(p []byte) int32 { return responseBodyWrite(bytesPtr(p), uint32(len(p))) }

// ResponseBodyWriteString calls response_body_write with the bytes of s.
func ResponseBodyWriteString(s string) int32 {
	return responseBodyWrite(stringPtr(s), uint32(len(s)))
}

// ResponseFlush calls response_flush.
func ResponseFlush() int32 { return responseFlush() }

// ResponseClose calls response_close.
func ResponseClose() int32 { return responseClose() }

// AbortSignaled calls abort_signaled.
func AbortSignaled() int32 { return abortSignaled() }

// WaitUntil calls wait_until.
func WaitUntil(task int32) int32 { return waitUntil(task) }

// DeadlineRemainingMs calls deadline_remaining_ms.
func DeadlineRemainingMs() int64 { return deadlineRemainingMs() }

// ProcExit ends the instance with WASI's proc_exit, through os.Exit: no
// deferred function runs.
func ProcExit(code int32) { os.Exit(int(code)) }

// IPAddress calls ip_address.
func IPAddress(buf []byte) int32 { return ipAddress(bytesPtr(buf), uint32(len(buf))) }

// Geolocation calls geolocation.
func Geolocation(buf []byte) int32 { return geolocation(bytesPtr(buf), uint32(len(buf))) }

// HTTPSend calls http_send; headers are name NUL value NUL pairs.
func HTTPSend(method, url string, headers, body []byte) int32 {
	return httpSend(stringPtr(method), uint32(len(method)), stringPtr(url), uint32(len(url)),
		bytesPtr(headers), uint32(len(headers)), bytesPtr(body), uint32(len(body)))
}

// HTTPResponseStatus calls http_response_status.
func HTTPResponseStatus(h int32) int32 { return httpResponseStatus(h) }

// HTTPResponseHeaderNames calls http_response_header_names.
func HTTPResponseHeaderNames(h int32, buf []byte) int32 {
	return httpResponseHeaderNames(h, bytesPtr(buf), uint32(len(buf)))
}

// HTTPResponseHeader calls http_response_header.
func HTTPResponseHeader(h int32, name string, buf []byte) int32 {
	return httpResponseHeader(h, stringPtr(name), uint32(len(name)), bytesPtr(buf), uint32(len(buf)))
}

// HTTPResponseBodyRead calls http_response_body_read.
func HTTPResponseBodyRead(h int32, buf []byte) int32 {
	return httpResponseBodyRead(h, bytesPtr(buf), uint32(len(buf)))
}

// HTTPClose calls http_close.
func HTTPClose(h int32) int32 { return httpClose(h) }

// CacheGet calls cache_get.
func CacheGet(key string, buf []byte) int32 {
	return cacheGet(stringPtr(key), uint32(len(key)), bytesPtr(buf), uint32(len(buf)))
}

// CacheSet calls cache_set; tags are joined with commas.
func CacheSet(key string, value []byte, ttlSeconds int64, tags []byte, name string) int32 {
	return cacheSet(stringPtr(key), uint32(len(key)), bytesPtr(value), uint32(len(value)), ttlSeconds,
		bytesPtr(tags), uint32(len(tags)), stringPtr(name), uint32(len(name)))
}

// CacheDelete calls cache_delete.
func CacheDelete(key string) int32 { return cacheDelete(stringPtr(key), uint32(len(key))) }

// CacheExpireTag calls cache_expire_tag.
func CacheExpireTag(tags []byte) int32 { return cacheExpireTag(bytesPtr(tags), uint32(len(tags))) }

// CDNAddCacheTag calls cdn_add_cache_tag.
func CDNAddCacheTag(tags []byte) int32 { return cdnAddCacheTag(bytesPtr(tags), uint32(len(tags))) }

// CDNInvalidateByTag calls cdn_invalidate_by_tag.
func CDNInvalidateByTag(tags []byte) int32 {
	return cdnInvalidateByTag(bytesPtr(tags), uint32(len(tags)))
}

// CDNDeleteByTag calls cdn_delete_by_tag.
func CDNDeleteByTag(tags []byte, revalidationDeadlineSeconds int64) int32 {
	return cdnDeleteByTag(bytesPtr(tags), uint32(len(tags)), revalidationDeadlineSeconds)
}

// CDNInvalidateBySrcImage calls cdn_invalidate_by_src_image.
func CDNInvalidateBySrcImage(src string) int32 {
	return cdnInvalidateBySrcImage(stringPtr(src), uint32(len(src)))
}

// CDNDeleteBySrcImage calls cdn_delete_by_src_image.
func CDNDeleteBySrcImage(src string, revalidationDeadlineSeconds int64) int32 {
	return cdnDeleteBySrcImage(stringPtr(src), uint32(len(src)), revalidationDeadlineSeconds)
}

// TCPConnect calls tcp_connect.
func TCPConnect(addr string, flags int32, timeoutMs int64) int32 {
	return tcpConnect(stringPtr(addr), uint32(len(addr)), flags, timeoutMs)
}

// TCPRead calls tcp_read.
func TCPRead(h int32, buf []byte, timeoutMs int64) int32 {
	return tcpRead(h, bytesPtr(buf), uint32(len(buf)), timeoutMs)
}

// TCPWrite calls tcp_write.
func TCPWrite(h int32, p []byte, timeoutMs int64) int32 {
	return tcpWrite(h, bytesPtr(p), uint32(len(p)), timeoutMs)
}

// TCPCloseWrite calls tcp_close_write.
func TCPCloseWrite(h int32) int32 { return tcpCloseWrite(h) }

// TCPClose calls tcp_close.
func TCPClose(h int32) int32 { return tcpClose(h) }

// TCPRemoteAddress calls tcp_remote_address.
func TCPRemoteAddress(h int32, buf []byte) int32 {
	return tcpRemoteAddress(h, bytesPtr(buf), uint32(len(buf)))
}

// Concurrent reports whether invocations run at once in this build: ABI
// version 1 runs one at a time per instance.
const Concurrent = false

// InvocationEnd does nothing in ABI version 1: the invocation ends when the
// handler export (or the last wfn_run_task) returns.
func InvocationEnd() {}

// AbortContext is the parent of an invocation's context: in ABI version 1
// nothing cancels it, and package wfn asks abort_signaled.
func AbortContext() context.Context { return context.Background() }
