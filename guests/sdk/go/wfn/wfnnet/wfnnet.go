// Package wfnnet opens outbound TCP connections from a wfn function
// through the host's tcp_* imports (abi/SPEC.md, section 5c): a
// [Dialer] whose connections are net.Conns with working deadlines, for
// database drivers and anything else with a dial hook.
//
// A WebAssembly guest has no sockets: net.Dial, and the default dialer of
// every driver, fail in one (Go's wasip1 port reports "connect:
// connection refused" for any address, which this package cannot
// change). Give the driver this package's dialer instead:
//
//	// pgx and pgxpool
//	cfg, _ := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
//	cfg.ConnConfig.DialFunc = wfnnet.PoolDialContext
//	cfg.ConnConfig.LookupFunc = wfnnet.LookupHost // the host resolves names
//	// database/sql through pgx's stdlib driver
//	db := stdlib.OpenDB(*connConfig) // connConfig.DialFunc = wfnnet.PoolDialContext
//	// go-redis
//	rdb := redis.NewClient(&redis.Options{Addr: addr, Dialer: wfnnet.PoolDialContext})
//	// a one-off connection in a handler
//	c, err := wfnnet.DialContext(r.Context(), "tcp", "mail.example.com:25")
//
// Importing wfnfetch (or wfnhttp, which imports it) makes
// http.DefaultTransport fail with an error that names wfnfetch.Transport
// and this package, instead of Go's "connection refused".
//
// # Who owns a connection
//
// The host closes a connection when its owner ends (section 5c):
//
//   - [DialContext] (and a zero [Dialer]) dials a connection that belongs
//     to the invocation: the host closes it when the invocation ends
//     (after its WaitUntil tasks), at its deadline, and at once when it is
//     aborted. For a connection used within one request.
//   - [PoolDialContext] (a Dialer with Instance set) dials one that
//     belongs to the instance: it outlives the invocation, so a pool
//     (pgxpool, database/sql, go-redis) serves the instance's next
//     invocations with it. The host closes it when the instance goes
//     (idle, evicted, retired, failed, shut down); wfn.AttachDatabasePool
//     closes a pool's idle ones before the instance suspends. Give pools
//     this one: with DialContext a pool would keep connections the host
//     has closed, and the next invocation's query would fail on one.
//
// A connection dialed outside an invocation (from init) belongs to the
// instance either way. An instance holds at most 64 connections
// (abi.MaxTCPConns), its own and its invocation's together; the dial past
// that fails with abi.ETOOLARGE.
//
// # Deadlines and contexts
//
// SetDeadline, SetReadDeadline and SetWriteDeadline work as net.Conn
// promises: each read or write passes the time left to the host as its
// timeout_ms, a deadline in the past fails the call at once, and the
// error wraps os.ErrDeadlineExceeded (a net.Error whose Timeout is true).
// A guest runs one goroutine at a time and nothing else while it waits in
// the host, so a wait is cut into slices of at most 10 ms, between which
// the other goroutines run: a driver's context watcher that moves the
// deadline (pgx's does when a query's context ends) takes effect within
// 10 ms, and so does Close from another goroutine.
//
// DialContext honours its context: done before the dial, it fails at
// once; its deadline (and Dialer.Timeout) bounds the host's wait. The
// host ends every wait when the invocation is aborted (abi.ECANCELED) or
// reaches its maxDuration.
//
// # Under ABI version 2
//
// Built with the tag wfn_fluid (a function with "fluid": true), the same
// code serves many invocations at once in one instance (abi/SPEC-v2.md
// section 8): the host never waits in a tcp_* call, and the SDK waits
// instead, parking the calling goroutine until the host's EventReady for
// the connection while the other invocations run, bounded by the
// deadlines above through the guest's own timers. A pool dialed with
// PoolDialContext is shared by the instance's invocations, one call at a
// time per connection; its goroutines that serve no invocation (a pool's
// background work) call for the instance, and reach only its connections.
// The dial's failure is reported by DialContext as in version 1.
//
// # Errors
//
// Errors are *net.OpError values (Op "dial", "read", "write", "close")
// whose Err wraps the host's abi.Errno and the error drivers expect:
//
//   - abi.ECONNREFUSED wraps syscall.ECONNREFUSED.
//   - abi.ETIMEDOUT wraps os.ErrDeadlineExceeded; Timeout() is true.
//   - abi.ENOTFOUND (the name does not resolve) wraps a *net.DNSError with
//     IsNotFound.
//   - abi.EDENIED: the function's outbound policy refuses the destination
//     (loopback and private addresses are refused unless
//     allowedOutboundHosts lists them, such as "127.0.0.1:5432").
//   - abi.EIO on a read or write wraps syscall.ECONNRESET.
//   - abi.EBADHANDLE wraps net.ErrClosed: the host closed the connection
//     (its invocation ended).
//   - abi.ECANCELED wraps context.Canceled: the invocation was aborted
//     (and net.ErrClosed for its own connections, which the host closed).
//
// Reading or writing a connection after Close returns net.ErrClosed.
//
// Outside WebAssembly the calls go to the host that package wfntest
// installs, which implements them with real sockets.
package wfnnet

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/conns"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/invocation"
)

