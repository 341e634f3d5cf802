// Package wfntest runs wfn handlers in ordinary Go tests, without
// WebAssembly: it implements the host imports of ABI version 1 in plain Go
// over a net/http request and response, with the host's semantics.
//
// [Do] runs a wfn.Handler and returns the recorded response; [Call] runs
// any export body, such as catchall.Serve or a function's per-method
// export; [Serve] writes to a real http.ResponseWriter, so a function can
// sit behind an httptest.Server and stream. [Sigterm] runs what the
// wfn_on_sigterm export runs.
//
// # What is simulated
//
//   - The buffer protocol, abi.EINVAL for a bad status or header, and
//     abi.ECLOSED once the status and headers are fixed (at the first
//     write, flush or close) or the response is closed.
//   - A final status outside 200..599 (a 1xx, or past 599): the flush or
//     close that would send it returns abi.EINVAL, and the client gets
//     502 NO_RESPONSE_FROM_FUNCTION when the handler returns.
//   - Buffering: the response is held until the handler's first flush (or
//     close). A buffered response is sent with Content-Length when the
//     handler returns, and is limited to [MaxBufferedResponse] bytes: the
//     write that passes it returns abi.ETOOLARGE, as do later writes and
//     flushes, and the client gets 500 FUNCTION_RESPONSE_PAYLOAD_TOO_LARGE.
//     After the first flush the response streams, with no limit.
//   - Header fields are limited to [MaxResponseHeader] bytes: the header
//     change that passes it returns abi.ETOOLARGE, as do later writes,
//     flushes and close, and the client gets 500
//     FUNCTION_RESPONSE_PAYLOAD_TOO_LARGE.
//   - Request bodies are limited to [MaxRequestBody] bytes: the read that
//     passes it returns abi.ETOOLARGE, and the client gets 413
//     FUNCTION_PAYLOAD_TOO_LARGE if the response had not started.
//   - Abort: the invocation is aborted when the request's context is done
//     (cancel it in a test; behind an httptest.Server it is done when the
//     client goes away, as for a function with supportsCancellation).
//     Then abort_signaled returns 1, the body reads, writes and flushes
//     return abi.ECANCELED, and the handler and its tasks have
//     [AbortGrace] to return before the instance is killed.
//   - Deadline: each invocation has a maximum duration ([MaxDuration],
//     [DefaultMaxDuration] unless set) that covers the handler and its
//     tasks; deadline_remaining_ms counts down to it.
//   - Tasks registered with wfn.WaitUntil run after the handler has
//     returned and the response is complete, in registration order, at
//     most [MaxTasks] per invocation. Do, Call and Serve return after the
//     last task.
//   - Request headers: as the host does, content-length is listed for a
//     body of known size and transfer-encoding (chunked) for one of
//     unknown size (ContentLength -1, or TransferEncoding set).
//   - Request context: ip_address is the host part of the request's
//     RemoteAddr unless [ClientIP] sets it; geolocation is unknown (region
//     "dev1") unless [Geolocation] sets it.
//   - Outbound HTTP (wfn.Fetch, wfnfetch.Transport): requests go to the
//     network, or to the handler given with [Outbound], with the host's
//     rules: the default destination rule (public allowed; loopback,
//     private, link-local, shared and metadata addresses denied with
//     abi.EDENIED, at the send for such an address in the URL or the
//     name localhost, and at the connection for a name that resolves to
//     one), or the function's allowedOutboundHosts
//     ([AllowedOutboundHosts]); up to [MaxRedirects]
//     redirects followed and checked; abi.EINVAL for a bad method, URL or
//     header; at most [MaxOutbound] requests in flight, their bodies
//     [MaxOutboundBodies] together (abi.ETOOLARGE);
//     abi.EIO when the backend fails; abi.ECANCELED for the waits and new
//     requests once the invocation is aborted or killed, when every
//     outbound request is closed; every handle closed when the
//     invocation ends (abi.EBADHANDLE after).
//   - Outbound TCP (wfnnet): real sockets with the host's rules: the
//     destination rule or [AllowedOutboundHosts] as for HTTP (outside an
//     invocation, the last invocation's), who owns a connection (the
//     invocation's are closed when it ends or is killed, and at once when
//     it is aborted; the instance's, dialed with abi.TCPInstance or
//     outside an invocation, live across invocations, as the test
//     process stands for one instance, until [Sigterm]), at most
//     [MaxTCPConns] open (abi.ETOOLARGE), the per-call timeouts
//     (abi.ETIMEDOUT), abi.ECONNREFUSED, abi.ENOTFOUND, and abi.ECANCELED
//     for a wait under way when the invocation is aborted or killed, and
//     for every wait on the instance's connections after the abort. Between
//     invocations the TCP imports keep working on the instance's
//     connections (a pool's cleanup); [TCPConns] counts the open ones,
//     and [Suspend] runs wfn_on_suspend, which releases the idle
//     connections of the pools attached with wfn.AttachDatabasePool.
//   - Caches (wfncache, wfn.AddCacheTag and the purges): a Runtime Cache
//     with the host's TTLs, tags and limits, and a record of the CDN
//     operations, in a [Cache]. Each invocation has its own unless
//     [SharedCache] gives several the same one.
//   - Environment: the guest reads the test process's environment; set
//     the function's variables with t.Setenv.
//
// A killed instance (past the deadline, or past the grace after an abort)
// cannot be simulated exactly, because a goroutine cannot be stopped. At
// that moment wfntest answers as the host does (504
// FUNCTION_INVOCATION_TIMEOUT past the deadline, 500
// FUNCTION_INVOCATION_FAILED after an abort) if the response had not
// started; from then on the imports that wait fail with abi.ECANCELED
// (the response ones with abi.ECLOSED), so that the handler returns soon,
// and the tasks not yet run are skipped. Do, Call and Serve still wait for the
// handler to return: a handler that never returns hangs the test. When the
// response had started, the host cuts the connection: Serve then panics
// with http.ErrAbortHandler, which net/http servers recover silently, so
// the client sees an incomplete response; Do and Call return what was
// written until then.
//
// Behind a real server the client's response ends when Serve returns, that
// is after the tasks. A buffered (or closed, never flushed) response
// carries Content-Length, so the client has all of it before then.
//
// A guest that calls proc_exit (wfnhttp does, to cut a response that a
// panic left incomplete) is answered for in the same way: Do, Call and
// Serve return (Serve panics with http.ErrAbortHandler when the response
// is cut), and its tasks are skipped.
//
// Like a wfn instance, the SDK serves one invocation at a time: calls into
// this package are serialised, so tests that use it may run in parallel
// but their invocations do not overlap. A panic in the handler is not
// recovered (in the host it ends the instance and the client gets a
// failed invocation); it propagates to the test.
//
// # ABI version 2 (Fluid compute)
//
// Built with the tag wfn_fluid, as wfn builds a function configured with
// "fluid": true, the SDK runs its version 2 runtime (abi/SPEC-v2.md) and
// this package simulates a version 2 instance: each invocation runs on a
// goroutine of the runtime with a host of its own, an abort or the
// deadline reaches the runtime as EventAbort (r.Context() is done at
// once, with context.Canceled and cause abi.ECANCELED, or
// context.DeadlineExceeded), abort_signaled is 1 past the deadline too,
// WaitUntil tasks start at once and run alongside the response, a
// handler's panic or proc_exit fails only its invocation (500
// FUNCTION_INVOCATION_FAILED, or a cut response), and the imports answer
// abi.EBADHANDLE outside an invocation. An [Instance] runs many
// invocations at once; Do, Call and Serve still run one at a time. Run
// both builds: go test ./... and go test -tags wfn_fluid ./...
//
// The host also answers 405 for methods a module does not export and
// applies memory limits; those belong to the host, not to this package.
package wfntest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// The host's limits, as Vercel's.
const (
	// MaxRequestBody is the most request body bytes a handler can read.
	MaxRequestBody = abi.MaxRequestBody
	// MaxBufferedResponse is the most body bytes a response can hold
	// before its first flush.
	MaxBufferedResponse = abi.MaxBufferedResponse
	// MaxResponseHeader is the most bytes a response's header fields may
	// take, names (once per value) and values counted.
	MaxResponseHeader = abi.MaxResponseHeader
	// MaxTasks is the most tasks one invocation can register.
	MaxTasks = abi.MaxTasks
	// DefaultMaxDuration is an invocation's maximum duration when the
	// function sets none.
	DefaultMaxDuration = 300 * time.Second
	// AbortGrace is the time an aborted invocation has to return before
	// the host kills the instance.
	AbortGrace = 500 * time.Millisecond
	// SigtermGrace is the time wfn_on_sigterm has before the host stops
	// the instance.
	SigtermGrace = 500 * time.Millisecond
)

