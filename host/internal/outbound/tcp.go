package outbound

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// MaxConns is the most TCP connections one instance holds, its own and
// its invocation's together (abi/SPEC.md section 5c).
const MaxConns = abi.MaxTCPConns

// Conns is the outbound TCP connections of one instance, by handle: the
// tcp_* imports (abi/SPEC.md section 5c). A connection belongs to the
// invocation that opened it, or to the instance. The import methods run
// on the goroutine of the guest, one call at a time; Abort, EndInvocation
// and Close may be called from any goroutine.
//
// The byte slices the import methods are given are views of guest memory:
// the socket reads into them and writes from them during the call, and
// nothing keeps them past its return.
type Conns struct {
	client *Client
	log    func(msg string, args ...any)
	used   atomic.Bool // a tcp_* import was called: EndInvocation has work

	mu      sync.Mutex
	conns   map[int32]*tcpConn
	next    int32
	waiting *tcpConn           // the connection a call waits on, or nil
	woken   bool               // Abort interrupted the wait on waiting
	dialing context.CancelFunc // the tcp_connect in progress, or nil
	aborted bool               // the current invocation was aborted
	gen     uint64             // invocations ended: the deadline watch's
	watch   func() bool        // stops the watch of the invocation's deadline
}

type tcpConn struct {
	conn     *net.TCPConn
	remote   string
	instance bool  // belongs to the instance, not the invocation
	canceled bool  // closed by an abort or a deadline: calls get ECANCELED
	wclosed  bool  // tcp_close_write was called
	eof      bool  // the peer closed its side and every byte was read
	err      error // a write failed after some bytes: the next call says so

	owner uint32     // ABI v2: the invocation that owns it (0: the instance)
	as    *asyncConn // ABI v2's state; nil under version 1
}

// shut closes the socket, or, for a version 2 connection still dialing,
// cancels the dial (whose socket then closes) and, for one whose bytes the
// host still writes, closes it after them. cs.mu is held.
func (c *tcpConn) shut() {
	if a := c.as; a != nil {
		a.gone = true
		if c.conn == nil {
			a.cancelDial()
			return
		}
	}
	_ = c.conn.Close()
}

// NewConns returns the connection table of one instance, dialing through
// c's policy. log receives a line for each refused destination and for a
// tcp_connect past MaxConns.
func NewConns(c *Client, log func(msg string, args ...any)) *Conns {
	return &Conns{client: c, log: log}
}

// Scope is who makes an import call: the invocation, by its request id,
// or the instance (id "": _initialize, wfn_init, wfn_on_suspend,
// wfn_on_sigterm). Ctx ends every wait of the call: its deadline is the
// invocation's, or the bound of the out-of-band call.
type Scope struct {
	Ctx context.Context
	ID  string
}

// deadline returns when a call given timeoutMs must stop waiting, and
// whether that is the scope's deadline rather than the call's own.
func (s Scope) deadline(timeoutMs int64) (d time.Time, scope bool) {
	if timeoutMs >= 0 {
		d = time.Now().Add(time.Duration(min(timeoutMs, 24*60*60*1000)) * time.Millisecond)
	}
	if sd, ok := s.Ctx.Deadline(); ok && (d.IsZero() || sd.Before(d)) {
		return sd, true
	}
	return d, false
}

// Connect is tcp_connect: it checks addr ("host:port") by name under the
// policy, resolves it, checks the address, dials it and waits until the
// connection is established, and returns a handle > 0 or an error code.
func (cs *Conns) Connect(s Scope, addr string, flags int32, timeoutMs int64) int32 {
	if e := cs.check(s.ID, addr, flags); e != 0 {
		return int32(e)
	}
	instance := flags&abi.TCPInstance != 0 || s.ID == ""
	d, byScope := s.deadline(timeoutMs)
	ctx, cancel := context.WithCancel(s.Ctx)
	if !d.IsZero() {
		ctx, cancel = context.WithDeadline(s.Ctx, d)
	}
	defer cancel()
	cs.mu.Lock()
	cs.dialing = cancel
	aborted := cs.aborted
	cs.mu.Unlock()
	conn, err := cs.client.dialer.DialContext(ctx, "tcp", addr)
	cs.mu.Lock()
	cs.dialing = nil
	canceled := cs.aborted && !aborted
	cs.mu.Unlock()
	if err != nil {
		switch e := dialErrno(err); {
		case e == abi.EDENIED:
			cs.log("outbound TCP connection denied", "id", s.ID, "addr", addr, "err", err)
			return int32(e)
		case canceled, e == abi.ETIMEDOUT && byScope, s.Ctx.Err() != nil && !errors.Is(s.Ctx.Err(), context.DeadlineExceeded):
			return int32(abi.ECANCELED)
		default:
			return int32(e)
		}
	}
	tc := conn.(*net.TCPConn)
	c := &tcpConn{conn: tc, remote: tc.RemoteAddr().String(), instance: instance}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	h := cs.add(c)
	if !instance && cs.watch == nil && s.Ctx.Done() != nil {
		// The invocation's connections close at its deadline even while
		// the guest runs on without calling the host.
		gen := cs.gen
		cs.watch = context.AfterFunc(s.Ctx, func() { cs.expire(gen) })
	}
	return h
}