// yieldInterval is the longest one host call waits before the other
// goroutines get a turn (see the package doc).
const yieldInterval = 10 * time.Millisecond

// maxChunk is the most bytes one tcp_read asks for.
const maxChunk = 1 << 20

// Dialer dials TCP connections through the host. The zero value dials
// connections that belong to the invocation.
type Dialer struct {
	// Timeout bounds a dial, as net.Dialer's does; 0 means no bound but
	// the context's deadline and the invocation's.
	Timeout time.Duration
	// Instance makes the connections belong to the instance instead of
	// the invocation that dials them (flag abi.TCPInstance): set it for a
	// connection pool. See the package doc.
	Instance bool
}

var (
	invocationDialer = &Dialer{}
	poolDialer       = &Dialer{Instance: true}
)

// DialContext dials address ("host:port") over network ("tcp", "tcp4" or
// "tcp6") with a connection that belongs to the current invocation: the
// host closes it when the invocation ends. See [Dialer.DialContext].
func DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return invocationDialer.DialContext(ctx, network, address)
}

// PoolDialContext dials as [DialContext] does, with a connection that
// belongs to the instance, so that a pool keeps it across invocations:
// the DialFunc for pgx, the Dialer for go-redis.
func PoolDialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return poolDialer.DialContext(ctx, network, address)
}

// LookupHost returns host itself: the host resolves names when it
// connects (and checks the address against the outbound policy), and a
// guest has no resolver of its own (Go's wasip1 port has no DNS). Give it
// to a driver that resolves names before it dials, such as pgx
// (ConnConfig.LookupFunc), so that the name reaches the dialer.
func LookupHost(_ context.Context, host string) ([]string, error) {
	return []string{host}, nil
}

// Dial dials with a background context, for drivers whose hook has no
// context.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext opens a connection to address, "host:port" where host is a
// name, an IPv4 address or an IPv6 address in brackets and port a number
// (or a service name Go knows, such as "postgres"), and waits until it is
// established. The host resolves the name and checks the destination
// against the function's outbound policy. The wait ends at d.Timeout, at
// ctx's deadline, or when the invocation is aborted or times out; ctx
// done before the dial fails it at once. network "tcp4" or "tcp6"
// requires an address of that family when host is an address; for a name
// the host picks. Errors: see the package doc.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	fail := func(err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: dialAddr(address), Err: err}
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fail(net.UnknownNetworkError(network))
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return fail(err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		n, err := net.LookupPort(network, port)
		if err != nil {
			return fail(err)
		}
		port = strconv.Itoa(n)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if (network == "tcp4" && !a.Unmap().Is4()) || (network == "tcp6" && a.Is4()) {
			return fail(&net.AddrError{Err: "address of the wrong family for " + network, Addr: host})
		}
	}
	target := net.JoinHostPort(host, port)
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	timeout := int64(-1)
	deadline, hasDeadline := ctx.Deadline()
	if d.Timeout > 0 {
		if t := time.Now().Add(d.Timeout); !hasDeadline || t.Before(deadline) {
			deadline, hasDeadline = t, true
		}
	}
	if hasDeadline {
		ms, ok := millisUntil(deadline)
		if !ok {
			return fail(newError(abi.ETIMEDOUT, os.ErrDeadlineExceeded))
		}
		timeout = ms
	}
	var flags int32
	if d.Instance {
		flags = abi.TCPInstance
	}
	owner := uint64(0)
	if !d.Instance {
		owner = invocation.Current()
	}
	h := hostcall.TCPConnect(target, flags, timeout)
	if h <= 0 {
		errno := abi.Errno(h)
		if h == 0 {
			errno = abi.EBADHANDLE // the host promises handles > 0
		}
		if err := ctx.Err(); err != nil && (errno == abi.ETIMEDOUT || errno == abi.ECANCELED) {
			return fail(newError(errno, err))
		}
		return fail(dialError(errno, host))
	}
	c := &conn{h: h, addr: address, owner: owner, raddr: remoteAddr(h)}
	if err := ctx.Err(); err != nil {
		hostcall.TCPClose(h)
		return fail(err)
	}
	if owner == 0 {
		conns.Add(c, address)
	}
	return c, nil
}

