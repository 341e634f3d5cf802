package wfntest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wfn-dev/wfn/abi"
)

// MaxOutbound is the most outbound requests an invocation may have in
// flight; http_send returns abi.ETOOLARGE past it. wfntest counts a
// request until it is closed (http_close), which is the strictest reading
// of the host's rule, so a test catches a handler that leaks responses.
const MaxOutbound = abi.MaxOutbound

// MaxOutboundBodies is the most bytes the request bodies of an
// invocation's open outbound requests may hold together (64 MiB), as on
// the host, which copies each body at http_send; a send past it returns
// abi.ETOOLARGE.
const MaxOutboundBodies = abi.MaxOutboundBodies

// Outbound serves the function's outbound requests with h, in process,
// instead of the network: h sees each request as a net/http server would
// (whatever its URL's host), and its response streams back to the guest
// as it writes and flushes. The destination rules still apply to each
// request's URL: without [AllowedOutboundHosts], an address in the URL
// that is loopback, private, link-local or metadata is denied, and so are
// the names localhost and *.localhost (there is no resolver here: other
// names count as public).
//
// Without this option outbound requests go to the network for real, with
// the host's rules checked on the resolved address; a test can then point
// the function at an httptest.Server and allow it with
// AllowedOutboundHosts("127.0.0.1:*").
func Outbound(h http.Handler) Option {
	return func(c *config) { c.outbound = h }
}

// outState holds an invocation's outbound requests.
type outState struct {
	mu      sync.Mutex
	started bool
	closed  bool // the invocation ended or was killed: no more requests
	ctx     context.Context
	cancel  context.CancelFunc
	client  *http.Client
	tr      *http.Transport // nil with an Outbound handler
	next    int32
	open    map[int32]*outbound
	bodies  int // bytes of the open requests' bodies
}

// outbound is one request and its response.
type outbound struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when resp or err is set
	resp   *http.Response
	err    error
	size   int // the request body's length

	body sync.Mutex // one body read at a time
	eof  bool
}

// start prepares the state at the first request; o.mu is held.
func (o *outState) start(h *host) {
	o.started = true
	o.ctx, o.cancel = context.WithCancel(h.ctx) // an abort cancels every request
	o.open = map[int32]*outbound{}
	pol := h.cfg.policy
	var rt http.RoundTripper
	if h.cfg.outbound != nil {
		rt = &handlerTransport{h: h.cfg.outbound, policy: pol}
	} else {
		o.tr = &http.Transport{
			DialContext:         pol.dialContext,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 4,
		}
		rt = o.tr
	}
	o.client = &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= MaxRedirects {
				return errTooManyRedirects
			}
			if !pol.atSend(req.URL) {
				return errDenied
			}
			return nil
		},
	}
}

// shutdown closes every outbound request, as the host does when the
// invocation ends (final) or is killed.
func (o *outState) shutdown(final bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.started {
		o.closed = o.closed || final
		return
	}
	o.cancel()
	for id, ob := range o.open {
		delete(o.open, id)
		ob.release()
	}
	o.bodies = 0
	if final {
		o.closed = true
		if o.tr != nil {
			o.tr.CloseIdleConnections()
		}
	}
}

// release cancels the request and closes its response when it comes.
func (ob *outbound) release() {
	ob.cancel()
	go func() {
		<-ob.done
		if ob.resp != nil {
			ob.resp.Body.Close()
		}
	}()
}

// parseFields splits name NUL value NUL pairs.
func parseFields(b []byte) ([][2]string, bool) {
	var fields [][2]string
	for len(b) > 0 {
		name, rest, ok := bytes.Cut(b, []byte{0})
		if !ok {
			return nil, false
		}
		value, rest, ok := bytes.Cut(rest, []byte{0})
		if !ok || !abi.ValidHeaderName(name) || !abi.ValidHeaderValue(value) {
			return nil, false
		}
		fields = append(fields, [2]string{string(name), string(value)})
		b = rest
	}
	return fields, true
}

