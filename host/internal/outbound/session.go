package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// Limits of one invocation's outbound HTTP.
const (
	MaxInFlight       = abi.MaxOutbound
	MaxResponseHeader = abi.MaxOutboundResponseHead
	MaxRedirects      = abi.MaxRedirects
	// MaxRequestBodies bounds the request bodies of one invocation's open
	// handles together, in bytes (64 MiB). Send copies a body out of
	// guest memory, so this is what a guest's uploads may cost the host
	// beyond the guest's own memory; a send past it fails with ETOOLARGE.
	MaxRequestBodies = abi.MaxOutboundBodies
	dialTimeout      = 10 * time.Second
)

// Client sends a function's outbound requests under its policy. It is safe
// for concurrent use and keeps connections alive between invocations.
type Client struct {
	policy Policy
	http   *http.Client
	dialer *dialer // also the dialer of outbound TCP (Conns)
}

// NewClient returns a client for policy.
func NewClient(policy Policy) *Client {
	d := &dialer{policy: policy, net: net.Dialer{Timeout: dialTimeout}, resolver: net.DefaultResolver}
	tr := &http.Transport{
		Proxy:               nil, // the host's proxy settings must not bypass the policy
		DialContext:         d.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		// No ResponseHeaderTimeout: a backend may take as long as the
		// function's maxDuration (up to 30 minutes); the invocation's
		// deadline ends every request.
		MaxResponseHeaderBytes: MaxResponseHeader,
		// Each connection keeps a read and a write buffer for its life
		// (4 KiB each by default); many invocations held at once on a
		// slow backend hold one connection each (BENCHMARKS.md, ABI v2
		// density). Bodies larger than a buffer bypass it.
		ReadBufferSize:  1 << 10,
		WriteBufferSize: 1 << 10,
	}
	c := &Client{policy: policy, dialer: d}
	c.http = &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", MaxRedirects)
			}
			return policy.CheckURLHost(req.URL.Hostname(), port(req.URL))
		},
	}
	return c
}

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Transport returns the client's transport, which dials only what the
// policy allows and follows no redirects (for a reverse proxy).
func (c *Client) Transport() http.RoundTripper { return c.http.Transport }

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// Session is one invocation's outbound requests, by handle. Its methods
// are the http_* imports; they run on the goroutine of the guest, but a
// request itself runs on a goroutine of its own. That goroutine outlives
// the import call, and the guest's memory may be gone or another
// instance's by the time it reads: no method keeps a slice it was given
// past its return (Send copies the body).
type Session struct {
	client *Client
	ctx    context.Context
	cancel context.CancelFunc
	log    func(msg string, args ...any)

	mu     sync.Mutex
	calls  map[int32]*call
	next   int32
	live   int
	bodies int // bytes of the request bodies of the open handles
}

type call struct {
	// ready ends (setReady) when resp or err is set; done is its Done.
	// A context rather than a bare channel, so that a host that must not
	// wait (ABI v2) runs a function then with context.AfterFunc instead
	// of a goroutine per wait (ReadyContext).
	ready    context.Context
	setReady context.CancelFunc
	done     <-chan struct{}
	cancel   context.CancelFunc
	canceled atomic.Bool // by CancelInFlight: its imports return ECANCELED
	headSeen atomic.Bool // an import returned the head: Wait waits for the body
	resp     *http.Response
	err      error
	body     int // the request body's length, counted in Session.bodies

	// The body read that Wait started, which BodyRead then takes
	// from; only the guest's goroutine touches pre.
	pre *prefetch
}

// prefetch is one read of a response body, made on a goroutine of its own
// so that the guest can wait for it with a timeout.
type prefetch struct {
	ready    context.Context // ends when buf[:n] and err are set
	setReady context.CancelFunc
	done     <-chan struct{} // ready.Done()
	buf      []byte
	n        int
	off      int // bytes of buf[:n] BodyRead has taken
	err      error
}

// prefetchBody starts a read of the body unless one is pending or
// unread, and returns the context that ends when it is done.
func (c *call) prefetchBody() context.Context {
	if c.pre == nil {
		p := &prefetch{buf: make([]byte, 64<<10)}
		p.ready, p.setReady = context.WithCancel(context.Background())
		p.done = p.ready.Done()
		c.pre = p
		go func() {
			p.n, p.err = c.resp.Body.Read(p.buf)
			p.setReady()
		}()
	}
	return c.pre.ready
}

