package wfntest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// MaxTCPConns is the most TCP connections the instance holds, its own and
// its invocation's together; tcp_connect returns abi.ETOOLARGE past it.
const MaxTCPConns = abi.MaxTCPConns

// ErrSuspendTooLong is returned by [Suspend] when wfn_on_suspend ran past
// [SuspendGrace].
var ErrSuspendTooLong = errors.New("wfntest: wfn_on_suspend ran past the host's grace")

// SuspendGrace is the time wfn_on_suspend has before the host closes the
// instance.
const SuspendGrace = 500 * time.Millisecond

// The TCP connections of the instance, which the test process stands
// for: they outlive invocations when they belong to the instance
// (abi/SPEC.md, section 5c). Handles are never reused, so a call on a
// closed handle is abi.EBADHANDLE, not another connection's.
var tcp = struct {
	mu      sync.Mutex
	next    int32
	conns   map[int32]*tcpConn
	dialing int    // dials under way, counted against the limit
	policy  policy // the last invocation's, for dials outside one
}{conns: map[int32]*tcpConn{}}

// tcpConn is one connection.
type tcpConn struct {
	c     *net.TCPConn
	owner *host // nil: the instance
	dead  bool  // closed by the host with its owner: calls are ECANCELED

	rmu, wmu    sync.Mutex // one read and one write at a time
	writeClosed bool       // guarded by wmu
}

func init() {
	// Between invocations the TCP imports work on the instance's
	// connections (a pool's background work, a test's cleanup).
	hostcall.InstallIdle(idle{})
}

// Suspend runs what the wfn_on_suspend export runs (the idle connections
// of the pools attached with wfn.AttachDatabasePool are released),
// outside any invocation, as the host does before it suspends an idle
// instance. It returns an error wrapping [ErrSuspendTooLong] if that took
// longer than [SuspendGrace].
func Suspend() error {
	mu.Lock()
	defer mu.Unlock()
	defer installIdle()()
	start := time.Now()
	hostcall.Exports.OnSuspend()
	if d := time.Since(start); d > SuspendGrace {
		return fmt.Errorf("%w: took %v, over %v", ErrSuspendTooLong, d.Round(time.Millisecond), SuspendGrace)
	}
	return nil
}

// TCPConns returns how many TCP connections are open: the instance's and
// the running invocation's.
func TCPConns() int {
	tcp.mu.Lock()
	defer tcp.mu.Unlock()
	n := 0
	for _, c := range tcp.conns {
		if !c.dead {
			n++
		}
	}
	return n
}

// closeTCP closes the connections owned by h (the instance's, for nil)
// that are open, as the host does when their owner ends; the guest's
// calls on them then return ECANCELED.
func closeTCP(h *host) {
	tcp.mu.Lock()
	defer tcp.mu.Unlock()
	for _, c := range tcp.conns {
		if c.owner == h && !c.dead {
			c.dead = true
			c.c.Close()
		}
	}
}

// lookupTCP returns the connection of handle id, or the import's error.
func lookupTCP(id int32) (*tcpConn, int32) {
	tcp.mu.Lock()
	defer tcp.mu.Unlock()
	c := tcp.conns[id]
	switch {
	case c == nil:
		return nil, int32(abi.EBADHANDLE)
	case c.dead:
		return nil, int32(abi.ECANCELED)
	}
	return c, 0
}

// tcpCall is who makes a call: an invocation (h) or the idle instance.
type tcpCall struct {
	h *host // nil outside an invocation
}

// stop is the context that ends the call's waits, nil outside an
// invocation: done when the invocation is aborted or killed, or, for a
// call made after the abort (which runs as any other), when it is
// killed.
func (t tcpCall) stop() context.Context {
	if t.h == nil {
		return nil
	}
	if t.h.ctx.Err() != nil {
		return t.h.killCtx
	}
	return t.h.tcpCtx
}

