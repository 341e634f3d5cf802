// Package abi is the wfn host ABI, version 1: the names, signatures and
// error codes shared by the host and every guest, whatever language the
// guest is written in.
//
// It holds only names and numbers; it imports no WebAssembly engine. The
// normative text, with the rules for each import and export, is SPEC.md in
// this directory. Guest SDKs in other languages are written against it, and
// a change to a name or a signature is recorded in its change log.
//
// In short: a guest is a WASI preview 1 reactor that exports [ExportMarker],
// a linear memory and at least one handler ([ExportHandle] or a method
// export such as "GET"). For each request the host calls one handler export
// on an instance that serves nothing else at that time; the handler reads
// the request and writes the response through the imports of module
// [Module]. Only numbers cross the boundary: bytes travel as (ptr, len)
// pairs in the guest's memory, values come back into buffers the guest
// supplies, and a negative result is an [Errno].
package abi

import "strconv"

// Version is the ABI version this package describes.
const Version = 1

// Module is the import module name of every wfn host function.
const Module = "wfn"

// Guest exports.
const (
	// ExportMemory is the guest's linear memory. Required.
	ExportMemory = "memory"
	// ExportMarker marks a module built for ABI version 1. Required; a
	// module without it is refused at load time. Signature () -> ().
	ExportMarker = "wfn_abi_v1"
	// ExportInitialize is the WASI reactor initialiser, called once per
	// instance before anything else. Signature () -> ().
	ExportInitialize = "_initialize"
	// ExportInit is optional module-scope setup, called once per instance
	// after ExportInitialize. Signature () -> ().
	ExportInit = "wfn_init"
	// ExportHandle is the catch-all handler, called when no method export
	// matches the request's method. Signature () -> ().
	ExportHandle = "wfn_handle"
	// ExportRunTask runs one task registered with ImportWaitUntil, after
	// the handler returns. Signature (task i32) -> (). Required of a
	// guest that imports wait_until.
	ExportRunTask = "wfn_run_task"
	// ExportOnSigterm is called on each live instance when the host shuts
	// down, with 500 ms to finish. Signature () -> ().
	ExportOnSigterm = "wfn_on_sigterm"
	// ExportOnSuspend is called on an idle instance before it is suspended
	// (SPEC.md section 5c), with 500 ms to finish, so that the guest
	// releases its pools' idle connections. Optional. Signature () -> ().
	ExportOnSuspend = "wfn_on_suspend"
)

// Methods lists the per-method handler exports, in the order the host
// reports them in an Allow header. Each has signature () -> ().
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// The names of the host imports of module [Module]. Their signatures are
// declared in [Funcs].

// Request imports (module [Module]).
const (
	// ImportRequestMethod writes the method into (buf, cap).
	ImportRequestMethod = "request_method"
	// ImportRequestURL writes the absolute URL, as the client used it, with
	// the query.
	ImportRequestURL = "request_url"
	// ImportRequestHeaderNames writes the lower-case header names, a NUL
	// after each.
	ImportRequestHeaderNames = "request_header_names"
	// ImportRequestHeader writes every value of one header, a NUL after
	// each, or returns ENOTFOUND.
	ImportRequestHeader = "request_header"
	// ImportRequestParam writes one dynamic route segment: a route
	// api/greet/[name] gives the param "name", or ENOTFOUND.
	ImportRequestParam = "request_param"
	// ImportRequestBodyRead reads the next bytes of the request body into
	// (buf, cap). It waits for data; 0 means the end of the body.
	ImportRequestBodyRead = "request_body_read"
)

// Response imports (module [Module]).
const (
	// ImportResponseSetStatus sets the status code (100..999, else EINVAL;
	// ECLOSED once the head is sent).
	ImportResponseSetStatus = "response_set_status"
	// ImportResponseHeaderSet replaces a response header.
	ImportResponseHeaderSet = "response_header_set"
	// ImportResponseHeaderAdd appends a value to a response header.
	ImportResponseHeaderAdd = "response_header_add"
	// ImportResponseHeaderDelete removes a response header.
	ImportResponseHeaderDelete = "response_header_delete"
	// ImportResponseBodyWrite writes body bytes; the first write sends the
	// status and headers.
	ImportResponseBodyWrite = "response_body_write"
	// ImportResponseFlush pushes buffered bytes to the client now.
	ImportResponseFlush = "response_flush"
	// ImportResponseClose ends the response.
	ImportResponseClose = "response_close"
)