// newCall is a call whose ready context has not ended.
func newCall(cancel context.CancelFunc, body int) *call {
	c := &call{cancel: cancel, body: body}
	c.ready, c.setReady = context.WithCancel(context.Background())
	c.done = c.ready.Done()
	return c
}

// NewSession starts a session whose requests end with ctx. log receives a
// line for each refused destination.
func NewSession(ctx context.Context, c *Client, log func(msg string, args ...any)) *Session {
	ctx, cancel := context.WithCancel(ctx)
	return &Session{client: c, ctx: ctx, cancel: cancel, log: log, calls: map[int32]*call{}}
}

// CancelInFlight ends the requests sent so far at once, for an aborted
// invocation: their connections close and their imports return
// ECANCELED. Requests sent after it run, until the session ends: as on
// Vercel, where work handed to waitUntil goes on after the client
// disconnects (VERCEL.md section 3.5), the cleanup after an abort may
// reach a backend.
func (s *Session) CancelInFlight() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		c.canceled.Store(true)
		c.cancel()
	}
}

// Close releases every handle and cancels what is in flight.
func (s *Session) Close() {
	s.cancel()
	s.mu.Lock()
	calls := s.calls
	s.calls = map[int32]*call{}
	s.live, s.bodies = 0, 0
	s.mu.Unlock()
	for _, c := range calls {
		go c.release() // waits for the request to notice the cancel
	}
}

func (c *call) release() {
	c.cancel()
	<-c.done
	if c.resp != nil {
		c.resp.Body.Close()
	}
}

// Send is http_send: it validates the request, applies the policy by name,
// and starts it. The result is a handle or an error code: ETOOLARGE when
// MaxInFlight requests are open, or when body would take the bodies of the
// open handles past MaxRequestBodies. headers and body may be views of
// guest memory: Send copies what it keeps, and the request never reads
// them after Send returns.
func (s *Session) Send(method, rawURL string, headers, body []byte) int32 {
	if s.ctx.Err() != nil {
		return int32(abi.ECANCELED)
	}
	if !abi.ValidHeaderName(method) {
		return int32(abi.EINVAL)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return int32(abi.EINVAL)
	}
	h, ok := parseHeaders(headers)
	if !ok {
		return int32(abi.EINVAL)
	}
	if err := s.client.policy.CheckURLHost(u.Hostname(), port(u)); err != nil {
		s.log("outbound request denied", "url", redact(u), "err", err)
		return int32(abi.EDENIED)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	if s.live >= MaxInFlight || len(body) > MaxRequestBodies-s.bodies {
		s.mu.Unlock()
		cancel()
		return int32(abi.ETOOLARGE)
	}
	s.next++
	if s.next <= 0 {
		s.next = 1
	}
	handle := s.next
	c := newCall(cancel, len(body))
	s.calls[handle] = c
	s.live++
	s.bodies += len(body)
	s.mu.Unlock()
	// The transport reads the body on its own goroutines, after this call
	// returns and maybe after the invocation ends: it gets a copy.
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(bytes.Clone(body)))
	if err != nil {
		c.err = err
		c.setReady()
		return handle
	}
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	req.Header = h
	if host := h.Get("Host"); host != "" {
		req.Host = host
	}
	go func() {
		c.resp, c.err = s.client.http.Do(req)
		if c.err != nil && errors.Is(c.err, ErrDenied) {
			s.log("outbound request denied", "url", redact(u), "err", c.err)
		}
		c.setReady()
	}()
	return handle
}

func redact(u *url.URL) string {
	v := *u
	v.User = nil
	v.RawQuery = ""
	return v.String()
}

// parseHeaders reads "name NUL value NUL" pairs.
func parseHeaders(b []byte) (http.Header, bool) {
	h := http.Header{}
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return nil, false
		}
		name := b[:i]
		b = b[i+1:]
		j := bytes.IndexByte(b, 0)
		if j < 0 {
			return nil, false
		}
		value := b[:j]
		b = b[j+1:]
		if !abi.ValidHeaderName(name) || !abi.ValidHeaderValue(value) {
			return nil, false
		}
		h.Add(string(name), string(value))
	}
	return h, true
}