// Error codes the host sends in the X-Wfn-Error header of its own
// answers.
const (
	CodeInvocationFailed        = "FUNCTION_INVOCATION_FAILED"
	CodeInvocationTimeout       = "FUNCTION_INVOCATION_TIMEOUT"
	CodePayloadTooLarge         = "FUNCTION_PAYLOAD_TOO_LARGE"
	CodeResponsePayloadTooLarge = "FUNCTION_RESPONSE_PAYLOAD_TOO_LARGE"
	CodeNoResponse              = "NO_RESPONSE_FROM_FUNCTION"
)

// ErrSigtermTooLong is returned by [Sigterm] when the functions
// registered with wfn.OnSigterm ran past [SigtermGrace].
var ErrSigtermTooLong = errors.New("wfntest: wfn_on_sigterm ran past the host's grace")

// mu serialises invocations: the SDK keeps one request and response per
// instance, and the installed host is global.
var mu sync.Mutex

// An Option configures an invocation.
type Option func(*config)

type config struct {
	maxDuration time.Duration
	clientIP    *string  // nil: the host part of the request's RemoteAddr
	geo         *wfn.Geo // nil: only the region, "dev1"
	outbound    http.Handler
	policy      policy
	cache       *Cache // nil: new, empty caches for the invocation
}

