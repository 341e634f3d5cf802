package hostcall

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// Param is one dynamic route segment: api/greet/[name] gives Name "name".
type Param struct {
	Name, Value string
}

// Invocation is the host side of one request to one guest: the meaning of
// every request and response import, independent of the engine. The
// functions of [Table] call its methods, on the goroutine that runs the
// guest, so it needs no locking. The byte slices they pass are views
// of guest memory, valid only during the import call: no method keeps
// one, or hands one to anything that may keep it, past its return.
type Invocation struct {
	// ID is the request id, as sent in the x-vercel-id response header.
	ID string
	// Function is the guest's source path, for log lines.
	Function string

	req    *http.Request
	w      http.ResponseWriter
	params []Param

	url       string // built on first use
	status    int
	locked    bool // status and headers can no longer change
	head      bool // status and headers sent to the client
	streaming bool // flushed once: writes go straight to the client
	closed    bool // the response is complete (response_close or the end)
	written   int64
	// headerSize counts the header fields the guest set (HeaderSize),
	// against abi.MaxResponseHeader; headerTooLarge: one went past it.
	headerSize     int
	headerTooLarge bool
	buf            []byte // the response body until the first flush
	out            []byte // a streamed write's bytes on their way to w
	bodyEOF        bool
	bodyRead       int64
	scratch        []byte

	deadline time.Time
	aborted  atomic.Bool
	tasks    []int32 // pending
	nTasks   int     // registered in all
	onClose  func()

	// Length, when not nil, holds the Content-Length header value that
	// Finish sets: storage that lives as long as the response, unlike
	// the Invocation, which is reused (the ResponseWriter may read its
	// header after the invocation ends). Without it Finish allocates the
	// value. Reset clears it.
	Length *HeaderValue

	// Failure is what went wrong in the host's view, for the answer
	// the host gives when the handler returns: "" when nothing did.
	Failure Failure
	// BodyErr is why the request body could not be read, when Failure
	// is BadRequestBody.
	BodyErr error

	// NoSniff, set after Reset, sends a response without a Content-Type
	// as it is, instead of the type net/http sniffs from its first bytes:
	// for JavaScript functions, since Node.js and the Fetch Standard send
	// none, and a body sniffed as text/html would run as a page.
	NoSniff bool

	// Ctx answers for what the host knows of the request beyond its bytes.
	Ctx     RequestContext
	extra   []Param // the host's own request headers, once asked for
	overlay bool
}

// RequestContext is what the host adds to a request: its own forwarding
// headers, the client address, the geolocation and outbound HTTP. The host
// computes each on first use.
type RequestContext interface {
	// ExtraHeaders appends the headers the host sets on the request the
	// guest sees (lower-case names); they replace the client's.
	ExtraHeaders(dst []Param) []Param
	// Hidden reports whether a client's header (name in any case, of any
	// length) must not reach the guest, such as a forwarding header from an
	// untrusted peer. It is called for every header the guest lists or
	// reads, so it must not allocate.
	Hidden(name string) bool
	// IPAddress is the client address the host trusts.
	IPAddress() (string, bool)
	// Geolocation is the JSON object of the geolocation import.
	Geolocation() []byte
	// Outbound is the invocation's outbound HTTP session.
	Outbound() *outbound.Session
	// Cache is the Runtime Cache and the CDN cache, as this invocation
	// sees them.
	Cache() Cache
}

// Cache is what the cache_* and cdn_* imports do. Keys, values, tags and
// sources are as the guest gave them, tags split; each method returns 0 or
// an abi.Errno (ETOOLARGE, EINVAL, ENOTFOUND, EIO).
type Cache interface {
	Get(key string) ([]byte, abi.Errno)
	Set(key string, value []byte, ttlSeconds int64, tags []string, name string) abi.Errno
	Delete(key string) abi.Errno
	ExpireTags(tags []string) abi.Errno
	// AddTags tags the response being made, for the CDN cache.
	AddTags(tags []string) abi.Errno
	InvalidateTags(tags []string) abi.Errno
	DeleteTags(tags []string, deadlineSeconds int64) abi.Errno
	InvalidateSrcImage(src string) abi.Errno
	DeleteSrcImage(src string, deadlineSeconds int64) abi.Errno
}

// Failure is a problem the host detects while a guest runs normally.
type Failure int

