// Package wfntest runs wfn handlers in ordinary Go tests, without
// WebAssembly: it implements the host imports of ABI version 1 in plain Go
// over a net/http request and response, with the host's semantics (the
// buffer protocol, streaming bodies, abi.EINVAL and abi.ECLOSED rules).
//
// [Do] runs a wfn.Handler and returns the recorded response; [Call] runs
// any export body, such as catchall.Serve or a function's per-method
// export; [Serve] writes to a real http.ResponseWriter, so a function can
// sit behind an httptest.Server and stream.
//
// Like a wfn instance, the SDK serves one invocation at a time: calls into
// this package are serialised, so tests that use it may run in parallel
// but their invocations do not overlap. A panic in the handler is not
// recovered (in the host it ends the instance and the client gets a
// failed invocation); it propagates to the test.
//
// The host itself also answers 405 for methods a module does not export
// and applies limits and deadlines; those belong to the host, not to this
// package.
package wfntest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// mu serialises invocations: the SDK keeps one request and response per
// instance, and the installed host is global.
var mu sync.Mutex

// Do runs h for req, with the route params given (nil for none), and
// returns the response. The response body is fully read; the Flushed
// field of the recorder is not kept, use [Serve] with an
// httptest.ResponseRecorder to observe flushes.
func Do(h wfn.Handler, req *http.Request, params map[string]string) *http.Response {
	return Call(func() { wfn.Serve(h) }, req, params)
}

// Call runs export, the body of a handler export such as catchall.Serve
// or a function's own GET export, for req and returns the response.
func Call(export func(), req *http.Request, params map[string]string) *http.Response {
	rec := httptest.NewRecorder()
	Serve(rec, req, params, export)
	return rec.Result()
}

// Serve runs export for r as one invocation, writing the response to w as
// the host would: the head at the first write, flush or close, flushes
// through http.ResponseController, and an empty 200 if export writes
// nothing. Body reads and writes return abi.ECANCELED once r's context is
// done and abi.EIO on other errors.
func Serve(w http.ResponseWriter, r *http.Request, params map[string]string, export func()) {
	mu.Lock()
	defer mu.Unlock()
	h := newHost(w, r, params)
	hostcall.Install(h)
	defer hostcall.Install(nil)
	export()
	h.finish()
}

// host implements hostcall.Host for one invocation.
type host struct {
	req    *http.Request
	ctx    context.Context
	params map[string]string
	url    string
	names  []string // lower-case request header names, sorted

	w      http.ResponseWriter
	rc     *http.ResponseController
	status int
	header http.Header
	sent   bool // the head was sent
	closed bool // response_close was called
	eof    bool // the request body reached its end
}

func newHost(w http.ResponseWriter, r *http.Request, params map[string]string) *host {
	h := &host{
		req:    r,
		ctx:    r.Context(),
		params: params,
		url:    absoluteURL(r),
		w:      w,
		rc:     http.NewResponseController(w),
		status: http.StatusOK,
		header: http.Header{},
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
	slices.Sort(h.names)
	return h
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

// finish ends the invocation: a response never started is an empty 200
// with whatever status and headers were set.
func (h *host) finish() {
	if !h.sent {
		h.sendHead(nil)
	}
}

// sendHead sends the status and headers before the body bytes p. Like a
// net/http server, it sets Content-Type from the first bytes when the
// guest set none.
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
	if h.eof || h.req.Body == nil || len(buf) == 0 {
		return 0
	}
	for {
		if h.ctx.Err() != nil {
			return int32(abi.ECANCELED)
		}
		n, err := h.req.Body.Read(buf)
		if err == io.EOF {
			h.eof = true
			return int32(n)
		}
		if n > 0 {
			return int32(n)
		}
		if err != nil {
			return h.ioErr()
		}
	}
}

// ioErr is the result for a failed read or write: ECANCELED when the
// invocation was aborted, else EIO.
func (h *host) ioErr() int32 {
	if h.ctx.Err() != nil {
		return int32(abi.ECANCELED)
	}
	return int32(abi.EIO)
}

func (h *host) ResponseSetStatus(code int32) int32 {
	if code < 100 || code > 999 {
		return int32(abi.EINVAL)
	}
	if h.sent {
		return int32(abi.ECLOSED)
	}
	h.status = int(code)
	return 0
}

func (h *host) ResponseHeaderSet(name, value string) int32 {
	if e := h.checkHeader(name, value); e != 0 {
		return e
	}
	h.header.Set(name, value)
	return 0
}

func (h *host) ResponseHeaderAdd(name, value string) int32 {
	if e := h.checkHeader(name, value); e != 0 {
		return e
	}
	h.header.Add(name, value)
	return 0
}

func (h *host) ResponseHeaderDelete(name string) int32 {
	if e := h.checkHeader(name, ""); e != 0 {
		return e
	}
	h.header.Del(name)
	return 0
}

// checkHeader validates arguments first (EINVAL), then state (ECLOSED).
func (h *host) checkHeader(name, value string) int32 {
	if !validName(name) || strings.ContainsAny(value, "\r\n\x00") {
		return int32(abi.EINVAL)
	}
	if h.sent {
		return int32(abi.ECLOSED)
	}
	return 0
}

// validName reports whether name is a non-empty HTTP token (RFC 9110).
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func (h *host) ResponseBodyWrite(p []byte) int32 {
	if h.closed {
		return int32(abi.ECLOSED)
	}
	if !h.sent {
		h.sendHead(p)
	}
	if h.ctx.Err() != nil {
		return int32(abi.ECANCELED)
	}
	if _, err := h.w.Write(p); err != nil {
		return h.ioErr()
	}
	return int32(len(p))
}

func (h *host) ResponseFlush() int32 {
	if h.closed {
		return int32(abi.ECLOSED)
	}
	if !h.sent {
		h.sendHead(nil)
	}
	if err := h.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return h.ioErr()
	}
	return 0
}

func (h *host) ResponseClose() int32 {
	if h.closed {
		return int32(abi.ECLOSED)
	}
	if !h.sent {
		h.sendHead(nil)
	}
	h.closed = true
	if err := h.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return h.ioErr()
	}
	return 0
}