func (h *host) HTTPSend(method, rawURL string, headers, body []byte) int32 {
	if h.aborted() {
		return int32(abi.ECANCELED)
	}
	if !abi.ValidHeaderName(method) {
		return int32(abi.EINVAL)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return int32(abi.EINVAL)
	}
	fields, ok := parseFields(headers)
	if !ok {
		return int32(abi.EINVAL)
	}
	o := &h.out
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return int32(abi.ECANCELED)
	case !h.cfg.policy.atSend(u):
		return int32(abi.EDENIED)
	}
	if !o.started {
		o.start(h)
	}
	if len(o.open) >= MaxOutbound || len(body) > MaxOutboundBodies-o.bodies {
		return int32(abi.ETOOLARGE)
	}
	ctx, cancel := context.WithCancel(o.ctx)
	// The host copies the body out of the guest's memory.
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(bytes.Clone(body)))
	if err != nil {
		cancel()
		return int32(abi.EINVAL)
	}
	for _, f := range fields {
		if strings.EqualFold(f[0], "host") {
			req.Host = f[1]
			continue
		}
		req.Header.Add(f[0], f[1])
	}
	ob := &outbound{cancel: cancel, done: make(chan struct{}), size: len(body)}
	o.bodies += len(body)
	o.next++
	id := o.next
	o.open[id] = ob
	client := o.client
	go func() {
		resp, err := client.Do(req)
		ob.resp, ob.err = resp, err
		close(ob.done)
	}()
	return id
}

// get returns the open request with this id.
func (h *host) get(id int32) *outbound {
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	return h.out.open[id]
}

// head waits for the response head of request id and returns it, or the
// import's error.
func (h *host) head(id int32) (*outbound, int32) {
	ob := h.get(id)
	if ob == nil {
		return nil, int32(abi.EBADHANDLE)
	}
	<-ob.done
	if ob.err != nil {
		return nil, h.outErr(ob.err)
	}
	return ob, 0
}

// outErr maps a failed request or body read to the import's error.
func (h *host) outErr(err error) int32 {
	switch {
	case errors.Is(err, errDenied):
		return int32(abi.EDENIED)
	case h.aborted():
		return int32(abi.ECANCELED)
	}
	return int32(abi.EIO)
}

func (h *host) HTTPResponseStatus(id int32) int32 {
	ob, errno := h.head(id)
	if ob == nil {
		return errno
	}
	return int32(ob.resp.StatusCode)
}

func (h *host) HTTPResponseHeaderNames(id int32, buf []byte) int32 {
	ob, errno := h.head(id)
	if ob == nil {
		return errno
	}
	var names []string
	for k := range ob.resp.Header {
		if l := strings.ToLower(k); !slices.Contains(names, l) {
			names = append(names, l)
		}
	}
	slices.Sort(names)
	return put(buf, list(names))
}

func (h *host) HTTPResponseHeader(id int32, name string, buf []byte) int32 {
	ob, errno := h.head(id)
	if ob == nil {
		return errno
	}
	var values []string
	for k, v := range ob.resp.Header {
		if strings.EqualFold(k, name) {
			values = append(values, v...)
		}
	}
	if values == nil {
		return int32(abi.ENOTFOUND)
	}
	return put(buf, list(values))
}

func (h *host) HTTPResponseBodyRead(id int32, buf []byte) int32 {
	ob, errno := h.head(id)
	if ob == nil {
		return errno
	}
	ob.body.Lock()
	defer ob.body.Unlock()
	if ob.eof || len(buf) == 0 {
		return 0
	}
	for {
		n, err := ob.resp.Body.Read(buf)
		if err == io.EOF {
			ob.eof = true
		}
		if n > 0 {
			return int32(n)
		}
		switch {
		case err == io.EOF:
			return 0
		case err != nil:
			if h.get(id) == nil { // closed meanwhile, by the guest or the host
				return h.outErr(context.Canceled)
			}
			return h.outErr(err)
		}
	}
}