// MaxDuration sets the invocation's maximum duration, the function's
// maxDuration ([DefaultMaxDuration] unless set).
func MaxDuration(d time.Duration) Option {
	return func(c *config) { c.maxDuration = d }
}

// Do runs h for req, with the route params given (nil for none), and
// returns the response. The response body is fully read; the Flushed
// field of the recorder is not kept, use [Serve] with an
// httptest.ResponseRecorder to observe flushes.
func Do(h wfn.Handler, req *http.Request, params map[string]string, opts ...Option) *http.Response {
	return Call(func() { wfn.Serve(h) }, req, params, opts...)
}

// Call runs export, the body of a handler export such as catchall.Serve
// or a function's own GET export, for req and returns the response.
func Call(export func(), req *http.Request, params map[string]string, opts ...Option) *http.Response {
	rec := httptest.NewRecorder()
	serve(rec, req, params, export, opts)
	return rec.Result()
}

// Serve runs export for r as one invocation, then the tasks it registered,
// writing the response to w as the host would (see the package doc). It
// panics with http.ErrAbortHandler when the host would cut the
// connection.
func Serve(w http.ResponseWriter, r *http.Request, params map[string]string, export func(), opts ...Option) {
	if cut := serve(w, r, params, export, opts); cut {
		panic(http.ErrAbortHandler)
	}
}

// serve runs one invocation and reports whether the response was cut.
func serve(w http.ResponseWriter, r *http.Request, params map[string]string, export func(), opts []Option) bool {
	cfg := newConfig(opts)
	mu.Lock()
	defer mu.Unlock()
	return invoke(w, r, params, export, cfg, nil)
}

// invoke runs one invocation, of instance in when it is not nil, and
// reports whether the response was cut.
func invoke(w http.ResponseWriter, r *http.Request, params map[string]string, export func(), cfg config, in *Instance) bool {
	cfg.cache.begin()
	tcp.mu.Lock()
	tcp.policy = cfg.policy
	tcp.mu.Unlock()
	h := newHost(w, r, params, cfg)
	if in != nil {
		in.track(h)
		defer in.untrack(h)
	}
	run(h, export)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cut
}