// wait returns the call once its response head is in.
func (s *Session) wait(handle int32) (*call, abi.Errno) {
	s.mu.Lock()
	c := s.calls[handle]
	s.mu.Unlock()
	if c == nil {
		return nil, abi.EBADHANDLE
	}
	select {
	case <-c.done:
	case <-s.ctx.Done():
		return nil, abi.ECANCELED
	}
	switch {
	case c.canceled.Load():
		return nil, abi.ECANCELED
	case c.err == nil:
		c.headSeen.Store(true)
		return c, 0
	case errors.Is(c.err, ErrDenied):
		return nil, abi.EDENIED
	case s.ctx.Err() != nil:
		return nil, abi.ECANCELED
	default:
		return nil, abi.EIO
	}
}

// Wait is http_wait: it waits at most timeout (none when 0) for what
// the next import on handle would wait for: the response head until an
// import has returned it (Status, HeaderNames, Header), then the next body
// bytes. It returns 1 once that is in or failed (the import then returns
// at once), 0 when timeout passed first, EBADHANDLE for an unknown handle,
// ECANCELED once the session or the request is cancelled.
func (s *Session) Wait(handle int32, timeout time.Duration) int32 {
	s.mu.Lock()
	c := s.calls[handle]
	s.mu.Unlock()
	if c == nil {
		return int32(abi.EBADHANDLE)
	}
	if s.ctx.Err() != nil || c.canceled.Load() {
		return int32(abi.ECANCELED)
	}
	ready := c.done
	if c.headSeen.Load() && c.resp != nil {
		ready = c.prefetchBody().Done()
	}
	select {
	case <-ready:
		return 1
	default:
	}
	if timeout <= 0 {
		return 0
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ready:
		return 1
	case <-t.C:
		return 0
	case <-s.ctx.Done():
		return int32(abi.ECANCELED)
	}
}

// Status is http_response_status.
func (s *Session) Status(handle int32) int32 {
	c, errno := s.wait(handle)
	if errno != 0 {
		return int32(errno)
	}
	return int32(c.resp.StatusCode)
}

// HeaderNames is http_response_header_names: lower-case, NUL after each.
func (s *Session) HeaderNames(handle int32, dst []byte) ([]byte, abi.Errno) {
	c, errno := s.wait(handle)
	if errno != 0 {
		return nil, errno
	}
	for name := range c.resp.Header {
		dst = append(append(dst, strings.ToLower(name)...), 0)
	}
	return dst, 0
}

// Header is http_response_header: every value, NUL after each.
func (s *Session) Header(handle int32, name []byte, dst []byte) ([]byte, abi.Errno) {
	c, errno := s.wait(handle)
	if errno != 0 {
		return nil, errno
	}
	vs, ok := c.resp.Header[http.CanonicalHeaderKey(string(name))]
	if !ok {
		return nil, abi.ENOTFOUND
	}
	for _, v := range vs {
		dst = append(append(dst, v...), 0)
	}
	return dst, 0
}

// BodyRead is http_response_body_read.
func (s *Session) BodyRead(handle int32, p []byte) int32 {
	c, errno := s.wait(handle)
	if errno != 0 {
		return int32(errno)
	}
	if len(p) == 0 {
		return 0
	}
	if pre := c.pre; pre != nil {
		// The read Wait started comes first.
		select {
		case <-pre.done:
		case <-s.ctx.Done():
			return int32(abi.ECANCELED)
		}
		if pre.off < pre.n {
			n := copy(p, pre.buf[pre.off:pre.n])
			pre.off += n
			if pre.off == pre.n && pre.err == nil {
				c.pre = nil
			}
			return int32(n)
		}
		if pre.err == nil {
			c.pre = nil
		} else {
			return s.bodyErr(c, pre.err)
		}
	}
	for {
		n, err := c.resp.Body.Read(p)
		if n > 0 {
			return int32(n)
		}
		if err != nil {
			return s.bodyErr(c, err)
		}
	}
}

// bodyErr is BodyRead's result for a read that failed with err.
func (s *Session) bodyErr(c *call, err error) int32 {
	switch {
	case errors.Is(err, io.EOF):
		return 0
	case s.ctx.Err() != nil || c.canceled.Load():
		return int32(abi.ECANCELED)
	default:
		return int32(abi.EIO)
	}
}

// CloseHandle is http_close.
func (s *Session) CloseHandle(handle int32) abi.Errno {
	s.mu.Lock()
	c := s.calls[handle]
	if c != nil {
		delete(s.calls, handle)
		s.live--
		s.bodies -= c.body
	}
	s.mu.Unlock()
	if c == nil {
		return abi.EBADHANDLE
	}
	go c.release()
	return 0
}