// The failures an invocation can end with.
const (
	NoFailure        Failure = iota
	RequestTooLarge          // the body passed MaxRequestBody
	BadRequestBody           // the client's body is malformed or was cut short (BodyErr)
	ResponseTooLarge         // the buffered response passed MaxBufferedResponse
	InvalidStatus            // a final status outside 200..599
)

// HeaderSize is what the values of one header field count against
// abi.MaxResponseHeader: its name once per value, and each value.
func HeaderSize(key string, values []string) int {
	n := 0
	for _, v := range values {
		n += len(key) + len(v)
	}
	return n
}

// Limits, as Vercel's: 4.5 MB for request bodies and buffered responses.
const (
	MaxRequestBody      = abi.MaxRequestBody
	MaxBufferedResponse = abi.MaxBufferedResponse
	MaxTasks            = abi.MaxTasks
)

// Reset prepares inv for a new request, keeping its buffers.
func (inv *Invocation) Reset(id, function string, w http.ResponseWriter, r *http.Request, params []Param, deadline time.Time) {
	*inv = Invocation{
		ID: id, Function: function, req: r, w: w, params: params, deadline: deadline,
		status: http.StatusOK, scratch: inv.scratch[:0], buf: inv.buf[:0], out: inv.out[:0], tasks: inv.tasks[:0],
		extra: inv.extra[:0],
	}
}

// Abort marks the invocation aborted: abort_signaled turns 1 and waiting
// imports return ECANCELED. It is safe to call from any goroutine.
func (inv *Invocation) Abort() { inv.aborted.Store(true) }

// Aborted reports whether Abort was called.
func (inv *Invocation) Aborted() bool { return inv.aborted.Load() }

// AbortSignaled is abort_signaled: 1 once aborted, else 0.
func (inv *Invocation) AbortSignaled() int32 {
	if inv.aborted.Load() {
		return 1
	}
	return 0
}

// DeadlineRemainingMs is the time left before the deadline, in ms.
func (inv *Invocation) DeadlineRemainingMs() int64 {
	return max(0, time.Until(inv.deadline).Milliseconds())
}

// WaitUntil registers a task to run after the response.
func (inv *Invocation) WaitUntil(task int32) abi.Errno {
	if inv.nTasks >= MaxTasks {
		return abi.ETOOLARGE
	}
	inv.nTasks++
	inv.tasks = append(inv.tasks, task)
	return 0
}

// NextTask removes and returns the first pending task.
func (inv *Invocation) NextTask() (int32, bool) {
	if len(inv.tasks) == 0 {
		return 0, false
	}
	t := inv.tasks[0]
	inv.tasks = inv.tasks[1:]
	return t, true
}

// HasTasks reports whether tasks are pending.
func (inv *Invocation) HasTasks() bool { return len(inv.tasks) > 0 }

// Closed reports whether the response is complete.
func (inv *Invocation) Closed() bool { return inv.closed }

// Release drops the references to the request and response, and large
// buffers.
func (inv *Invocation) Release() {
	inv.req, inv.w, inv.params, inv.Ctx = nil, nil, nil, nil
	if cap(inv.buf) > 64<<10 {
		inv.buf = nil
	}
}

// HeadSent reports whether the status and headers have reached the client.
func (inv *Invocation) HeadSent() bool { return inv.head }

// Written is the number of body bytes the guest wrote.
func (inv *Invocation) Written() int64 { return inv.written }

// Finish completes the response after the handler returned normally: a
// buffered response is sent with its length; a guest that wrote nothing
// produces its status (200 by default) and an empty body. It returns false,
// when the invocation has a Failure: the caller answers for it.
func (inv *Invocation) Finish() bool {
	if inv.closed {
		return true
	}
	if inv.Failure != NoFailure {
		return false
	}
	if !inv.head {
		if !validFinal(inv.status) {
			inv.Failure = InvalidStatus
			return false
		}
		if inv.req.Method != http.MethodHead || len(inv.buf) > 0 {
			inv.w.Header()["Content-Length"] = inv.Length.setInt(len(inv.buf)) // canonical: no Set
		}
		inv.sendHead()
		if len(inv.buf) > 0 {
			_, _ = inv.write(&inv.buf)
		}
	}
	inv.closed = true
	return true
}