// newConfig applies opts to the defaults.
func newConfig(opts []Option) config {
	cfg := config{maxDuration: DefaultMaxDuration}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.cache == nil {
		cfg.cache = NewCache()
	}
	return cfg
}

// procExit is the panic that stands for proc_exit: the instance ends.
type procExit struct{ code int32 }

func (e procExit) String() string {
	return fmt.Sprintf("wfntest: the guest called proc_exit(%d) outside an invocation", e.code)
}

// call runs f, an export's body, and reports whether it ended the instance
// with proc_exit. Any other panic goes on.
func call(f func()) (exited bool) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(procExit); !ok {
				panic(v)
			}
			exited = true
		}
	}()
	f()
	return false
}

// Sigterm runs what the wfn_on_sigterm export runs, the functions
// registered with wfn.OnSigterm, outside any invocation: request and
// response methods fail with abi.EBADHANDLE there. It returns an error
// wrapping [ErrSigtermTooLong] if they took longer than [SigtermGrace],
// when the host would have stopped them.
func Sigterm() error {
	mu.Lock()
	defer mu.Unlock()
	defer installIdle()()
	start := time.Now()
	hostcall.Exports.OnSigterm()
	closeTCP(nil) // the host closes the instance's connections after wfn_on_sigterm
	if d := time.Since(start); d > SigtermGrace {
		return fmt.Errorf("%w: took %v, over %v", ErrSigtermTooLong, d.Round(time.Millisecond), SigtermGrace)
	}
	return nil
}

// installIdle installs the host outside an invocation, under ABI version
// 1, and returns what removes it. Under version 2 a goroutine outside an
// invocation gets EBADHANDLE from the runtime itself.
func installIdle() (remove func()) {
	if hostcall.Concurrent {
		return func() {}
	}
	hostcall.Install(idle{})
	return func() { hostcall.Install(nil) }
}

// failure is a problem the host answers for when the handler returns.
type failure int

const (
	noFailure failure = iota
	requestTooLarge
	responseTooLarge
	invalidStatus // a final status outside 200..599
)

// host implements hostcall.Host for one invocation. The request parts are
// fixed; the response state is guarded by mu, because the deadline and
// the abort grace may kill the invocation from another goroutine.
type host struct {
	cfg    config
	req    *http.Request
	ctx    context.Context
	params map[string]string
	url    string
	names  []string // lower-case request header names, sorted

	deadline time.Time
	killed   atomic.Bool   // past the deadline or the abort grace
	inv      atomic.Uint32 // under ABI version 2, the invocation's id; 0 before it starts
	// abortTCP closes, once, the connections opened before the abort.
	abortTCP sync.Once

	// Only the invocation's goroutine reads the body.
	eof      bool
	bodyRead int64

	mu        sync.Mutex
	w         http.ResponseWriter
	rc        *http.ResponseController
	status    int
	header    http.Header
	locked    bool // status and headers can no longer change
	sent      bool // the head was written to w
	streaming bool // flushed once: writes go to w
	closed    bool // the response is complete
	cut       bool // killed after the head was sent
	buf       []byte
	failure   failure
	// headerSize counts the header fields set, names once per value,
	// against MaxResponseHeader.
	headerSize int
	tasks      []int32 // pending tasks
	nTasks     int     // tasks registered in all
	ended      bool
	timers     []func() bool // stop the deadline timer and the abort watch

	out outState // outbound requests, made at the first http_send

	// tcpCtx is done when the invocation is aborted or killed, killCtx
	// when it is killed: TCP waits end then.
	tcpCtx, killCtx       context.Context
	tcpCancel, killCancel context.CancelFunc
}