// dialAddr is the address a dial was given, for its errors.
type dialAddr string

func (dialAddr) Network() string  { return "tcp" }
func (a dialAddr) String() string { return string(a) }

// millisUntil is the time until t in whole milliseconds, rounded up so
// that the host never stops early; false once t has passed.
func millisUntil(t time.Time) (int64, bool) {
	d := time.Until(t)
	if d <= 0 {
		return 0, false
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond), true
}

// remoteAddr asks the host for the address connected to.
func remoteAddr(h int32) net.Addr {
	var buf [64]byte
	n := hostcall.TCPRemoteAddress(h, buf[:])
	if n < 0 || int(n) > len(buf) {
		return &net.TCPAddr{}
	}
	ap, err := netip.ParseAddrPort(string(buf[:n]))
	if err != nil {
		return &net.TCPAddr{}
	}
	return net.TCPAddrFromAddrPort(ap)
}

// conn is a connection through the host. Reads and writes may run at the
// same time from two goroutines; the state below is guarded by mu, never
// held during a host call.
type conn struct {
	h     int32
	addr  string   // as dialed
	raddr net.Addr // as the host reports it
	owner uint64   // the invocation that owns it; 0: the instance

	mu       sync.Mutex
	closed   bool // Close was called
	released bool // released at suspension: reads as closed by the peer
	rdl, wdl time.Time
}

var _ conns.Releaser = (*conn)(nil)

// state returns the error a call must fail with before it reaches the
// host, if any.
func (c *conn) state(op string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return net.ErrClosed
	case c.released && op == "read":
		return io.EOF
	case c.released:
		return syscall.EPIPE
	}
	return nil
}

func (c *conn) deadline(op string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if op == "read" {
		return c.rdl
	}
	return c.wdl
}

// timeout is the timeout_ms of the next call for deadline t, at most
// yieldInterval; sliced reports that it was cut to that. A deadline in
// the past is an error.
func timeout(t time.Time) (ms int64, sliced bool, err error) {
	const slice = int64(yieldInterval / time.Millisecond)
	if t.IsZero() {
		return slice, true, nil
	}
	ms, ok := millisUntil(t)
	if !ok {
		return 0, false, newError(abi.ETIMEDOUT, os.ErrDeadlineExceeded)
	}
	if ms > slice {
		return slice, true, nil
	}
	return ms, false, nil
}

func (c *conn) Read(p []byte) (int, error) {
	for {
		if err := c.state("read"); err != nil {
			if err == io.EOF {
				return 0, err
			}
			return 0, c.opError("read", err)
		}
		if len(p) == 0 {
			return 0, nil
		}
		ms, sliced, err := timeout(c.deadline("read"))
		if err != nil {
			return 0, c.opError("read", err)
		}
		n := hostcall.TCPRead(c.h, p[:min(len(p), maxChunk)], ms)
		switch {
		case n > 0:
			return int(n), nil
		case n == 0:
			return 0, io.EOF
		case abi.Errno(n) == abi.ETIMEDOUT && sliced:
			runtime.Gosched()
			continue
		}
		return 0, c.opError("read", c.ioError(abi.Errno(n)))
	}
}

func (c *conn) Write(p []byte) (int, error) {
	written := 0
	for {
		if err := c.state("write"); err != nil {
			return written, c.opError("write", err)
		}
		if written == len(p) {
			return written, nil
		}
		ms, sliced, err := timeout(c.deadline("write"))
		if err != nil {
			return written, c.opError("write", err)
		}
		n := hostcall.TCPWrite(c.h, p[written:], ms)
		switch {
		case n > 0:
			written += int(n)
			continue
		case n == 0:
			return written, c.opError("write", io.ErrShortWrite)
		case abi.Errno(n) == abi.ETIMEDOUT && sliced:
			runtime.Gosched()
			continue
		}
		return written, c.opError("write", c.ioError(abi.Errno(n)))
	}
}

// Close closes the connection; blocked reads and writes return
// net.ErrClosed. Closing twice returns net.ErrClosed.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.closed = true
	released := c.released
	c.mu.Unlock()
	conns.Remove(c)
	if released {
		return nil
	}
	if n := hostcall.TCPClose(c.h); n < 0 && abi.Errno(n) != abi.EBADHANDLE {
		// EBADHANDLE: the host had closed it already, with its owner.
		return c.opError("close", c.ioError(abi.Errno(n)))
	}
	return nil
}