// write writes the host buffer *b to the client. A ResponseWriter may keep
// the slice of a Write that failed (HTTP/2's returns when the stream is
// reset while its frame is still queued or being written): write then
// drops the buffer, so that it is never filled again, for this invocation
// or another, while the writer may read it.
func (inv *Invocation) write(b *[]byte) (int, error) {
	n, err := inv.w.Write(*b)
	if err != nil {
		*b = nil
	}
	return n, err
}

// streamChunk is the most of a streamed write copied at once.
const streamChunk = 64 << 10

// writeGuest writes guest bytes to the client through a copy, in chunks
// of up to streamChunk: the client's writer may keep what it is given
// past the import call (see write).
func (inv *Invocation) writeGuest(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), streamChunk)
		if cap(inv.out) < k {
			inv.out = make([]byte, k)
		}
		inv.out = inv.out[:copy(inv.out[:k], p)]
		m, err := inv.write(&inv.out)
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// validFinal reports whether code can end a response: 1xx statuses are
// informational, never final.
func validFinal(code int) bool { return code >= 200 && code <= 599 }

// Method is the request method.
func (inv *Invocation) Method() string { return inv.req.Method }

// URL is the absolute URL the client used, with the query (the host has
// set the route params in it).
func (inv *Invocation) URL() string {
	if inv.url == "" {
		scheme := "http://"
		if inv.req.TLS != nil {
			scheme = "https://"
		}
		inv.url = scheme + inv.req.Host + inv.req.URL.RequestURI()
	}
	return inv.url
}

// extraHeaders is the host's own request headers, computed once.
func (inv *Invocation) extraHeaders() []Param {
	if !inv.overlay && inv.Ctx != nil {
		inv.extra = inv.Ctx.ExtraHeaders(inv.extra[:0])
		inv.overlay = true
	}
	return inv.extra
}

// hidden reports whether the client's header name (any case) is replaced
// by the host's or hidden from the guest.
func (inv *Invocation) hidden(name string) bool {
	if inv.Ctx == nil {
		return false
	}
	for _, p := range inv.extraHeaders() {
		if strings.EqualFold(p.Name, name) {
			return true
		}
	}
	return inv.Ctx.Hidden(name)
}

// HeaderNames is the lower-case request header names, a NUL after each.
// The result is valid until the next call that uses the scratch buffer.
func (inv *Invocation) HeaderNames() []byte {
	b := inv.scratch[:0]
	if inv.req.Host != "" {
		b = append(b, "host\x00"...)
	}
	for _, p := range inv.extraHeaders() {
		b = append(append(b, p.Name...), 0)
	}
	for name := range inv.req.Header {
		if inv.hidden(name) {
			continue
		}
		b = appendLower(b, name)
		b = append(b, 0)
	}
	inv.scratch = b
	return b
}

// Header is every value of the named request header, a NUL after each.
// The name is matched without regard to case.
func (inv *Invocation) Header(name []byte) ([]byte, bool) {
	b := inv.scratch[:0]
	if equalFold(name, "host") {
		if inv.req.Host == "" {
			return nil, false
		}
		b = append(append(b, inv.req.Host...), 0)
		inv.scratch = b
		return b, true
	}
	for _, p := range inv.extraHeaders() {
		if equalFold(name, p.Name) {
			b = append(append(b, p.Value...), 0)
			inv.scratch = b
			return b, true
		}
	}
	for k, vs := range inv.req.Header {
		if !equalFold(name, k) || inv.hidden(k) {
			continue
		}
		for _, v := range vs {
			b = append(append(b, v...), 0)
		}
		inv.scratch = b
		return b, true
	}
	return nil, false
}

// IPAddress is the ip_address import's value.
func (inv *Invocation) IPAddress() (string, bool) {
	if inv.Ctx == nil {
		return "", false
	}
	return inv.Ctx.IPAddress()
}

// Geolocation is the geolocation import's value.
func (inv *Invocation) Geolocation() []byte {
	if inv.Ctx == nil {
		return []byte(`{"region":""}`)
	}
	return inv.Ctx.Geolocation()
}

// Outbound is the invocation's outbound HTTP session, or nil.
func (inv *Invocation) Outbound() *outbound.Session {
	if inv.Ctx == nil {
		return nil
	}
	return inv.Ctx.Outbound()
}

