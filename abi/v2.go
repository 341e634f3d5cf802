package abi

// ABI version 2 (SPEC-v2.md): many invocations in one instance at once.
// A guest chooses it by exporting [ExportMarkerV2] instead of
// [ExportMarker]; the host serves version 1 guests as before.

// VersionV2 is the number of the second ABI version.
const VersionV2 = 2

// ModuleV2 is the import module name of every version 2 host function.
// Its imports are declared in [FuncsV2].
const ModuleV2 = "wfn_v2"

// Guest exports of version 2.
const (
	// ExportMarkerV2 marks a module built for ABI version 2. Signature
	// () -> (); never called.
	ExportMarkerV2 = "wfn_abi_v2"
	// ExportServe is the serving export: the host calls it once per
	// instance, after the initialisation, and the guest returns from it
	// only after an [EventStop]. Signature () -> ().
	ExportServe = "wfn_serve"
)

// EventFD is the WASI descriptor of a version 2 instance's event source:
// its standard input, non-blocking (SPEC-v2.md section 3).
const EventFD = 0

// EventSize is the size in bytes of one event record read from [EventFD]:
// four little-endian u32 fields, kind, invocation, handle and value.
const EventSize = 16

// Event kinds: the first field of an event record.
const (
	// EventInvoke: a new invocation; the record's invocation is its id.
	EventInvoke = 1
	// EventReady: an import of the invocation that returned EAGAIN for
	// the handle may now make progress. The handle is an outbound HTTP or
	// TCP handle, or one of [HandleRequestBody], [HandleResponseBody],
	// [HandleCache].
	EventReady = 2
	// EventAbort: the invocation is aborted; the value says why
	// ([AbortClient], [AbortDeadline], [AbortShutdown]).
	EventAbort = 3
	// EventSigterm: the host is shutting the instance down; the guest has
	// 500 ms before an EventStop. Invocation 0.
	EventSigterm = 4
	// EventStop: the guest returns from ExportServe. Sent only when no
	// invocation is in flight. Invocation 0.
	EventStop = 5
)

// The handles of EventReady that are not outbound handles.
const (
	// HandleRequestBody: request_body_read has bytes or the end.
	HandleRequestBody = -1
	// HandleResponseBody: response_body_write has room again.
	HandleResponseBody = -2
	// HandleCache: a cache or CDN import that returned EAGAIN is done;
	// the same call, repeated, returns its result.
	HandleCache = -3
)

// The reasons of EventAbort, in its value field.
const (
	AbortClient   = 1 // the client went away (supportsCancellation)
	AbortDeadline = 2 // the invocation passed maxDuration
	AbortShutdown = 3 // the host shuts down past its grace period
)

// Log levels of the version 2 log import.
const (
	LogInfo  = 0
	LogWarn  = 1
	LogError = 2
)

// Version 2 imports that version 1 does not have.
const (
	// ImportInvocationEnd ends an invocation: its handler and every task
	// the guest ran for it have returned. Replaces wfn_run_task.
	ImportInvocationEnd = "invocation_end"
	// ImportLog writes one log line of an invocation.
	ImportLog = "log"
	// ImportResponseAbort fails an invocation's response: 500 before its
	// head, a cut response after it (a handler's panic while streaming).
	ImportResponseAbort = "response_abort"
	// ImportRegisteringExport names the handler export (a method export
	// or wfn_handle) that the host calls, once per instance before the
	// serving call, for the guest to register the handler it serves
	// (SPEC-v2.md section 2).
	ImportRegisteringExport = "registering_export"
)

// MaxConcurrentInvocations is the default bound on the invocations one
// version 2 instance serves at once (the function's instanceConcurrency).
const MaxConcurrentInvocations = 1000

// MaxPendingWrite is the most response bytes of one streamed invocation
// that the host holds on their way to the client; response_body_write
// takes what fits and returns EAGAIN when nothing does (SPEC-v2.md).
const MaxPendingWrite = 1 << 20

// WatchdogMs bounds, in milliseconds, how long a version 2 guest may run
// without calling into the host (an import or poll_oneoff) while one of
// its invocations is past its deadline: the host then stops the instance.
const WatchdogMs = 1000

// CPUBusyMs is how long, in milliseconds, a version 2 guest runs without
// returning to wait in poll_oneoff, while ending invocations or without
// any host call but the interrupt checks' polls (one invocation
// computing), before the
// host counts its instance as CPU-busy: a new invocation then goes to an
// instance that is not, or to a new one while fewer than the host's
// processors (GOMAXPROCS) are live (SPEC-v2.md section 4, "CPU-busy
// instances").
const CPUBusyMs = 100