func (h *host) HTTPClose(id int32) int32 {
	o := &h.out
	o.mu.Lock()
	defer o.mu.Unlock()
	ob := o.open[id]
	if ob == nil {
		return int32(abi.EBADHANDLE)
	}
	delete(o.open, id)
	o.bodies -= ob.size
	ob.release()
	return 0
}

// handlerTransport serves outbound requests with an http.Handler, in
// process (see Outbound).
type handlerTransport struct {
	h      http.Handler
	policy policy
}

func (t *handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	sreq := req.Clone(ctx)
	sreq.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	sreq.RequestURI = req.URL.RequestURI()
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	sreq.RemoteAddr = "192.0.2.1:1234"
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	if sreq.Header.Get("User-Agent") == "" {
		sreq.Header.Set("User-Agent", "Go-http-client/1.1")
	}
	pr, pw := io.Pipe()
	w := &pipeResponse{method: req.Method, status: http.StatusOK, header: http.Header{}, pw: pw, head: make(chan struct{})}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					log.Printf("wfntest: panic serving outbound request %s %s: %v\n%s", req.Method, req.URL, p, debug.Stack())
				}
				w.fail()
			}
		}()
		t.h.ServeHTTP(w, sreq)
		w.finish()
	}()
	select {
	case <-w.head:
	case <-ctx.Done():
		pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	if w.failed {
		return nil, errors.New("wfntest: the outbound handler panicked before its response head")
	}
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	resp := &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          &pipeBody{pr: pr, stop: stop},
		ContentLength: -1,
		Request:       req,
	}
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		resp.ContentLength = n
	}
	return resp, nil
}

// pipeResponse is the http.ResponseWriter of an outbound handler: the
// head goes to the client at the first write or flush (or when the
// handler returns), and each write waits until the client reads it.
type pipeResponse struct {
	method string
	status int
	header http.Header
	sent   http.Header // the header as sent
	pw     *io.PipeWriter
	head   chan struct{} // closed when the head is sent
	failed bool          // panicked before the head
	wrote  bool          // WriteHeader called
}

var _ http.Flusher = (*pipeResponse)(nil)

func (w *pipeResponse) Header() http.Header { return w.header }

func (w *pipeResponse) WriteHeader(code int) {
	if w.sent != nil || w.wrote || (code >= 100 && code <= 199) {
		return
	}
	w.wrote, w.status = true, code
}

func (w *pipeResponse) sendHead(p []byte) {
	if w.sent != nil {
		return
	}
	w.sent = w.header.Clone()
	if _, ok := w.sent["Content-Type"]; !ok && len(p) > 0 && bodyAllowed(w.status) {
		w.sent.Set("Content-Type", http.DetectContentType(p))
	}
	close(w.head)
}

func (w *pipeResponse) Write(p []byte) (int, error) {
	w.sendHead(p)
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.method == http.MethodHead {
		return len(p), nil
	}
	return w.pw.Write(p)
}

func (w *pipeResponse) Flush() { w.sendHead(nil) }

func (w *pipeResponse) finish() {
	if w.sent == nil {
		if _, ok := w.header["Content-Length"]; !ok && bodyAllowed(w.status) {
			w.header.Set("Content-Length", "0")
		}
		w.sendHead(nil)
	}
	w.pw.Close()
}

// fail ends a response whose handler panicked: before the head, the
// request fails; after it, the body is cut.
func (w *pipeResponse) fail() {
	if w.sent == nil {
		w.failed = true
		w.sent = http.Header{}
		close(w.head)
	}
	w.pw.CloseWithError(io.ErrUnexpectedEOF)
}

type pipeBody struct {
	pr   *io.PipeReader
	stop func() bool
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

func (b *pipeBody) Close() error {
	b.stop()
	return b.pr.Close()
}
