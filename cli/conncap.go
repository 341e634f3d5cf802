package cli

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/netutil"
)

// The connection cap of wfn serve (--max-connections). What a serious
// server does at its cap, and what wfn does:
//
//   - nginx (worker_connections) first closes idle keep-alive
//     connections to make room, and only when none is idle refuses the
//     new one. wfn closes idle connections first too: while at the cap,
//     the oldest idle connection is closed whenever a connection opens or
//     one goes idle, so no client waits behind a connection doing nothing.
//   - HAProxy (maxconn) stops accepting: new connections wait in the
//     kernel's listen backlog until a slot frees. wfn does the same when
//     every connection is busy (netutil.LimitListener blocks Accept). The
//     wait costs the process nothing, which a 503 would not: to answer
//     one, the server must accept the connection (a descriptor, a
//     goroutine, buffers: what the cap bounds) and read the request, or
//     the client may see a reset instead of the 503. Busy connections end
//     within the request limits (10 s to send the head, maxDuration for
//     the invocation), and the backlog itself is bounded by the kernel
//     (net.core.somaxconn); past it, clients' SYNs are dropped and
//     retried, TCP's own back-pressure.

// defaultMaxConnectionsCeiling bounds the default cap: 3,000 idle
// keep-alive connections cost about 27 MB (issue 11), so 10,000 cost
// about 90 MB, little beside the instances' memory.
const defaultMaxConnectionsCeiling = 10000

// defaultMaxConnections is the default cap: 10,000, or half the process's
// open-file limit (RLIMIT_NOFILE, which Go raises to the hard limit at
// start) if that is lower. The other half is for everything else a
// descriptor is needed for: outbound connections, cache files, Redis,
// compiled guests. Accepting past the limit would fail with EMFILE and
// starve those.
func defaultMaxConnections() int {
	n := defaultMaxConnectionsCeiling
	if files, ok := openFileLimit(); ok && files/2 < uint64(n) {
		n = max(int(files/2), 1)
	}
	return n
}

// connCap bounds a server's open connections to max: it wraps the
// listener (limit) and follows the server's connections (connState).
type connCap struct {
	max int
	log *slog.Logger

	mu      sync.Mutex
	idle    connNode  // sentinel of the ring of idle ones, the longest idle first
	open    int       // counted in; an evicted connection is counted out when closed here
	warned  time.Time // when the log last said the cap was reached
	evicted int       // idle connections closed since the log last said so
}

// capConn is a connection accepted by connCap's listener: the server's
// ConnState hands it back, and finds its node without a lookup.
type capConn struct {
	net.Conn
	node connNode
}

// capListener makes each accepted connection a capConn.
type capListener struct{ net.Listener }

func (l capListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &capConn{Conn: conn}
	cc.node.conn = cc
	return cc, nil
}

// connNode is an open connection; idle ones are in connCap.idle's ring.
// One is made per connection, so that a request costs no allocation.
type connNode struct {
	conn       net.Conn
	prev, next *connNode // nil when not idle
	evicted    bool
}

// capWarnEvery is how often, at most, the log says the cap is reached.
const capWarnEvery = 10 * time.Second

func newConnCap(max int, log *slog.Logger) *connCap {
	c := &connCap{max: max, log: log}
	c.idle.prev, c.idle.next = &c.idle, &c.idle
	return c
}

// limit returns ln accepting at most max connections at a time.
func (c *connCap) limit(ln net.Listener) net.Listener {
	return capListener{netutil.LimitListener(ln, c.max)}
}

// connState is the server's http.Server.ConnState.
func (c *connCap) connState(conn net.Conn, st http.ConnState) {
	cc, ok := conn.(*capConn)
	if !ok {
		return // not accepted by the listener of limit
	}
	n := &cc.node
	c.mu.Lock()
	switch {
	case st == http.StateNew:
		c.open++
	case st == http.StateActive:
		n.unlink()
	case st == http.StateIdle:
		n.unlink()
		n.prev, n.next = c.idle.prev, &c.idle
		c.idle.prev.next, c.idle.prev = n, n
	case st == http.StateClosed, st == http.StateHijacked:
		n.unlink()
		if !n.evicted {
			c.open--
		}
	}
	var evict net.Conn
	full := c.open >= c.max && (st == http.StateNew || st == http.StateIdle)
	if full && c.idle.next != &c.idle {
		// Counted out now, not when the server sees it closed: its
		// slot frees with the Close below.
		oldest := c.idle.next
		oldest.unlink()
		oldest.evicted = true
		evict = oldest.conn
		c.open--
		c.evicted++
	}
	warn := full && evict == nil && time.Since(c.warned) >= capWarnEvery
	var evicted int
	if warn {
		c.warned, evicted, c.evicted = time.Now(), c.evicted, 0
	}
	open := c.open
	c.mu.Unlock()

	if evict != nil {
		// As http.Server.Shutdown closes idle connections. A request
		// that arrives in this instant sees the connection close, as
		// with an idle timeout; clients retry those on a new one.
		_ = evict.Close()
	}
	if warn {
		c.log.Warn("connection cap reached: every connection is busy; new ones wait in the listen backlog",
			"max", c.max, "open", open, "idleClosed", evicted)
	}
}

// unlink takes n out of the idle ring, if it is in it.
func (n *connNode) unlink() {
	if n.next == nil {
		return
	}
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}