// Param is the value of the named dynamic route segment.
func (inv *Invocation) Param(name []byte) (string, bool) {
	for _, p := range inv.params {
		if string(name) == p.Name {
			return p.Value, true
		}
	}
	return "", false
}

// BodyRead reads request body bytes into p: n > 0, 0 at the end of the
// body, or an error code.
func (inv *Invocation) BodyRead(p []byte) int32 {
	switch {
	case inv.closed:
		return int32(abi.ECLOSED)
	case inv.aborted.Load():
		return int32(abi.ECANCELED)
	case inv.Failure == RequestTooLarge:
		return int32(abi.ETOOLARGE)
	case inv.Failure == BadRequestBody:
		return int32(abi.EIO)
	case inv.bodyEOF || inv.req.Body == nil || inv.req.Body == http.NoBody || len(p) == 0:
		return 0
	}
	for {
		n, err := inv.req.Body.Read(p)
		if n > 0 {
			inv.bodyRead += int64(n)
			if inv.bodyRead > MaxRequestBody {
				inv.Failure = RequestTooLarge
				return int32(abi.ETOOLARGE)
			}
			if errors.Is(err, io.EOF) {
				inv.bodyEOF = true
			}
			return int32(n)
		}
		switch {
		case errors.Is(err, io.EOF):
			inv.bodyEOF = true
			return 0
		case err != nil && inv.aborted.Load():
			return int32(abi.ECANCELED)
		case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
			// The client's fault: a malformed chunked body, or a body
			// that ended before its length (the client closed or
			// half-closed its connection). The host answers for it
			// when the handler returns (a deadline is a timeout).
			inv.Failure, inv.BodyErr = BadRequestBody, err
			return int32(abi.EIO)
		case err != nil:
			return int32(abi.EIO)
		}
	}
}

// SetStatus sets the response status.
func (inv *Invocation) SetStatus(code int32) abi.Errno {
	if inv.locked || inv.closed {
		return abi.ECLOSED
	}
	if code < 100 || code > 999 {
		return abi.EINVAL
	}
	inv.status = int(code)
	return 0
}

// HeaderOp is a change to a response header.
type HeaderOp int

// The response header operations.
const (
	HeaderSet HeaderOp = iota
	HeaderAdd
	HeaderDelete
)

// SetHeader changes a response header. value is ignored by HeaderDelete.
func (inv *Invocation) SetHeader(op HeaderOp, name, value []byte) abi.Errno {
	if inv.locked || inv.closed {
		return abi.ECLOSED
	}
	if !abi.ValidHeaderName(name) || (op != HeaderDelete && !abi.ValidHeaderValue(value)) {
		return abi.EINVAL
	}
	h := inv.w.Header()
	key := canonicalHeaderKey(name)
	size := inv.headerSize
	if op != HeaderAdd {
		size = max(0, size-HeaderSize(key, h[key]))
	}
	if op != HeaderDelete {
		size += len(key) + len(value)
	}
	if size > abi.MaxResponseHeader {
		// Refused before it is copied: the guest cannot fill the
		// host's memory with header values. The response fails as one
		// too large does (500).
		inv.Failure, inv.headerTooLarge = ResponseTooLarge, true
		return abi.ETOOLARGE
	}
	inv.headerSize = size
	switch op {
	case HeaderSet:
		h[key] = headerValues(value)
	case HeaderAdd:
		h[key] = append(h[key], string(value))
	case HeaderDelete:
		delete(h, key)
	}
	return 0
}

// HeaderTooLarge reports whether the invocation's ResponseTooLarge is
// its header fields' (past abi.MaxResponseHeader), not its body's.
func (inv *Invocation) HeaderTooLarge() bool { return inv.headerTooLarge }