func (t tcpCall) connect(addr string, flags int32, timeoutMs int64) int32 {
	if flags&^abi.TCPInstance != 0 {
		return int32(abi.EINVAL)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return int32(abi.EINVAL)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return int32(abi.EINVAL)
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(addr, "[") {
		return int32(abi.EINVAL)
	}
	ctx := context.Background()
	owner := t.h
	tcp.mu.Lock()
	pol := tcp.policy
	tcp.mu.Unlock()
	if t.h != nil {
		if t.h.killed.Load() {
			return int32(abi.ECANCELED)
		}
		ctx = t.stop()
		pol = t.h.cfg.policy
	}
	if flags&abi.TCPInstance != 0 {
		owner = nil
	}
	if !pol.atConnect(host, port) {
		return int32(abi.EDENIED)
	}
	var cancel context.CancelFunc
	if timeoutMs >= 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeoutMs)*time.Millisecond)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	tcp.mu.Lock()
	open := 0
	for _, c := range tcp.conns {
		if !c.dead {
			open++
		}
	}
	if open+tcp.dialing >= MaxTCPConns {
		tcp.mu.Unlock()
		return int32(abi.ETOOLARGE)
	}
	tcp.dialing++ // so that dials at the same time respect the limit
	tcp.mu.Unlock()

	nc, err := pol.dialContext(ctx, "tcp", addr)
	tcp.mu.Lock()
	defer tcp.mu.Unlock()
	tcp.dialing--
	if err != nil {
		var dns *net.DNSError
		switch {
		case errors.Is(err, errDenied):
			return int32(abi.EDENIED)
		case errors.As(err, &dns) && dns.IsNotFound:
			return int32(abi.ENOTFOUND)
		case errors.Is(err, syscall.ECONNREFUSED):
			return int32(abi.ECONNREFUSED)
		case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
			return int32(abi.ECANCELED)
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
			return int32(abi.ETIMEDOUT)
		}
		return int32(abi.EIO)
	}
	tcp.next++
	tcp.conns[tcp.next] = &tcpConn{c: nc.(*net.TCPConn), owner: owner}
	return tcp.next
}

// atConnect checks what is known before a connection is made: with a
// list, the host and port; without one, an address, or the name
// localhost.
func (p policy) atConnect(host, port string) bool {
	host = strings.ToLower(host)
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.WithZone("").Unmap().String()
		if !p.set {
			return !deniedAddr(a)
		}
	}
	if p.set {
		return p.listed(host, port)
	}
	h := strings.TrimSuffix(host, ".")
	return h != "localhost" && !strings.HasSuffix(h, ".localhost")
}

// wait runs op, a read or a write on c with the deadline set by set, for
// timeoutMs (negative: none of its own; 0: no wait), and maps its error.
// A wait that the invocation's abort or kill interrupts returns
// ECANCELED; the connection stays open.
func (t tcpCall) wait(c *tcpConn, timeoutMs int64, set func(time.Time) error, op func() (int, error)) int32 {
	var deadline time.Time
	if timeoutMs >= 0 {
		deadline = time.Now().Add(time.Duration(timeoutMs) * time.Millisecond)
	}
	set(deadline)
	stop := t.stop()
	if stop != nil {
		if t.h.killed.Load() {
			return int32(abi.ECANCELED)
		}
		if c.owner == nil && t.h.ctx.Err() != nil && timeoutMs != 0 {
			// After the abort, a wait on the instance's connection is
			// ECANCELED at once, as any import that waits (SPEC 5a).
			return int32(abi.ECANCELED)
		}
		if stop.Err() == nil {
			// A wait under way when the invocation is aborted ends.
			done := make(chan struct{})
			halt := context.AfterFunc(stop, func() {
				defer close(done)
				set(time.Unix(1, 0))
			})
			defer func() {
				if !halt() {
					<-done
				}
			}()
		}
	}
	n, err := op()
	if n > 0 {
		return int32(n)
	}
	tcp.mu.Lock()
	dead := c.dead
	_, open := tcp.conns[t.idOf(c)]
	tcp.mu.Unlock()
	switch {
	case err == nil:
		return 0
	case err == io.EOF:
		return 0
	case dead:
		return int32(abi.ECANCELED)
	case !open:
		return int32(abi.EBADHANDLE)
	case errors.Is(err, os.ErrDeadlineExceeded):
		if stop != nil && stop.Err() != nil {
			return int32(abi.ECANCELED)
		}
		return int32(abi.ETIMEDOUT)
	}
	return int32(abi.EIO)
}

