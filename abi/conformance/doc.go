// Package conformance is the conformance suite of the wfn host ABI,
// version 1 (../SPEC.md): it drives one guest module over HTTP through a
// [Target], the host side under test, and checks that every served import and export behaves as
// the specification says, in the spirit of http-wasm's TCK.
//
// The suite tests a guest SDK together with the host. An SDK author
// writes a small conformance guest with the SDK's public API (the Go
// SDK's is testdata/conformance/go in this repository; the JavaScript
// runtime's is the TypeScript file testdata/conformance/js/conformance.ts,
// which the suite serves as api/[case].ts) and runs
//
//	wfn conformance guest.wasm
//
// which prints one line per case and a last line "N passed, N failed",
// and exits non-zero on any failure. From Go, [Run] runs the cases as
// subtests of a test, and [RunAll] is what the command calls; both take
// the Target to run against: the wfn host's is
// github.com/wfn-dev/wfn/host/hosttarget.Target, and the Go SDK's
// wfntest has one too (wfntest.Target), which runs a Go guest's handler
// without WebAssembly, so that the double and the host are held to the
// same cases. This package imports no host.
//
// # What the suite sets up
//
// The suite writes a temporary directory and asks the Target to serve it
// ([Setup]) behind a server on a loopback address:
//
//   - api/[case].wasm: the guest, so that every case is the path
//     /api/<case> and the guest reads the case's name with
//     request_param("case").
//   - api/methods/[case].wasm: when the guest has method exports (GET,
//     POST, ...), a copy of it with the wfn_handle export removed, so that
//     the host's 405 can be checked with the same guest.
//   - a vercel.json giving both functions maxDuration 60, an env, and
//     allowedOutboundHosts listing only the loopback backend the suite
//     starts for the outbound cases;
//   - a .env file, host variables (Setup.Env), region "tst1", and
//     the loopback addresses as trusted proxies, so that x-real-ip and the
//     x-vercel-ip-* headers the suite sends reach ip_address and
//     geolocation.
//
// # The protocol a conformance guest implements
//
// The guest MUST export wfn_handle. It MAY also have method exports
// (GET, POST, ...); then every handler export runs the same code, and the
// dispatch case checks that the host calls the right one. The Go guest
// exports wfn_handle, GET and POST.
//
// Every handler export:
//
//  1. sets the response header x-wfn-export to its own export name
//     ("wfn_handle", "GET", ...);
//  2. reads request_param("case") and runs that case, below;
//  3. for a case it does not know, answers 404 with the param's value as
//     the whole body (the params case relies on this).
//
// Results that only the guest can see (error codes, the outcome of the
// buffer protocol) are reported, not judged: the guest sends
// "x-wfn-check-NAME: RESULT", where RESULT is "ok" for a success and the
// error's name from SPEC.md section 2 ("EINVAL", "ECLOSED", ...) for a
// negative result, or "fail: reason" for anything else. Before the first
// body write the report is a response header; after it (the head is
// fixed), a body line "x-wfn-check-NAME: RESULT\n". The suite compares
// each result with what the specification requires; a missing report is
// a failure. Log lines are written to stdout (WASI fd_write on 1) and
// stderr; the suite reads them from the host's log, each with the request
// id. A version 2 guest writes them with the log import instead
// (../SPEC-v2.md section 10), at level 0 for stdout and 1 for stderr.
//
// Query parameters named below are in the request URL (request_url);
// "token" is a fresh random string that the guest copies into its log
// lines. The cases, by the name in the path:
//
//	dispatch     nothing more: the suite checks x-wfn-export (and the 405
//	             of api/methods/ for the methods the guest does not export)
//	empty        nothing: no write at all
//	method       header x-wfn-method: the request method
//	url          body: the request URL
//	headers      header x-wfn-lookup: the values of request header
//	             "X-MULTI" (asked in upper case), joined with ","; check
//	             "absent": request_header("x-absent") (ENOTFOUND); body: for
//	             each name of request_header_names, in order, one line
//	             "name: value" per value of that header, in order
//	buffer       body: the request URL, "\n", and the value of request
//	             header x-long (12 KB: longer than any first buffer)
//	body         read the request body with reads of at most 1000 bytes;
//	             check "read" (ok at the end of the body); headers
//	             x-wfn-body-length (bytes read), x-wfn-body-reads (reads
//	             that returned data), x-wfn-body-sha256 (hex)
//	status       checks "status-99" and "status-1000" (set those
//	             statuses), "status-201" (set 201); write "created\n";
//	             body line check "status-after-write" (set 202)
//	status-1xx   set status 103 and return
//	headers-out  set x-set "one", then check "set": set X-Set "two"; add
//	             x-add "a", then check "add": add X-Add "b"; set x-del
//	             "gone", then check "delete": delete X-Del; check "tab":
//	             set x-tab "a\tb"; checks "bad-name-space" (set "bad name"),
//	             "bad-name-colon" (add "bad:name"), "bad-name-empty" (set
//	             ""), "bad-value-crlf" (set x-bad "a\r\nx-injected: 1"),
//	             "bad-value-nul" (set x-bad "a\x00b"), "bad-value-ctl" (add
//	             x-bad "a\x01b"), "bad-delete" (delete "bad name"); write
//	             "headers\n"; body line checks "set-after-write" (set
//	             x-late), "add-after-write" (add x-late),
//	             "delete-after-write" (delete x-set)
//	buffered     set content-type "text/plain; charset=utf-8"; write
//	             "hello, " and "buffered world" in two writes, no flush
//	stream       set content-type as above; write "first\n"; flush; sleep
//	             1.5 s; write "second\n"
//	close        write "closed"; response_close; write "more" and close
//	             again (both must fail); sleep 2 s; log to stdout
//	             "wfn-conformance close TOKEN write=R1 close=R2", R1 and R2
//	             the two results
//	abort        header x-wfn-abort-signaled: abort_signaled()
//	deadline     header x-wfn-deadline-ms: deadline_remaining_ms()
//	wait-until   register a task with wait_until; check "wait-until". The
//	             task sleeps 500 ms, logs "wfn-conformance wait-until
//	             TOKEN" to stdout, registers a second task, which logs
//	             "wfn-conformance wait-until-nested TOKEN"
//	log          log "wfn-conformance stdout TOKEN" to stdout and
//	             "wfn-conformance stderr TOKEN" to stderr; check "log" (ok)
//	env          body: the WASI environment (environ_get), one KEY=VALUE
//	             per line
//	ip-address   header x-wfn-ip: ip_address(), or "ENOTFOUND"
//	geolocation  body: the geolocation JSON object (the SDK may decode
//	             and re-encode it, keeping Vercel's field names and leaving
//	             out empty fields)
//	fetch        POST the query's "url" with header "X-Conformance: yes"
//	             and body "ping"; read the response body in reads of at
//	             most 1000 bytes; check "fetch" (ok, or the error of any
//	             step); headers x-wfn-fetch-status (the status),
//	             x-wfn-fetch-names (http_response_header_names, joined
//	             with ","), x-wfn-fetch-header (the values of the
//	             response's X-Backend header, joined with ","); body: the
//	             response body; close the handle
//	fetch-denied check "denied": GET the query's "url" (a loopback address
//	             not allowed); check "denied-metadata": GET
//	             http://169.254.169.254/latest/meta-data/ (the first error
//	             of http_send or http_response_status)
//	clock        header x-wfn-wall-ms: the wall clock (Unix ms); sleep 50
//	             ms; header x-wfn-sleep-ms: the monotonic time the sleep
//	             took, in ms
//	random       header x-wfn-random: 32 bytes of random_get, in hex
//	cache        (optional) with the query's "key", "tag" and "value":
//	             check "miss": get key (ENOTFOUND on a miss); check
//	             "set": set key to value (ttl 0, tags [tag], name
//	             "conformance"); header x-wfn-cache-get: get key; check
//	             "delete": delete key; check "deleted": get key; check
//	             "set-tagged": set key again as before; check
//	             "expire-tag": expire tag; check "expired": get key;
//	             check "bad-ttl": set key with ttl -1; check "bad-tag":
//	             set key with tags ["a", ""]; check "keep": set key +
//	             "-kept" to value, ttl 60. With the query's "read" set:
//	             only header x-wfn-cache-get: get key, the value or the
//	             error's name
//	cdn          (optional) with the query's "tag" and "src": checks
//	             "add-tag" (add the cache tag tag), "add-tag-empty" (add
//	             ["a", ""]), "invalidate-tag" (invalidate tag),
//	             "delete-tag" (delete tag, revalidation deadline 0),
//	             "delete-tag-negative" (delete tag, deadline -1),
//	             "invalidate-src" (invalidate src), "invalidate-src-empty"
//	             (invalidate ""), "delete-src" (delete src, deadline 60)
//	fetch-wait   (optional) GET the query's "url" (a backend that answers
//	             after a second); header x-wfn-wait-now: http_wait(h, 0);
//	             header x-wfn-wait: http_wait(h, 10000); header
//	             x-wfn-fetch-status: the status; close the handle
//	tcp          (optional) with the query's "addr" (an echo server) and
//	             "refused" (a closed port): check "connect": tcp_connect
//	             addr (flags 0, 5000 ms); header x-wfn-tcp-remote: its
//	             tcp_remote_address; check "write": write "ping from a wfn
//	             guest" whole; check "close-write": tcp_close_write; check
//	             "close-write-again": tcp_close_write again; check
//	             "write-closed": tcp_write after it; header
//	             x-wfn-tcp-read: every byte read until tcp_read returns 0;
//	             check "read-end": that 0; check "close": tcp_close;
//	             check "close-again": tcp_close again; check
//	             "read-closed": tcp_read on the closed handle; check
//	             "bad-flag": tcp_connect addr with flags 2; check
//	             "bad-addr": tcp_connect "127.0.0.1" (no port); check
//	             "refused": tcp_connect refused
//	tcp-denied   (optional) check "denied": tcp_connect the query's "addr"
//	             (a loopback port not allowed); check "denied-metadata":
//	             tcp_connect 169.254.169.254:80
//	tcp-timeout  (optional) with the query's "addr" (a server that never
//	             answers): check "connect"; check "read-timeout": tcp_read
//	             with a timeout of 100 ms; header x-wfn-tcp-waited-ms: the
//	             monotonic time it took, in ms; check "read-now": tcp_read
//	             with 0; check "write-after-timeout": tcp_write "still
//	             here"; check "close": tcp_close
//
// The optional cases exercise APIs an SDK may not offer (the caches, a
// bounded wait, outbound TCP): a guest answers them as unknown cases (404 with the
// name) to be skipped. Every import has at least one case.
//
// # The fluid cases (ABI version 2)
//
// A guest that exports wfn_abi_v2 (../SPEC-v2.md) is also served as
// api/fluid/[case].wasm, with maxDuration 4 and supportsCancellation, for
// the cases fluid-concurrency, fluid-abort, fluid-deadline and fluid-trap
// (a version 1 guest skips them, with the reason). Their handlers keep
// their state in the instance's memory, so that what one reports is what
// its instance holds, and set header x-wfn-instance to an id drawn when
// the instance started:
//
//	hold         with the query's "key" and "n": if "flush" is set, write
//	             "held\n" and flush; then wait, counted as held under key,
//	             until release is called for key (body "released\n") or
//	             the request's context is cancelled (n is then recorded
//	             as cancelled under key)
//	held         with the query's "key": headers x-wfn-held (how many are
//	             held under key), x-wfn-cancelled (the n of the cancelled
//	             ones, sorted, joined with ","), x-wfn-remaining-ms (the
//	             least time left before the deadline of a held one; absent
//	             when none is)
//	release      with the query's "key": release those held under key;
//	             header x-wfn-released: how many there were
//	instance     only x-wfn-instance
//	trap         end the instance with a trap (the Go guest: a panic on a
//	             goroutine no handler recovers), and wait meanwhile
//
// [Cases] lists them with what the suite checks and the sections of
// SPEC.md (SPEC-v2.md for the fluid cases) they cover.
//
// # Writing an SDK and running the suite
//
// Start from SPEC.md section 9. Build your SDK's conformance guest
// (a WASI reactor, exporting wfn_handle and, if your SDK offers them,
// method exports), then run wfn conformance on it while you work, case by
// case: the failures name the specification's rule and what was seen,
// and, when the host failed one of the case's invocations (a trap, an
// out-of-bounds pointer, a final status that cannot end a response), the
// host's log lines for it at level WARN or above, with the reason.
// The suite's own guest-independent expectations are in this package;
// only the protocol above is yours to implement. A conforming SDK passes
// every case; the dispatch case is skipped (and counted in neither
// number) when the guest has no method export.
//
// The suite takes a few seconds beyond compiling the guest: three cases
// wait on purpose (stream, close and wait-until sleep in the guest to
// show that the host streams, completes early and runs tasks after the
// response).
package conformance