// Lifetime imports (module [Module]).
const (
	// ImportAbortSignaled is 1 once the invocation is aborted, else 0; it
	// never waits.
	ImportAbortSignaled = "abort_signaled"
	// ImportWaitUntil registers a task that the host runs with
	// ExportRunTask after the response.
	ImportWaitUntil = "wait_until"
	// ImportDeadlineRemainingMs is the time left before the invocation's
	// maximum duration, in milliseconds.
	ImportDeadlineRemainingMs = "deadline_remaining_ms"
)

// Request context and outbound HTTP imports (module [Module]).
const (
	ImportIPAddress   = "ip_address"
	ImportGeolocation = "geolocation"

	ImportHTTPSend                = "http_send"
	ImportHTTPResponseStatus      = "http_response_status"
	ImportHTTPResponseHeaderNames = "http_response_header_names"
	ImportHTTPResponseHeader      = "http_response_header"
	ImportHTTPResponseBodyRead    = "http_response_body_read"
	ImportHTTPClose               = "http_close"
	ImportHTTPWait                = "http_wait"
)

// Outbound TCP imports (module [Module], SPEC.md section 5c).
const (
	// ImportTCPConnect opens a connection to "host:port" through the
	// outbound policy and waits until it is established; it returns a
	// handle > 0.
	ImportTCPConnect = "tcp_connect"
	// ImportTCPRead reads the next bytes of a connection; 0 means the peer
	// closed its side.
	ImportTCPRead = "tcp_read"
	// ImportTCPWrite sends bytes on a connection.
	ImportTCPWrite = "tcp_write"
	// ImportTCPCloseWrite half-closes a connection.
	ImportTCPCloseWrite = "tcp_close_write"
	// ImportTCPClose closes a connection and releases its handle.
	ImportTCPClose = "tcp_close"
	// ImportTCPRemoteAddress writes the address a connection reached.
	ImportTCPRemoteAddress = "tcp_remote_address"
)

// TCPInstance is the tcp_connect flag that makes a connection belong to
// the instance (a pool's), not the invocation (SPEC.md section 5c).
const TCPInstance = 1

// Runtime Cache and CDN imports (module [Module]). Tags are one string,
// comma-separated.
const (
	ImportCacheGet       = "cache_get"
	ImportCacheSet       = "cache_set"
	ImportCacheDelete    = "cache_delete"
	ImportCacheExpireTag = "cache_expire_tag"

	ImportCDNAddCacheTag          = "cdn_add_cache_tag"
	ImportCDNInvalidateByTag      = "cdn_invalidate_by_tag"
	ImportCDNDeleteByTag          = "cdn_delete_by_tag"
	ImportCDNInvalidateBySrcImage = "cdn_invalidate_by_src_image"
	ImportCDNDeleteBySrcImage     = "cdn_delete_by_src_image"
)

// Errno is a negative result of a host import. Zero and positive results
// are successes (a length, a count, or nothing).
type Errno int32

// The error codes of ABI version 1.
const (
	// ENOTFOUND: no such header, key, param or value.
	ENOTFOUND Errno = -1
	// EINVAL: a malformed argument, such as a header name or value with CR,
	// LF or NUL, or a status outside 100..999.
	EINVAL Errno = -2
	// ETOOLARGE: over a limit.
	ETOOLARGE Errno = -3
	// ECLOSED: too late, such as headers already sent or the response
	// already closed.
	ECLOSED Errno = -4
	// ECANCELED: the invocation was aborted.
	ECANCELED Errno = -5
	// EDENIED: not allowed, such as an outbound destination off the allow
	// list.
	EDENIED Errno = -6
	// EBADHANDLE: an unknown or closed handle.
	EBADHANDLE Errno = -7
	// EIO: the operation failed on the host side.
	EIO Errno = -8
	// ECONNREFUSED: the destination refused the connection.
	ECONNREFUSED Errno = -9
	// ETIMEDOUT: the time given to the call passed first.
	ETIMEDOUT Errno = -10
	// EAGAIN: try again (ABI version 2 only): the import would wait; an
	// EventReady for the same invocation and handle follows when it can
	// make progress (SPEC-v2.md).
	EAGAIN Errno = -11
)

var errnoNames = [...]string{"", "ENOTFOUND", "EINVAL", "ETOOLARGE", "ECLOSED", "ECANCELED", "EDENIED", "EBADHANDLE", "EIO", "ECONNREFUSED", "ETIMEDOUT", "EAGAIN"}

// String returns the code's name, such as "ECLOSED".
func (e Errno) String() string {
	if e < 0 && int(-e) < len(errnoNames) {
		return errnoNames[-e]
	}
	return "Errno(" + strconv.Itoa(int(e)) + ")"
}

// Error makes an Errno usable as a Go error by SDKs.
func (e Errno) Error() string { return "wfn: " + e.String() }