func newHost(w http.ResponseWriter, r *http.Request, params map[string]string, cfg config) *host {
	h := &host{
		cfg:      cfg,
		req:      r,
		ctx:      r.Context(),
		params:   params,
		url:      absoluteURL(r),
		deadline: time.Now().Add(cfg.maxDuration),
		w:        w,
		rc:       http.NewResponseController(w),
		status:   http.StatusOK,
		header:   http.Header{},
	}
	for name := range r.Header {
		l := strings.ToLower(name)
		if !slices.Contains(h.names, l) {
			h.names = append(h.names, l)
		}
	}
	if !slices.Contains(h.names, "host") {
		// As the host does, the Host header is listed with the others.
		h.names = append(h.names, "host")
	}
	if r.ContentLength > 0 && !slices.Contains(h.names, "content-length") {
		// A client sends Content-Length for a body of known size; a request
		// made with httptest.NewRequest only has it in the field.
		h.names = append(h.names, "content-length")
	}
	if chunked(r) && !slices.Contains(h.names, "transfer-encoding") {
		// As the host does, a body of unknown length is listed as sent
		// chunked.
		h.names = append(h.names, "transfer-encoding")
	}
	slices.Sort(h.names)
	h.killCtx, h.killCancel = context.WithCancel(context.Background())
	h.tcpCtx, h.tcpCancel = context.WithCancel(h.ctx)
	context.AfterFunc(h.killCtx, h.tcpCancel)

	deadline := time.AfterFunc(cfg.maxDuration, func() {
		h.kill(http.StatusGatewayTimeout, CodeInvocationTimeout)
		h.post(hostcall.AbortDeadline)
	})
	abort := context.AfterFunc(h.ctx, func() {
		// The connections opened before the abort close first: under ABI
		// version 2 the post wakes the handler, whose cleanup may dial.
		h.closeBeforeAbort()
		h.post(hostcall.AbortClient)
		grace := time.AfterFunc(AbortGrace, func() {
			h.kill(http.StatusInternalServerError, CodeInvocationFailed)
		})
		h.mu.Lock()
		h.timers = append(h.timers, grace.Stop)
		h.mu.Unlock()
	})
	h.mu.Lock()
	h.timers = append(h.timers, deadline.Stop, abort)
	h.mu.Unlock()
	return h
}

// closeBeforeAbort closes the connections the invocation opened before its
// abort, once: whoever tells the guest about the abort calls it first, so
// that a dial in the handler's cleanup is never closed with them.
func (h *host) closeBeforeAbort() { h.abortTCP.Do(func() { closeTCP(h) }) }

// aborted reports whether waiting imports must return ECANCELED.
func (h *host) aborted() bool { return h.ctx.Err() != nil || h.killed.Load() }

// kill does what the host does when it kills the instance: it answers
// with an error if the response has not started, cuts it otherwise, and
// runs nothing more of the invocation.
func (h *host) kill(status int, code string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended || h.killed.Load() {
		return
	}
	h.killed.Store(true)
	h.out.shutdown(false)
	h.killCancel()
	closeTCP(h)
	h.tasks = nil
	switch {
	case !h.sent:
		h.writeError(status, code)
	case !h.closed:
		h.cut = true
	}
	h.closed = true
}

// end stops the timers: after it the invocation cannot be killed.
func (h *host) end() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	for _, stop := range h.timers {
		stop()
	}
	h.out.shutdown(true)
	closeTCP(h)
	h.killCancel()
}

// finish completes the response when the handler returns: a buffered
// response is sent with its length, a failure is answered, and a guest
// that wrote nothing produces its status and an empty body.
func (h *host) finish() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.complete()
	}
}

// complete ends the response; h.mu is held.
func (h *host) complete() {
	h.closed = true
	h.locked = true
	switch {
	case h.streaming:
		h.rc.Flush()
	case h.failure == requestTooLarge:
		h.writeError(http.StatusRequestEntityTooLarge, CodePayloadTooLarge)
	case h.failure == responseTooLarge:
		h.writeError(http.StatusInternalServerError, CodeResponsePayloadTooLarge)
	case h.failure == invalidStatus || !validFinal(h.status):
		h.writeError(http.StatusBadGateway, CodeNoResponse)
	default:
		if h.req.Method != http.MethodHead || len(h.buf) > 0 {
			h.header.Set("Content-Length", strconv.Itoa(len(h.buf)))
		}
		h.sendHead(h.buf)
		if len(h.buf) > 0 {
			h.w.Write(h.buf)
		}
		h.buf = nil
		h.rc.Flush()
	}
}