// check is what tcp_connect checks before it dials, in both versions of
// the ABI: addr is "host:port" with a port in 1..65535 and flags known
// (EINVAL), the instance holds fewer than MaxConns (ETOOLARGE), and the
// policy allows the host by name (EDENIED, logged with the request id
// id). No connection is attempted when it fails.
func (cs *Conns) check(id, addr string, flags int32) abi.Errno {
	cs.used.Store(true)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || flags&^abi.TCPInstance != 0 {
		return abi.EINVAL
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '0' {
		return abi.EINVAL
	}
	cs.mu.Lock()
	full := len(cs.conns) >= MaxConns
	cs.mu.Unlock()
	if full {
		cs.log("outbound TCP connection refused: the instance holds the most connections", "id", id, "addr", addr, "max", MaxConns)
		return abi.ETOOLARGE
	}
	if err := cs.client.policy.CheckURLHost(host, port); err != nil {
		cs.log("outbound TCP connection denied", "id", id, "addr", addr, "err", err)
		return abi.EDENIED
	}
	return 0
}

// add gives c a handle > 0. cs.mu is held.
func (cs *Conns) add(c *tcpConn) int32 {
	if cs.conns == nil {
		cs.conns = map[int32]*tcpConn{}
	}
	for {
		cs.next++
		if cs.next <= 0 {
			cs.next = 1
		}
		if cs.conns[cs.next] == nil {
			break
		}
	}
	cs.conns[cs.next] = c
	return cs.next
}

// dialErrno maps a dial's error to the code of tcp_connect.
func dialErrno(err error) abi.Errno {
	var dns *net.DNSError
	switch {
	case errors.Is(err, ErrDenied):
		return abi.EDENIED
	case errors.As(err, &dns) && dns.IsNotFound:
		return abi.ENOTFOUND
	case errors.Is(err, errNoAddress):
		return abi.ENOTFOUND
	case errors.Is(err, syscall.ECONNREFUSED):
		return abi.ECONNREFUSED
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return abi.ETIMEDOUT
	default:
		return abi.EIO
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// conn returns the connection of handle h, or an error code for a
// handle that is unknown or whose connection an abort or a deadline
// closed.
func (cs *Conns) conn(h int32) (*tcpConn, abi.Errno) {
	cs.used.Store(true)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.conns[h]
	switch {
	case c == nil:
		return nil, abi.EBADHANDLE
	case c.canceled:
		return nil, abi.ECANCELED
	}
	return c, 0
}

// wait prepares a blocking call on c until d: Abort then interrupts it.
// It returns false, for ECANCELED, when c was canceled, or when it is the
// instance's and the invocation was aborted: as every import that waits
// (abi/SPEC.md section 5a), it does not wait for an aborted invocation,
// whether the abort came before the call or during it. set applies a
// deadline to the socket.
func (cs *Conns) wait(c *tcpConn, set func(time.Time) error, d time.Time) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c.canceled || c.instance && cs.aborted {
		return false
	}
	_ = set(d)
	cs.waiting, cs.woken = c, false
	return true
}

// waited ends a blocking call and reports whether Abort interrupted it.
func (cs *Conns) waited(c *tcpConn) (interrupted bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.waiting = nil
	return cs.woken || c.canceled
}

// transfer makes one read (read true) or write of p on c: at once for a
// timeoutMs of 0, else waiting until the call's deadline, which Abort
// interrupts. It returns the bytes moved, the socket's error, and the
// code that error stands for in a call that moved nothing: ECANCELED
// when an abort came before or during the wait or the invocation's
// deadline ended it, ETIMEDOUT when the call's own bound did, else EIO
// (0 without an error).
func (cs *Conns) transfer(s Scope, c *tcpConn, p []byte, timeoutMs int64, read bool) (int, abi.Errno, error) {
	set := c.conn.SetWriteDeadline
	if read {
		set = c.conn.SetReadDeadline
	}
	var n int
	var err error
	var byScope, interrupted bool
	if timeoutMs == 0 {
		n, err = tryIO(c.conn, set, p, read)
	} else {
		var d time.Time
		d, byScope = s.deadline(timeoutMs)
		if !cs.wait(c, set, d) {
			return 0, abi.ECANCELED, nil
		}
		if read {
			n, err = c.conn.Read(p)
		} else {
			n, err = c.conn.Write(p)
		}
		interrupted = cs.waited(c)
	}
	switch {
	case err == nil:
		return n, 0, nil
	case interrupted, isTimeout(err) && byScope:
		return n, abi.ECANCELED, err
	case isTimeout(err):
		return n, abi.ETIMEDOUT, err
	default:
		return n, abi.EIO, err
	}
}

// Read is tcp_read: the next bytes into p, 0 at the end of the stream,
// or an error code.
func (cs *Conns) Read(s Scope, h int32, p []byte, timeoutMs int64) int32 {
	c, e := cs.conn(h)
	switch {
	case e != 0:
		return int32(e)
	case len(p) == 0:
		return int32(abi.EINVAL)
	case c.eof:
		return 0
	}
	n, e, err := cs.transfer(s, c, p, timeoutMs, true)
	switch {
	case n > 0:
		return int32(n)
	case errors.Is(err, io.EOF):
		c.eof = true
		return 0
	}
	return int32(e)
}

// Write is tcp_write: it sends p, waiting while the peer does not take
// it, and returns how many bytes the host's socket took or an error
// code. A failure after some bytes returns their count, and the next call
// the error.
func (cs *Conns) Write(s Scope, h int32, p []byte, timeoutMs int64) int32 {
	c, e := cs.conn(h)
	switch {
	case e != 0:
		return int32(e)
	case c.wclosed:
		return int32(abi.ECLOSED)
	case c.err != nil:
		return int32(abi.EIO)
	case len(p) == 0:
		return 0
	}
	n, e, err := cs.transfer(s, c, p, timeoutMs, false)
	if n > 0 {
		if err != nil && !isTimeout(err) {
			c.err = err
		}
		return int32(n)
	}
	return int32(e)
}

// CloseWrite is tcp_close_write: the peer reads the end of the stream.
func (cs *Conns) CloseWrite(h int32) abi.Errno {
	c, e := cs.conn(h)
	switch {
	case e != 0:
		return e
	case c.wclosed:
		return abi.ECLOSED
	}
	c.wclosed = true
	if err := c.conn.CloseWrite(); err != nil {
		return abi.EIO
	}
	return 0
}

// Close is tcp_close: it closes the connection and releases the handle,
// also one an abort closed.
func (cs *Conns) Close(h int32) abi.Errno {
	cs.used.Store(true)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.conns[h]
	delete(cs.conns, h)
	if c == nil {
		return abi.EBADHANDLE
	}
	if a := c.as; a != nil && a.writing && !c.canceled {
		a.gone = true // the flush closes it after the bytes it took
		return 0
	}
	c.shut()
	return 0
}

// RemoteAddress is tcp_remote_address: the address dialed, after name
// resolution, as "203.0.113.7:5432" or "[2001:db8::1]:5432".
func (cs *Conns) RemoteAddress(h int32) (string, abi.Errno) {
	cs.used.Store(true)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.conns[h]
	if c == nil {
		return "", abi.EBADHANDLE
	}
	return c.remote, 0
}

// Len is the number of connections the instance holds.
func (cs *Conns) Len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.conns)
}

