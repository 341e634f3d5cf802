// Package wfn is the Go guest SDK for wfn, a WebAssembly function host.
//
// A function is a Go main package built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fn.wasm main.go
//
// Its main function never runs; the host calls a handler export for each
// request. This package is the core, native API over the host imports of
// ABI version 1 (see github.com/wfn-dev/wfn/abi): a [Request] to read, a
// [ResponseWriter] to write, and [Serve] to run a [Handler] for the
// current invocation. It does not import net/http, so functions stay small
// and start fast. Importing it exports the required ABI marker,
// wfn_abi_v1.
//
// Handlers are reached through exports, which this package does not
// declare. The catchall package exports wfn_handle, the catch-all
// handler; a function registers its handler with catchall.Handle from an
// init function. A function may instead declare per-method exports
// itself, each calling Serve:
//
//	//go:wasmexport GET
//	func get() { wfn.Serve(wfn.HandlerFunc(hello)) }
//
// When a module has method exports and no wfn_handle, the host answers
// 405 with an Allow header for the other methods, so do not import
// catchall in such a module.
//
// The wfnhttp package runs a plain net/http Handler instead, and the
// wfntest package runs handlers in ordinary Go tests, without WebAssembly.
//
// # Invocations
//
// An instance serves one invocation at a time, so Serve passes the same
// package-level Request and ResponseWriter to every invocation: a handler
// must not keep them, or use them from another goroutine, after it
// returns. Request parts are fetched from the host when first asked for.
// The status and headers are fixed when the handler first writes body
// bytes (or flushes or closes the response), and the response ends when
// it calls Close or returns; a handler that writes nothing produces an
// empty 200.
//
// Errors from the host are [abi.Errno] values, so errors.Is(err,
// abi.ECLOSED) works.
//
// # Lifecycle
//
// [Request.Context] is done when the invocation is aborted (the client
// went away from a function with supportsCancellation, or the host is
// shutting down past its grace period), when its deadline (the function's
// maxDuration) passes, or when the invocation ends. After an abort the
// body reads, writes and flushes fail with abi.ECANCELED, and the handler
// has 500 ms to return. [Request.DeadlineRemaining] is the time left.
//
// [WaitUntil] and [After] register work to run after the handler has
// returned and the response is complete, on the same instance and under
// the same deadline; [ResponseWriter.Close] completes the response early
// while the handler goes on. [OnSigterm] registers functions for the
// host's shutdown. Importing this package also exports wfn_run_task and
// wfn_on_sigterm, which run them.
//
// The host buffers a response until its first Flush (or Close): a
// buffered response is sent with Content-Length when the handler returns
// and is limited to 4.5 MB (a write past it fails with abi.ETOOLARGE and
// the client gets 500). A handler that streams must Flush; after the
// first flush there is no limit. A request body over 4.5 MB fails the
// read with abi.ETOOLARGE and the client gets 413.
//
// # Request context, environment and outbound HTTP
//
// [Request.IPAddress] is the client's address as the host trusts it and
// [Request.Geolocation] its location ([Geo], Vercel's geolocation). The
// guest's environment holds the function's configured variables only
// (Vercel's system variables, the served directory's .env, --env flags,
// the function's env config): os.Getenv reads them, and [GetEnv] returns
// Vercel's system variables as getEnv() does.
//
// [Fetch] asks the host to send an HTTP request and streams its response;
// the wfnfetch package wraps it in an http.RoundTripper for http.Client.
// The host denies loopback, private, link-local and metadata addresses
// unless the function's allowedOutboundHosts lists its own destinations.
//
// Each of these imports (ip_address, geolocation, http_*) is linked into
// a module only when the module calls the function that uses it.
//
// # Databases
//
// The wfnnet package dials TCP through the host (abi/SPEC.md, section
// 5c): net.Conns with deadlines for database drivers (pgx's DialFunc,
// go-redis's Dialer, database/sql through pgx's stdlib). A connection
// belongs to the invocation that dialed it, or, dialed with
// wfnnet.PoolDialContext (or from init), to the instance, so that a pool
// serves the instance's next invocations with it. [AttachDatabasePool]
// makes the host's suspension of an idle instance release the idle
// connections of a pool (pgxpool, database/sql, go-redis), as
// attachDatabasePool does on Vercel; importing this package exports
// wfn_on_suspend, which does it.
//
// # Caches
//
// [AddCacheTag] tags the response's entry in the CDN cache, and
// [InvalidateByTag], [DangerouslyDeleteByTag], [InvalidateBySrcImage] and
// [DangerouslyDeleteBySrcImage] purge the CDN, as the functions of the
// same names in @vercel/functions do. The wfncache package is the Runtime
// Cache (getCache). Each of these imports (cdn_*, cache_*) is linked in
// only when called, too.
//
// A handler that uses none of this pays nothing for it: no goroutine, no
// allocation, no host call.
//
// A panic in a handler is not recovered: it ends the instance (Go's
// wasip1 runtime exits), the host answers the request as a failed
// invocation and discards the instance. Recover in your handler if a
// panic should become a response.
//
// # Fluid compute (ABI version 2)
//
// Built with the build tag wfn_fluid, the same code serves many
// invocations at once in one instance, as Vercel's Fluid compute does
// (abi/SPEC-v2.md): wfn adds the tag to a function configured with
// "fluid": true (vercel.json's top-level toggle, or a functions rule), and
// `go build -tags wfn_fluid` does it by hand. The module then exports
// wfn_abi_v2 and wfn_serve instead of wfn_abi_v1 and the handler exports,
// and:
//
//   - each invocation runs the catch-all handler (catchall, wfnhttp.Handle)
//     on a goroutine of its own, with its own Request and ResponseWriter
//     (or *http.Request and http.ResponseWriter); a handler that waits (a
//     body read, a slow client, wfnfetch, the Runtime Cache) parks only its
//     goroutine;
//   - functions without a request argument ([WaitUntil], [AddCacheTag],
//     [Fetch], wfncache) act for the invocation of the calling goroutine:
//     the handler's, or one that a goroutine of the invocation started
//     (the SDK tells them apart by the goroutines' profiler labels, which
//     new goroutines inherit; a handler that replaces its labels with
//     runtime/pprof loses its invocation); elsewhere they fail with
//     abi.EBADHANDLE;
//   - [Request.Context] is cancelled when the host aborts the invocation
//     (context.Cause abi.ECANCELED), without polling;
//   - [WaitUntil] starts its task at once, on a goroutine of its own,
//     alongside the response, as Vercel's waitUntil does; the response is
//     complete when the handler returns, the invocation when the handler
//     and every task have, a task that panics is logged and stops no
//     other, and one invocation starts at most 1024 (abi.MaxTasks), as
//     under version 1;
//   - a panic in a handler fails only its invocation: 500 when the head
//     was not sent, else the response ends with what was written; wfnhttp
//     cuts a response it streamed (response_abort), where version 1 exits
//     the instance.
//
// Method exports work under version 2 too: the host calls each once per
// instance before serving, with no invocation, and the [Serve] call it
// makes registers its handler for that method (abi/SPEC-v2.md section 2);
// code around Serve in a method export runs once per instance, not per
// request. wfnnet works (a call waits for the host's readiness event while
// the other invocations run), and [AttachDatabasePool]'s pools release
// their idle connections when the instance goes (EventStop, EventSigterm):
// a version 2 instance is never suspended. A panic on a goroutine the
// handler started still ends the instance and every invocation on it, as
// any Go program's does.
package wfn