// writeError answers with a platform error, as the host does (its body in
// text form, with the request id "wfntest"); h.mu is held.
func (h *host) writeError(status int, code string) {
	h.sent = true
	dst := h.w.Header()
	clear(dst)
	title := strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	body := fmt.Sprintf("%d: %s\nCode: %s\nID: wfntest\n", status, title, code)
	dst.Set("X-Wfn-Error", code)
	dst.Set("Cache-Control", "private, no-cache, no-store, max-age=0, must-revalidate")
	dst.Set("Content-Type", "text/plain; charset=utf-8")
	dst.Set("Content-Length", strconv.Itoa(len(body)))
	h.w.WriteHeader(status)
	io.WriteString(h.w, body)
	h.rc.Flush()
}

// sendHead sends the status and headers before the body bytes p; h.mu is
// held. Like a net/http server, it sets Content-Type from the first bytes
// when the guest set none.
func (h *host) sendHead(p []byte) {
	h.sent = true
	dst := h.w.Header()
	clear(dst)
	for k, v := range h.header {
		dst[k] = v
	}
	if _, ok := dst["Content-Type"]; !ok && len(p) > 0 && bodyAllowed(h.status) {
		dst.Set("Content-Type", http.DetectContentType(p))
	}
	h.w.WriteHeader(h.status)
}

// nextTask removes and returns the first pending task.
func (h *host) nextTask() (int32, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.tasks) == 0 || h.killed.Load() {
		return 0, false
	}
	t := h.tasks[0]
	h.tasks = h.tasks[1:]
	return t, true
}