// BodyWrite writes body bytes. The first write locks the status and
// headers. Until the first flush the body is buffered (up to
// MaxBufferedResponse); after it, writes go straight to the client.
func (inv *Invocation) BodyWrite(p []byte) int32 {
	switch {
	case inv.closed:
		return int32(abi.ECLOSED)
	case inv.aborted.Load():
		return int32(abi.ECANCELED)
	}
	inv.locked = true
	if !inv.streaming {
		if inv.Failure == ResponseTooLarge || len(inv.buf)+len(p) > MaxBufferedResponse {
			inv.Failure = ResponseTooLarge
			return int32(abi.ETOOLARGE)
		}
		inv.buf = append(inv.buf, p...)
		inv.written += int64(len(p))
		return int32(len(p))
	}
	if !bodyAllowed(inv.status) {
		// A 204 or 304 has no body: its bytes are dropped, as Node drops
		// the writes of such a response (Vercel's runtime) and net/http
		// those of a HEAD response, and the guest is not told that the
		// client went away (EIO).
		return int32(len(p))
	}
	n, err := inv.writeGuest(p)
	inv.written += int64(n)
	if errors.Is(err, http.ErrContentLength) {
		inv.written += int64(len(p) - n) // counted for LengthMismatch
	}
	if err != nil {
		return int32(abi.EIO)
	}
	return int32(n)
}

// LengthMismatch reports whether a streamed response declared a
// Content-Length and the guest wrote another number of body bytes: the
// client then gets a cut response (RFC 9112, section 6.3). declared is the
// header's value.
func (inv *Invocation) LengthMismatch() (declared int64, mismatch bool) {
	if !inv.streaming || inv.req.Method == http.MethodHead || !bodyAllowed(inv.status) {
		return 0, false
	}
	cl := inv.w.Header().Get("Content-Length")
	if cl == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(cl, 10, 64)
	return n, err == nil && n != inv.written
}

// bodyAllowed reports whether a response with this status has a body
// (RFC 9110, sections 15.3.5 and 15.4.5).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// Flush sends the head and what is buffered, and from then on streams.
func (inv *Invocation) Flush() abi.Errno {
	switch {
	case inv.closed:
		return abi.ECLOSED
	case inv.aborted.Load():
		return abi.ECANCELED
	}
	if errno := inv.startStreaming(); errno != 0 {
		return errno
	}
	if err := http.NewResponseController(inv.w).Flush(); err != nil {
		return abi.EIO
	}
	return 0
}

func (inv *Invocation) startStreaming() abi.Errno {
	if inv.streaming {
		return 0
	}
	if inv.Failure == ResponseTooLarge {
		return abi.ETOOLARGE
	}
	if !validFinal(inv.status) {
		inv.Failure = InvalidStatus
		return abi.EINVAL
	}
	inv.locked, inv.streaming = true, true
	inv.sendHead()
	if !bodyAllowed(inv.status) {
		inv.buf = inv.buf[:0] // no body: dropped, as BodyWrite drops it
	}
	if len(inv.buf) > 0 {
		if _, err := inv.write(&inv.buf); err != nil {
			return abi.EIO
		}
		inv.buf = inv.buf[:0]
	}
	return 0
}

// OnClose sets a function that Close calls once the response is complete,
// so that the host can end the HTTP response while the guest runs on.
func (inv *Invocation) OnClose(f func()) { inv.onClose = f }

// Close completes the response: later writes get ECLOSED.
func (inv *Invocation) Close() abi.Errno {
	errno := inv.close()
	if inv.closed && inv.onClose != nil {
		inv.onClose()
	}
	return errno
}

func (inv *Invocation) close() abi.Errno {
	if inv.closed {
		return abi.ECLOSED
	}
	if inv.aborted.Load() {
		return abi.ECANCELED
	}
	if inv.Failure == ResponseTooLarge {
		return abi.ETOOLARGE
	}
	if inv.streaming {
		inv.closed = true
		if err := http.NewResponseController(inv.w).Flush(); err != nil {
			return abi.EIO
		}
		return 0
	}
	if !inv.Finish() {
		return abi.EINVAL
	}
	return 0
}

func (inv *Invocation) sendHead() {
	inv.head = true
	if inv.NoSniff {
		if h := inv.w.Header(); h["Content-Type"] == nil {
			// A nil value keeps net/http from sniffing and sends no field.
			h["Content-Type"] = nil
		}
	}
	inv.w.WriteHeader(inv.status)
}

