package engine

import (
	"errors"
	"io"
	"net/http"
	"net/textproto"

	"github.com/wfn-dev/wfn/abi"
)

// Param is one dynamic route segment: api/greet/[name] gives Name "name".
type Param struct {
	Name, Value string
}

// Invocation is the host side of one request to one guest: the meaning of
// every request and response import, independent of the engine. Engines
// call its methods from their host functions, on the goroutine that runs
// the guest, so it needs no locking.
type Invocation struct {
	// ID is the request id, as sent in the x-vercel-id response header.
	ID string
	// Function is the guest's source path, for log lines.
	Function string

	req    *http.Request
	w      http.ResponseWriter
	params []Param

	url     string // built on first use
	status  int
	head    bool // status and headers sent
	closed  bool // response_close called
	written int64
	bodyEOF bool
	scratch []byte
}

// Reset prepares inv for a new request, keeping its buffers.
func (inv *Invocation) Reset(id, function string, w http.ResponseWriter, r *http.Request, params []Param) {
	*inv = Invocation{ID: id, Function: function, req: r, w: w, params: params, status: http.StatusOK, scratch: inv.scratch[:0]}
}

// Release drops the references to the request and response.
func (inv *Invocation) Release() {
	inv.req, inv.w, inv.params = nil, nil, nil
}

// HeadSent reports whether the status and headers have reached the client.
func (inv *Invocation) HeadSent() bool { return inv.head }

// Written is the number of body bytes the guest wrote.
func (inv *Invocation) Written() int64 { return inv.written }

// Finish sends the head if the guest never wrote anything: a guest that
// returns without writing produces its status (200 by default) and an
// empty body.
func (inv *Invocation) Finish() {
	if !inv.head {
		inv.sendHead()
	}
	inv.closed = true
}

// Method is the request method.
func (inv *Invocation) Method() string { return inv.req.Method }

// URL is the absolute URL the client used, with the query.
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

// HeaderNames is the lower-case request header names, a NUL after each.
// The result is valid until the next call that uses the scratch buffer.
func (inv *Invocation) HeaderNames() []byte {
	b := inv.scratch[:0]
	if inv.req.Host != "" {
		b = append(b, "host\x00"...)
	}
	for name := range inv.req.Header {
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
	for k, vs := range inv.req.Header {
		if !equalFold(name, k) {
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
	if inv.bodyEOF || inv.req.Body == nil || inv.req.Body == http.NoBody {
		return 0
	}
	if len(p) == 0 {
		return 0
	}
	for {
		n, err := inv.req.Body.Read(p)
		if n > 0 {
			if errors.Is(err, io.EOF) {
				inv.bodyEOF = true
			}
			return int32(n)
		}
		if errors.Is(err, io.EOF) {
			inv.bodyEOF = true
			return 0
		}
		if err != nil {
			return int32(abi.EIO)
		}
	}
}

// SetStatus sets the response status.
func (inv *Invocation) SetStatus(code int32) abi.Errno {
	if inv.head || inv.closed {
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
	if inv.head || inv.closed {
		return abi.ECLOSED
	}
	if !validHeaderName(name) || (op != HeaderDelete && !validHeaderValue(value)) {
		return abi.EINVAL
	}
	h := inv.w.Header()
	key := textproto.CanonicalMIMEHeaderKey(string(name))
	switch op {
	case HeaderSet:
		h[key] = []string{string(value)}
	case HeaderAdd:
		h[key] = append(h[key], string(value))
	case HeaderDelete:
		delete(h, key)
	}
	return 0
}

// BodyWrite writes body bytes; the first write sends the head.
func (inv *Invocation) BodyWrite(p []byte) int32 {
	if inv.closed {
		return int32(abi.ECLOSED)
	}
	if !inv.head {
		inv.sendHead()
	}
	n, err := inv.w.Write(p)
	inv.written += int64(n)
	if err != nil {
		return int32(abi.EIO)
	}
	return int32(n)
}

// Flush pushes buffered bytes to the client, sending the head first.
func (inv *Invocation) Flush() abi.Errno {
	if inv.closed {
		return abi.ECLOSED
	}
	if !inv.head {
		inv.sendHead()
	}
	if err := http.NewResponseController(inv.w).Flush(); err != nil {
		return abi.EIO
	}
	return 0
}

// Close ends the response: later writes get ECLOSED.
func (inv *Invocation) Close() abi.Errno {
	if inv.closed {
		return abi.ECLOSED
	}
	if !inv.head {
		inv.sendHead()
	}
	inv.closed = true
	if err := http.NewResponseController(inv.w).Flush(); err != nil {
		return abi.EIO
	}
	return 0
}

func (inv *Invocation) sendHead() {
	inv.head = true
	inv.w.WriteHeader(inv.status)
}

// validHeaderName reports whether b is an HTTP token (RFC 9110 5.6.2).
func validHeaderName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c >= 0x80 || !tokenChar[c] {
			return false
		}
	}
	return true
}

// validHeaderValue refuses CR, LF, NUL and other control bytes but HTAB.
func validHeaderValue(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

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