// idOf finds c's handle; tcp.mu is held.
func (tcpCall) idOf(c *tcpConn) int32 {
	for id, o := range tcp.conns {
		if o == c {
			return id
		}
	}
	return 0
}

func (t tcpCall) read(id int32, buf []byte, timeoutMs int64) int32 {
	c, errno := lookupTCP(id)
	if c == nil {
		return errno
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(buf) == 0 {
		return int32(abi.EINVAL)
	}
	if timeoutMs == 0 {
		return poll(c, buf)
	}
	return t.wait(c, timeoutMs, c.c.SetReadDeadline, func() (int, error) { return c.c.Read(buf) })
}

// poll reads what has arrived, without waiting: tcp_read with
// timeout_ms 0.
func poll(c *tcpConn, buf []byte) int32 {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return int32(abi.EIO)
	}
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), buf)
		return true
	}); err != nil {
		return int32(abi.EIO)
	}
	switch {
	case rerr == syscall.EAGAIN:
		return int32(abi.ETIMEDOUT)
	case rerr != nil:
		return int32(abi.EIO)
	}
	return int32(n) // 0: the peer closed its side
}

func (t tcpCall) write(id int32, p []byte, timeoutMs int64) int32 {
	c, errno := lookupTCP(id)
	if c == nil {
		return errno
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.writeClosed {
		return int32(abi.ECLOSED)
	}
	if len(p) == 0 {
		return 0
	}
	return t.wait(c, timeoutMs, c.c.SetWriteDeadline, func() (int, error) { return c.c.Write(p) })
}

func tcpCloseWrite(id int32) int32 {
	c, errno := lookupTCP(id)
	if c == nil {
		return errno
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.writeClosed {
		return int32(abi.ECLOSED)
	}
	c.writeClosed = true
	if err := c.c.CloseWrite(); err != nil {
		return int32(abi.EIO)
	}
	return 0
}

func tcpClose(id int32) int32 {
	tcp.mu.Lock()
	c := tcp.conns[id]
	if c == nil || c.c == nil {
		tcp.mu.Unlock()
		return int32(abi.EBADHANDLE)
	}
	delete(tcp.conns, id)
	tcp.mu.Unlock()
	c.c.Close()
	return 0
}

func tcpRemoteAddress(id int32, buf []byte) int32 {
	c, errno := lookupTCP(id)
	if c == nil {
		return errno
	}
	ap := c.c.RemoteAddr().(*net.TCPAddr).AddrPort()
	return put(buf, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String())
}

// The TCP imports of an invocation.

func (h *host) TCPConnect(addr string, flags int32, timeoutMs int64) int32 {
	return tcpCall{h}.connect(addr, flags, timeoutMs)
}
func (h *host) TCPRead(id int32, buf []byte, timeoutMs int64) int32 {
	return tcpCall{h}.read(id, buf, timeoutMs)
}
func (h *host) TCPWrite(id int32, p []byte, timeoutMs int64) int32 {
	return tcpCall{h}.write(id, p, timeoutMs)
}
func (h *host) TCPCloseWrite(id int32) int32                { return tcpCloseWrite(id) }
func (h *host) TCPClose(id int32) int32                     { return tcpClose(id) }
func (h *host) TCPRemoteAddress(id int32, buf []byte) int32 { return tcpRemoteAddress(id, buf) }

// Outside an invocation (init, wfn_on_suspend, wfn_on_sigterm, between
// invocations) connections belong to the instance.

func (idle) TCPConnect(addr string, flags int32, timeoutMs int64) int32 {
	return tcpCall{}.connect(addr, flags, timeoutMs)
}
func (idle) TCPRead(id int32, buf []byte, timeoutMs int64) int32 {
	return tcpCall{}.read(id, buf, timeoutMs)
}
func (idle) TCPWrite(id int32, p []byte, timeoutMs int64) int32 {
	return tcpCall{}.write(id, p, timeoutMs)
}
func (idle) TCPCloseWrite(id int32) int32                { return tcpCloseWrite(id) }
func (idle) TCPClose(id int32) int32                     { return tcpClose(id) }
func (idle) TCPRemoteAddress(id int32, buf []byte) int32 { return tcpRemoteAddress(id, buf) }