// inv is the invocation id, the first parameter of every per-invocation
// import of version 2.
func withInv(vs ...Value) []Value { return append([]Value{i32("inv")}, vs...) }

// FuncsV2 declares every import of module [ModuleV2], in the order of
// SPEC-v2.md's tables, which a test compares with it.
var FuncsV2 = []Func{
	// Invocations (section 4).
	{ImportInvocationEnd, withInv(), i32("err")},
	{ImportLog, withInv(params("level", "buf", "len")...), i32("err")},
	{ImportAbortSignaled, withInv(), Value{Type: I32}},
	{ImportDeadlineRemainingMs, withInv(), Value{Type: I64}},
	{ImportRegisteringExport, params("buf", "cap"), i32("len")},

	// Request (section 5).
	{ImportRequestMethod, withInv(params("buf", "cap")...), i32("len")},
	{ImportRequestURL, withInv(params("buf", "cap")...), i32("len")},
	{ImportRequestHeaderNames, withInv(params("buf", "cap")...), i32("len")},
	{ImportRequestHeader, withInv(params("name", "name_len", "buf", "cap")...), i32("len")},
	{ImportRequestParam, withInv(params("name", "name_len", "buf", "cap")...), i32("len")},
	{ImportRequestBodyRead, withInv(params("buf", "cap")...), i32("n")},
	{ImportIPAddress, withInv(params("buf", "cap")...), i32("len")},
	{ImportGeolocation, withInv(params("buf", "cap")...), i32("len")},

	// Response (section 6).
	{ImportResponseSetStatus, withInv(params("code")...), i32("err")},
	{ImportResponseHeaderSet, withInv(params("name", "nlen", "value", "vlen")...), i32("err")},
	{ImportResponseHeaderAdd, withInv(params("name", "nlen", "value", "vlen")...), i32("err")},
	{ImportResponseHeaderDelete, withInv(params("name", "nlen")...), i32("err")},
	{ImportResponseBodyWrite, withInv(params("buf", "len")...), i32("n")},
	{ImportResponseFlush, withInv(), i32("err")},
	{ImportResponseClose, withInv(), i32("err")},
	{ImportResponseAbort, withInv(), i32("err")},

	// Outbound HTTP (section 7).
	{ImportHTTPSend, withInv(params("method", "mlen", "url", "ulen", "headers", "hlen", "body", "blen")...), i32("handle")},
	{ImportHTTPResponseStatus, withInv(params("h")...), Value{Type: I32}},
	{ImportHTTPResponseHeaderNames, withInv(params("h", "buf", "cap")...), i32("len")},
	{ImportHTTPResponseHeader, withInv(params("h", "name", "nlen", "buf", "cap")...), i32("len")},
	{ImportHTTPResponseBodyRead, withInv(params("h", "buf", "cap")...), i32("n")},
	{ImportHTTPClose, withInv(params("h")...), i32("err")},

	// Outbound TCP (section 8).
	{ImportTCPConnect, withInv(params("addr", "alen", "flags")...), i32("handle")},
	{ImportTCPRead, withInv(params("h", "buf", "cap")...), i32("n")},
	{ImportTCPWrite, withInv(params("h", "buf", "len")...), i32("n")},
	{ImportTCPCloseWrite, withInv(params("h")...), i32("err")},
	{ImportTCPClose, withInv(params("h")...), i32("err")},
	{ImportTCPRemoteAddress, withInv(params("h", "buf", "cap")...), i32("len")},

	// Caches (section 9).
	{ImportCacheGet, withInv(params("key", "klen", "buf", "cap")...), i32("len")},
	{ImportCacheSet, withInv(i32("key"), i32("klen"), i32("val"), i32("vlen"), i64("ttl_s"), i32("tags"), i32("tlen"), i32("name"), i32("nlen")), i32("err")},
	{ImportCacheDelete, withInv(params("key", "klen")...), i32("err")},
	{ImportCacheExpireTag, withInv(params("tags", "tlen")...), i32("err")},
	{ImportCDNAddCacheTag, withInv(params("tags", "tlen")...), i32("err")},
	{ImportCDNInvalidateByTag, withInv(params("tags", "tlen")...), i32("err")},
	{ImportCDNDeleteByTag, withInv(i32("tags"), i32("tlen"), i64("revalidation_deadline_s")), i32("err")},
	{ImportCDNInvalidateBySrcImage, withInv(params("src", "slen")...), i32("err")},
	{ImportCDNDeleteBySrcImage, withInv(i32("src"), i32("slen"), i64("revalidation_deadline_s")), i32("err")},
}

// LookupV2 returns the declaration of the version 2 import named name,
// and false when version 2 has none.
func LookupV2(name string) (Func, bool) {
	for _, f := range FuncsV2 {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}