// Release closes the connection for the pool that holds it, which then
// reads io.EOF, as from a server that closed it (wfn.AttachDatabasePool).
func (c *conn) Release() {
	c.mu.Lock()
	if c.closed || c.released {
		c.mu.Unlock()
		return
	}
	c.released = true
	c.mu.Unlock()
	conns.Remove(c)
	hostcall.TCPClose(c.h)
}

// CloseWrite half-closes the connection: the peer reads the end of the
// stream, and this side can still read (tcp_close_write).
func (c *conn) CloseWrite() error {
	if err := c.state("write"); err != nil {
		return c.opError("close", err)
	}
	if n := hostcall.TCPCloseWrite(c.h); n < 0 {
		return c.opError("close", c.ioError(abi.Errno(n)))
	}
	return nil
}

// LocalAddr is an unspecified address: the host does not tell the guest
// its side of the connection.
func (c *conn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4zero} }

// RemoteAddr is the address connected to, after name resolution, from
// tcp_remote_address.
func (c *conn) RemoteAddr() net.Addr { return c.raddr }

func (c *conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdl, c.wdl = t, t
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdl = t
	return nil
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = t
	return nil
}

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Addr: c.raddr, Err: err}
}

// ioError is the error of a failed read, write or close.
func (c *conn) ioError(errno abi.Errno) error {
	switch errno {
	case abi.EIO:
		return newError(errno, syscall.ECONNRESET)
	case abi.ECLOSED:
		return newError(errno, syscall.EPIPE)
	case abi.EBADHANDLE, abi.ECANCELED:
		std := []error{net.ErrClosed}
		if errno == abi.ECANCELED {
			// An invocation's connection is closed at the abort; the
			// instance's stays open.
			std = []error{context.Canceled}
			if c.owner != 0 {
				std = append(std, net.ErrClosed)
			}
		}
		e := newError(errno, std...)
		if c.owner != 0 && c.owner != invocation.Current() {
			e.why = "the host closed the connection at the end of the invocation that dialed it (give a pool wfnnet.PoolDialContext)"
		}
		return e
	}
	return hostErrorOf(errno)
}

// dialError is the error of a failed tcp_connect to host.
func dialError(errno abi.Errno, host string) error {
	switch errno {
	case abi.ENOTFOUND:
		return newError(errno, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true})
	case abi.EDENIED:
		e := newError(errno)
		e.why = "destination not allowed by the function's outbound policy (list it in allowedOutboundHosts, such as \"127.0.0.1:5432\")"
		return e
	case abi.ETOOLARGE:
		e := newError(errno)
		e.why = fmt.Sprintf("the instance already holds %d connections", abi.MaxTCPConns)
		return e
	}
	return hostErrorOf(errno)
}

// hostErrorOf maps the codes any call may return.
func hostErrorOf(errno abi.Errno) *Error {
	switch errno {
	case abi.ECONNREFUSED:
		return newError(errno, syscall.ECONNREFUSED)
	case abi.ETIMEDOUT:
		return newError(errno, os.ErrDeadlineExceeded)
	case abi.ECANCELED:
		return newError(errno, context.Canceled)
	case abi.EBADHANDLE:
		return newError(errno, net.ErrClosed)
	}
	return newError(errno)
}

// Error is the Err of a *net.OpError from this package: the host's code,
// and the errors drivers expect for it (see the package doc).
type Error struct {
	Errno abi.Errno
	why   string
	errs  []error // Errno, then the standard errors
}

func newError(errno abi.Errno, std ...error) *Error {
	return &Error{Errno: errno, errs: append([]error{errno}, std...)}
}

func (e *Error) Error() string {
	msg := e.Errno.String()
	if len(e.errs) > 1 {
		msg = e.errs[1].Error() + " (" + msg + ")"
	}
	if e.why != "" {
		msg += ": " + e.why
	}
	return msg
}

// Unwrap returns the abi.Errno and the standard errors, for errors.Is.
func (e *Error) Unwrap() []error { return e.errs }

// Timeout reports whether the host's time ran out (abi.ETIMEDOUT).
func (e *Error) Timeout() bool { return e.Errno == abi.ETIMEDOUT }

// Temporary reports a timeout, as net's errors do.
func (e *Error) Temporary() bool { return e.Timeout() }

var _ net.Error = (*Error)(nil)