// chunked reports whether r's body has a length not known in advance: it
// was sent chunked, or a request built in a test has ContentLength -1.
func chunked(r *http.Request) bool {
	return len(r.TransferEncoding) > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// absoluteURL is the URL as the client used it: scheme, host, path and
// query.
func absoluteURL(r *http.Request) string {
	if r.URL.IsAbs() {
		return r.URL.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + hostOf(r) + r.URL.RequestURI()
}

// hostOf is the host the client used: r.Host, else the URL's, else
// example.com.
func hostOf(r *http.Request) string {
	switch {
	case r.Host != "":
		return r.Host
	case r.URL.Host != "":
		return r.URL.Host
	}
	return "example.com"
}

// validFinal reports whether status can end a response: a 1xx is
// informational, and HTTP has no status past 599 (RFC 9110, section 15).
func validFinal(status int) bool { return status >= 200 && status <= 599 }

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// put runs the buffer protocol: the full length, bytes only when they fit.
func put(buf []byte, value string) int32 {
	if len(value) <= len(buf) {
		copy(buf, value)
	}
	return int32(len(value))
}

// list joins items with a NUL after each.
func list(items []string) string {
	var b strings.Builder
	for _, s := range items {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}

func (h *host) RequestMethod(buf []byte) int32 { return put(buf, h.req.Method) }

func (h *host) RequestURL(buf []byte) int32 { return put(buf, h.url) }

func (h *host) RequestHeaderNames(buf []byte) int32 { return put(buf, list(h.names)) }

func (h *host) RequestHeader(name string, buf []byte) int32 {
	var values []string
	for k, v := range h.req.Header {
		if strings.EqualFold(k, name) {
			values = append(values, v...)
		}
	}
	if values == nil && strings.EqualFold(name, "host") {
		values = []string{hostOf(h.req)}
	}
	if values == nil && strings.EqualFold(name, "content-length") && slices.Contains(h.names, "content-length") {
		values = []string{strconv.FormatInt(h.req.ContentLength, 10)}
	}
	if values == nil && strings.EqualFold(name, "transfer-encoding") && chunked(h.req) {
		values = []string{"chunked"}
	}
	if values == nil {
		return int32(abi.ENOTFOUND)
	}
	return put(buf, list(values))
}

func (h *host) RequestParam(name string, buf []byte) int32 {
	v, ok := h.params[name]
	if !ok {
		return int32(abi.ENOTFOUND)
	}
	return put(buf, v)
}

func (h *host) RequestBodyRead(buf []byte) int32 {
	if h.aborted() {
		return int32(abi.ECANCELED)
	}
	h.mu.Lock()
	tooLarge := h.failure == requestTooLarge
	closed := h.closed
	h.mu.Unlock()
	if closed {
		// As on the host: the request ends with the response.
		return int32(abi.ECLOSED)
	}
	if tooLarge {
		return int32(abi.ETOOLARGE)
	}
	if h.eof || h.req.Body == nil || len(buf) == 0 {
		return 0
	}
	for {
		n, err := h.req.Body.Read(buf)
		if n > 0 {
			h.bodyRead += int64(n)
			if h.bodyRead > MaxRequestBody {
				h.mu.Lock()
				h.failure = requestTooLarge
				h.mu.Unlock()
				return int32(abi.ETOOLARGE)
			}
			if err == io.EOF {
				h.eof = true
			}
			return int32(n)
		}
		switch {
		case err == io.EOF:
			h.eof = true
			return 0
		case h.aborted():
			return int32(abi.ECANCELED)
		case err != nil:
			return int32(abi.EIO)
		}
	}
}

// ioErr is the result for a failed write or flush: ECANCELED when the
// invocation was aborted, else EIO.
func (h *host) ioErr() int32 {
	if h.aborted() {
		return int32(abi.ECANCELED)
	}
	return int32(abi.EIO)
}

func (h *host) ResponseSetStatus(code int32) int32 {
	if code < 100 || code > 999 {
		return int32(abi.EINVAL)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.locked || h.closed {
		return int32(abi.ECLOSED)
	}
	h.status = int(code)
	return 0
}

func (h *host) ResponseHeaderSet(name, value string) int32 {
	return h.changeHeader(name, value, true, false)
}

func (h *host) ResponseHeaderAdd(name, value string) int32 {
	return h.changeHeader(name, value, false, false)
}

func (h *host) ResponseHeaderDelete(name string) int32 {
	return h.changeHeader(name, "", true, true)
}

// changeHeader validates arguments first (EINVAL), then state (ECLOSED),
// then the size of the header fields (ETOOLARGE past MaxResponseHeader,
// which fails the response), and applies the change: the header's values
// are replaced (replace), the value added, or the header deleted.
func (h *host) changeHeader(name, value string, replace, del bool) int32 {
	if !abi.ValidHeaderName(name) || !abi.ValidHeaderValue(value) {
		return int32(abi.EINVAL)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.locked || h.closed {
		return int32(abi.ECLOSED)
	}
	key := http.CanonicalHeaderKey(name)
	size := h.headerSize
	if replace {
		for _, v := range h.header[key] {
			size -= len(key) + len(v)
		}
		size = max(0, size)
	}
	if !del {
		size += len(key) + len(value)
	}
	if size > MaxResponseHeader {
		h.failure = responseTooLarge
		return int32(abi.ETOOLARGE)
	}
	h.headerSize = size
	switch {
	case del:
		h.header.Del(key)
	case replace:
		h.header.Set(key, value)
	default:
		h.header.Add(key, value)
	}
	return 0
}

func (h *host) ResponseBodyWrite(p []byte) int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return int32(abi.ECLOSED)
	case h.aborted():
		return int32(abi.ECANCELED)
	case h.failure == responseTooLarge:
		return int32(abi.ETOOLARGE)
	}
	h.locked = true
	if !h.streaming {
		if len(h.buf)+len(p) > MaxBufferedResponse {
			h.failure = responseTooLarge
			h.buf = nil
			return int32(abi.ETOOLARGE)
		}
		h.buf = append(h.buf, p...)
		return int32(len(p))
	}
	if !bodyAllowed(h.status) {
		return int32(len(p)) // a 204 or 304 has no body: dropped, as on the host
	}
	if _, err := h.w.Write(p); err != nil {
		return h.ioErr()
	}
	return int32(len(p))
}

func (h *host) ResponseFlush() int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return int32(abi.ECLOSED)
	case h.aborted():
		return int32(abi.ECANCELED)
	case h.failure == responseTooLarge:
		return int32(abi.ETOOLARGE)
	}
	if !h.streaming {
		if !validFinal(h.status) {
			// As on the host: the response fails (502) when the
			// handler returns, whatever it does meanwhile.
			h.failure = invalidStatus
			return int32(abi.EINVAL)
		}
		h.streaming, h.locked = true, true
		h.sendHead(h.buf)
		if len(h.buf) > 0 && bodyAllowed(h.status) {
			if _, err := h.w.Write(h.buf); err != nil {
				return h.ioErr()
			}
		}
		h.buf = nil
	}
	if err := h.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return h.ioErr()
	}
	return 0
}