// BodyUnread reports whether the request has body bytes the guest did not
// read.
func (inv *Invocation) BodyUnread() bool {
	return inv.req.ContentLength != 0 && inv.req.Body != nil && inv.req.Body != http.NoBody && !inv.bodyEOF
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// splitTags splits a comma-separated list of tags. An empty list is no
// tags; an empty tag (",," or a trailing comma) is EINVAL.
func splitTags(b []byte) ([]string, abi.Errno) {
	if len(b) == 0 {
		return nil, 0
	}
	if bytes.Count(b, []byte{','}) >= 128 {
		return nil, abi.ETOOLARGE // more than 128 tags
	}
	tags := strings.Split(string(b), ",")
	for _, t := range tags {
		if t == "" {
			return nil, abi.EINVAL
		}
	}
	return tags, 0
}

// CacheGet is cache_get: the value stored under key.
func (inv *Invocation) CacheGet(key []byte) ([]byte, abi.Errno) {
	return inv.Ctx.Cache().Get(string(key))
}

// CacheSet is cache_set.
func (inv *Invocation) CacheSet(key, value []byte, ttl int64, tags, name []byte) abi.Errno {
	if ttl < 0 {
		return abi.EINVAL
	}
	t, e := splitTags(tags)
	if e != 0 {
		return e
	}
	return inv.Ctx.Cache().Set(string(key), value, ttl, t, string(name))
}

// CacheDelete is cache_delete.
func (inv *Invocation) CacheDelete(key []byte) abi.Errno {
	return inv.Ctx.Cache().Delete(string(key))
}

// CacheExpireTag is cache_expire_tag.
func (inv *Invocation) CacheExpireTag(tags []byte) abi.Errno {
	return inv.tagOp(tags, inv.Ctx.Cache().ExpireTags)
}

// CDNAddCacheTag is cdn_add_cache_tag.
func (inv *Invocation) CDNAddCacheTag(tags []byte) abi.Errno {
	return inv.tagOp(tags, inv.Ctx.Cache().AddTags)
}

// CDNInvalidateByTag is cdn_invalidate_by_tag.
func (inv *Invocation) CDNInvalidateByTag(tags []byte) abi.Errno {
	return inv.tagOp(tags, inv.Ctx.Cache().InvalidateTags)
}

// CDNDeleteByTag is cdn_delete_by_tag.
func (inv *Invocation) CDNDeleteByTag(tags []byte, deadline int64) abi.Errno {
	if deadline < 0 {
		return abi.EINVAL
	}
	return inv.tagOp(tags, func(t []string) abi.Errno { return inv.Ctx.Cache().DeleteTags(t, deadline) })
}

// CDNInvalidateBySrcImage is cdn_invalidate_by_src_image.
func (inv *Invocation) CDNInvalidateBySrcImage(src []byte) abi.Errno {
	if len(src) == 0 {
		return abi.EINVAL
	}
	return inv.Ctx.Cache().InvalidateSrcImage(string(src))
}

// CDNDeleteBySrcImage is cdn_delete_by_src_image.
func (inv *Invocation) CDNDeleteBySrcImage(src []byte, deadline int64) abi.Errno {
	if len(src) == 0 || deadline < 0 {
		return abi.EINVAL
	}
	return inv.Ctx.Cache().DeleteSrcImage(string(src), deadline)
}

// tagOp applies op to a non-empty list of tags.
func (inv *Invocation) tagOp(tags []byte, op func([]string) abi.Errno) abi.Errno {
	t, e := splitTags(tags)
	if e != 0 {
		return e
	}
	if len(t) == 0 {
		return abi.EINVAL
	}
	return op(t)
}

// WaitTimeout is the timeout of http_wait (abi/SPEC.md section 5b) from
// its timeout_ms argument: a negative one is 0 (no wait), and one past a
// day is a day, longer than any maxDuration.
func WaitTimeout(ms int64) time.Duration {
	return time.Duration(min(max(ms, 0), 24*60*60*1000)) * time.Millisecond
}

// HeaderValue is room for one header value of up to 20 bytes (an int64
// in decimal) and the []string that holds it, so that setting it
// allocates nothing. Its bytes are written once, then only read.
type HeaderValue struct {
	b [20]byte
	v [1]string
}

// setInt returns n in decimal as a header value, in hv when it is not
// nil.
func (hv *HeaderValue) setInt(n int) []string {
	if hv == nil {
		return []string{strconv.Itoa(n)}
	}
	b := strconv.AppendInt(hv.b[:0], int64(n), 10)
	hv.v[0] = unsafe.String(unsafe.SliceData(b), len(b))
	return hv.v[:]
}