// Abort is the abort of the current invocation: its connections close at
// once (their calls return ECANCELED), a tcp_connect in progress returns
// ECANCELED, and so does a call waiting on one of the instance's
// connections, which stays open, and every call that would wait on one
// of them until EndInvocation. Connections opened after it belong to the
// invocation's cleanup.
func (cs *Conns) Abort() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.aborted = true
	cs.cancelInvocation()
	if cs.dialing != nil {
		cs.dialing()
	}
	if c := cs.waiting; c != nil && !c.canceled {
		cs.woken = true
		_ = c.conn.SetDeadline(time.Now())
	}
}

// cancelInvocation closes the invocation's connections, keeping their
// handles (ECANCELED) until tcp_close or EndInvocation. cs.mu is held.
func (cs *Conns) cancelInvocation() {
	for _, c := range cs.conns {
		if !c.instance && !c.canceled {
			c.canceled = true
			c.shut()
		}
	}
}

// expire closes the invocation's connections at its deadline, unless it
// has ended (gen).
func (cs *Conns) expire(gen uint64) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.gen == gen {
		cs.cancelInvocation()
	}
}

// EndInvocation closes and releases the connections of the invocation
// that ends (after its tasks); the instance's stay. A guest that never
// used TCP pays one atomic load.
func (cs *Conns) EndInvocation() {
	if !cs.used.Load() {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.gen++
	cs.aborted = false
	if cs.watch != nil {
		cs.watch()
		cs.watch = nil
	}
	for h, c := range cs.conns {
		if !c.instance {
			c.shut()
			delete(cs.conns, h)
		}
	}
}

// CloseAll closes every connection, for an instance that goes.
func (cs *Conns) CloseAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.gen++
	if cs.watch != nil {
		cs.watch()
		cs.watch = nil
	}
	for h, c := range cs.conns {
		c.shut()
		delete(cs.conns, h)
	}
}