func (h *host) ResponseClose() int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return int32(abi.ECLOSED)
	case h.aborted():
		return int32(abi.ECANCELED)
	}
	if !h.streaming && (h.failure == invalidStatus || !validFinal(h.status)) {
		// As on the host, the response stays open and fails (502) when
		// the handler returns.
		h.failure = invalidStatus
		return int32(abi.EINVAL)
	}
	failed := h.failure == responseTooLarge
	h.complete()
	if failed {
		return int32(abi.ETOOLARGE)
	}
	return 0
}

// AbortSignaled reports an abort only: an invocation killed at its
// deadline is not aborted, and its context sees the deadline instead.
//
// Under ABI version 2 (hostcall.Concurrent) an invocation past its
// deadline is aborted too (abi/SPEC-v2.md section 3).
func (h *host) AbortSignaled() int32 {
	if h.ctx.Err() != nil || (hostcall.Concurrent && h.killed.Load()) {
		return 1
	}
	return 0
}

func (h *host) WaitUntil(task int32) int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.killed.Load():
		return int32(abi.ECANCELED)
	case h.nTasks >= MaxTasks:
		return int32(abi.ETOOLARGE)
	}
	h.nTasks++
	h.tasks = append(h.tasks, task)
	return 0
}

func (h *host) DeadlineRemainingMs() int64 {
	return max(0, time.Until(h.deadline).Milliseconds())
}

// ProcExit does what the host does when a guest calls proc_exit: it
// answers 500 FUNCTION_INVOCATION_FAILED if the response had not started,
// cuts it otherwise, and runs nothing more of the invocation. It does not
// return.
func (h *host) ProcExit(code int32) {
	h.kill(http.StatusInternalServerError, CodeInvocationFailed)
	panic(procExit{code})
}

// idle is the host outside an invocation, as in wfn_on_sigterm: every
// import returns EBADHANDLE.
type idle struct{}

const badHandle = int32(abi.EBADHANDLE)

func (idle) RequestMethod([]byte) int32             { return badHandle }
func (idle) RequestURL([]byte) int32                { return badHandle }
func (idle) RequestHeaderNames([]byte) int32        { return badHandle }
func (idle) RequestHeader(string, []byte) int32     { return badHandle }
func (idle) RequestParam(string, []byte) int32      { return badHandle }
func (idle) RequestBodyRead([]byte) int32           { return badHandle }
func (idle) ResponseSetStatus(int32) int32          { return badHandle }
func (idle) ResponseHeaderSet(string, string) int32 { return badHandle }
func (idle) ResponseHeaderAdd(string, string) int32 { return badHandle }
func (idle) ResponseHeaderDelete(string) int32      { return badHandle }
func (idle) ResponseBodyWrite([]byte) int32         { return badHandle }
func (idle) ResponseFlush() int32                   { return badHandle }
func (idle) ResponseClose() int32                   { return badHandle }
func (idle) AbortSignaled() int32                   { return badHandle }
func (idle) WaitUntil(int32) int32                  { return badHandle }
func (idle) DeadlineRemainingMs() int64             { return int64(abi.EBADHANDLE) }
func (idle) ProcExit(code int32)                    { panic(procExit{code}) }

func (idle) IPAddress([]byte) int32                         { return badHandle }
func (idle) Geolocation([]byte) int32                       { return badHandle }
func (idle) HTTPSend(string, string, []byte, []byte) int32  { return badHandle }
func (idle) HTTPResponseStatus(int32) int32                 { return badHandle }
func (idle) HTTPResponseHeaderNames(int32, []byte) int32    { return badHandle }
func (idle) HTTPResponseHeader(int32, string, []byte) int32 { return badHandle }
func (idle) HTTPResponseBodyRead(int32, []byte) int32       { return badHandle }
func (idle) HTTPClose(int32) int32                          { return badHandle }
