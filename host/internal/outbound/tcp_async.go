package outbound

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/wfn-dev/wfn/abi"
)

// The tcp_* imports of ABI version 2 (abi/SPEC-v2.md section 8): the same
// table, policy, limit and owners as version 1's, but no call waits. A
// call that would wait returns EAGAIN with a channel that is closed when
// it can make progress (the host then posts an EventReady): the dial runs
// on a goroutine of its own, a read that finds no byte starts a goroutine
// that reads the next bytes into a buffer of the host, and a write the
// socket takes nothing of is copied into a buffer that a goroutine writes.
// Many invocations share the table: an invocation's connection belongs to
// its id (the owner) and only the owner's calls reach it; the instance's
// connections (owner 0) serve every invocation and the calls made for the
// instance itself.

// asyncBuffer is the most bytes a version 2 read takes from the socket
// ahead of the guest, and the most of a write the host holds.
const asyncBuffer = 64 << 10

// asyncConn is the version 2 state of a connection, under Conns.mu.
type asyncConn struct {
	connected  chan struct{} // closed when the dial has ended
	dialErr    abi.Errno     // why it failed, once connected is closed
	cancelDial context.CancelFunc
	gone       bool // closed or released: the goroutines close the socket

	reading bool
	readEnd chan struct{} // closed when the read in progress ends
	rbuf    []byte        // bytes read and not yet taken
	rerr    error         // the read's error, after rbuf

	writing  bool
	writeEnd chan struct{} // closed when the write in progress ends
	wclose   bool          // tcp_close_write came while the dial or a write ran
}

// StartConnect is tcp_connect of version 2: the checks of version 1 (the
// failures EINVAL, ETOOLARGE and EDENIED are answered at once, with no
// connection attempted), then a handle > 0 at once while a goroutine
// dials. The dial's failure (ECONNREFUSED, ENOTFOUND, ETIMEDOUT, EIO,
// EDENIED for an address the policy refuses) is the answer of the next
// read, write or remote address call. owner is the calling invocation's
// id, 0 for the instance; id its request id, for the log. The connection
// belongs to the instance for flag abi.TCPInstance or owner 0.
func (cs *Conns) StartConnect(owner uint32, id, addr string, flags int32) int32 {
	if e := cs.check(id, addr, flags); e != 0 {
		return int32(e)
	}
	c := &tcpConn{owner: owner, instance: owner == 0 || flags&abi.TCPInstance != 0}
	if c.instance {
		c.owner = 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.as = &asyncConn{connected: make(chan struct{}), cancelDial: cancel}
	cs.mu.Lock()
	if len(cs.conns) >= MaxConns {
		cs.mu.Unlock()
		cancel()
		return int32(abi.ETOOLARGE)
	}
	h := cs.add(c)
	cs.mu.Unlock()
	go func() {
		// The dialer's own bound (10 s) ends it, or the cancel of an
		// abort, a tcp_close or the instance's end.
		conn, err := cs.client.dialer.DialContext(ctx, "tcp", addr)
		canceled := ctx.Err() != nil
		cancel()
		var e abi.Errno
		if err != nil {
			e = dialErrno(err)
			if e == abi.EDENIED {
				cs.log("outbound TCP connection denied", "id", id, "addr", addr, "err", err)
			} else if canceled {
				e = abi.ECANCELED
			}
		}
		cs.mu.Lock()
		defer cs.mu.Unlock()
		a := c.as
		switch {
		case err != nil:
			a.dialErr = e
		case a.gone:
			_ = conn.Close()
			a.dialErr = abi.ECANCELED
		default:
			c.conn = conn.(*net.TCPConn)
			c.remote = c.conn.RemoteAddr().String()
			if a.wclose {
				_ = c.conn.CloseWrite()
			}
		}
		close(a.connected)
	}()
	return h
}

// lookupAsync returns the version 2 connection h for owner, or an error
// code: EBADHANDLE for an unknown handle or another invocation's
// connection, ECANCELED for one an abort closed, the dial's error once it
// failed. It returns a channel to wait on, with EAGAIN, while it dials.
// cs.mu is held.
func (cs *Conns) lookupAsync(owner uint32, h int32) (*tcpConn, <-chan struct{}, abi.Errno) {
	c := cs.conns[h]
	switch {
	case c == nil, c.as == nil, !c.instance && c.owner != owner:
		return nil, nil, abi.EBADHANDLE
	case c.canceled:
		return nil, nil, abi.ECANCELED
	case c.conn == nil && c.as.dialErr == 0:
		return nil, c.as.connected, abi.EAGAIN
	case c.conn == nil:
		return nil, nil, c.as.dialErr
	}
	return c, nil, 0
}

// TryRead is tcp_read of version 2: the next bytes into p (the bytes the
// host read ahead first), 0 at the peer's end, or an error code; EAGAIN
// with a channel closed when bytes (or the end, or an error) are in.
func (cs *Conns) TryRead(owner uint32, h int32, p []byte) (int32, <-chan struct{}) {
	cs.used.Store(true)
	cs.mu.Lock()
	c, wait, e := cs.lookupAsync(owner, h)
	switch {
	case e != 0:
		cs.mu.Unlock()
		return int32(e), wait
	case len(p) == 0:
		cs.mu.Unlock()
		return int32(abi.EINVAL), nil
	case c.eof:
		cs.mu.Unlock()
		return 0, nil
	}
	a := c.as
	if len(a.rbuf) > 0 {
		n := copy(p, a.rbuf)
		a.rbuf = a.rbuf[n:]
		cs.mu.Unlock()
		return int32(n), nil
	}
	if a.rerr != nil {
		err := a.rerr
		if errors.Is(err, io.EOF) {
			c.eof = true
			cs.mu.Unlock()
			return 0, nil
		}
		cs.mu.Unlock()
		return int32(abi.EIO), nil
	}
	if a.reading {
		cs.mu.Unlock()
		return int32(abi.EAGAIN), a.readEnd
	}
	conn := c.conn
	cs.mu.Unlock()
	// Only this call reads the socket now: the guest's calls come one at
	// a time, and no read ahead runs.
	n, err := tryIO(conn, conn.SetReadDeadline, p, true)
	switch {
	case n > 0:
		return int32(n), nil
	case errors.Is(err, io.EOF):
		cs.mu.Lock()
		c.eof = true
		cs.mu.Unlock()
		return 0, nil
	case err != nil && !isTimeout(err):
		return int32(abi.EIO), nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c.canceled || a.gone {
		return int32(abi.ECANCELED), nil
	}
	a.reading, a.readEnd = true, make(chan struct{})
	go cs.readAhead(c)
	return int32(abi.EAGAIN), a.readEnd
}

// readAhead reads the next bytes of c into the host's buffer, waiting as
// long as the peer sends nothing; closing the socket ends it.
func (cs *Conns) readAhead(c *tcpConn) {
	buf := make([]byte, asyncBuffer)
	n, err := c.conn.Read(buf)
	if n == 0 && err == nil {
		err = io.ErrNoProgress
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	a := c.as
	a.rbuf, a.rerr = buf[:n], err
	a.reading = false
	close(a.readEnd)
}

// TryWrite is tcp_write of version 2: it returns how many bytes of p the
// host took, what the socket accepts at once or, when it accepts nothing,
// up to 64 KiB the host writes on its own; EAGAIN, with a channel closed
// when that write has ended, while it runs. A failed write makes the next
// call EIO.
func (cs *Conns) TryWrite(owner uint32, h int32, p []byte) (int32, <-chan struct{}) {
	cs.used.Store(true)
	cs.mu.Lock()
	c, wait, e := cs.lookupAsync(owner, h)
	switch {
	case e != 0:
		cs.mu.Unlock()
		return int32(e), wait
	case c.wclosed:
		cs.mu.Unlock()
		return int32(abi.ECLOSED), nil
	case c.err != nil:
		cs.mu.Unlock()
		return int32(abi.EIO), nil
	case len(p) == 0:
		cs.mu.Unlock()
		return 0, nil
	}
	a := c.as
	if a.writing {
		cs.mu.Unlock()
		return int32(abi.EAGAIN), a.writeEnd
	}
	conn := c.conn
	cs.mu.Unlock()
	n, err := tryIO(conn, conn.SetWriteDeadline, p, false)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch {
	case n > 0:
		if err != nil && !isTimeout(err) {
			c.err = err
		}
		return int32(n), nil
	case err != nil && !isTimeout(err):
		c.err = err
		return int32(abi.EIO), nil
	case c.canceled || a.gone:
		return int32(abi.ECANCELED), nil
	}
	// The socket's buffer is full: the host holds the bytes and writes
	// them as the peer takes them, so that the call need not wait.
	buf := append([]byte(nil), p[:min(len(p), asyncBuffer)]...)
	a.writing, a.writeEnd = true, make(chan struct{})
	go cs.writeBehind(c, buf)
	return int32(len(buf)), nil
}

// writeBehind writes buf on c, waiting while the peer does not take it;
// closing the socket ends it. A tcp_close or tcp_close_write that came
// meanwhile is done after it.
func (cs *Conns) writeBehind(c *tcpConn, buf []byte) {
	_, err := c.conn.Write(buf)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	a := c.as
	if err != nil && c.err == nil {
		c.err = err
	}
	if a.wclose {
		_ = c.conn.CloseWrite()
	}
	if a.gone && !c.canceled {
		_ = c.conn.Close()
	}
	a.writing = false
	close(a.writeEnd)
}

// CloseWriteAsync is tcp_close_write of version 2, as version 1's; the
// peer reads the end after the bytes the host still writes (or as soon
// as the dial ends).
func (cs *Conns) CloseWriteAsync(owner uint32, h int32) abi.Errno {
	cs.used.Store(true)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, _, e := cs.lookupAsync(owner, h)
	switch {
	case e == abi.EAGAIN:
		c = cs.conns[h]
	case e != 0:
		return e
	}
	if c.wclosed {
		return abi.ECLOSED
	}
	c.wclosed = true
	if c.conn == nil || c.as.writing {
		c.as.wclose = true
		return 0
	}
	if err := c.conn.CloseWrite(); err != nil {
		return abi.EIO
	}
	return 0
}

// CloseAsync is tcp_close of version 2: it releases the handle, also one
// an abort closed; the bytes the host still writes go before the socket
// closes.
func (cs *Conns) CloseAsync(owner uint32, h int32) abi.Errno {
	cs.mu.Lock()
	c := cs.conns[h]
	ok := c != nil && c.as != nil && (c.instance || c.owner == owner)
	cs.mu.Unlock()
	if !ok {
		return abi.EBADHANDLE
	}
	return cs.Close(h)
}

// RemoteAddressAsync is tcp_remote_address of version 2: EAGAIN, with a
// channel, while it dials; the dial's error once it failed.
func (cs *Conns) RemoteAddressAsync(owner uint32, h int32) (string, abi.Errno, <-chan struct{}) {
	cs.used.Store(true)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, wait, e := cs.lookupAsync(owner, h)
	if e != 0 {
		return "", e, wait
	}
	return c.remote, 0, nil
}

// AbortOwner closes the connections of invocation owner at once: their
// calls return ECANCELED until tcp_close releases them or the invocation
// ends (EndOwner). A dial in progress is cancelled.
func (cs *Conns) AbortOwner(owner uint32) {
	if owner == 0 || !cs.used.Load() {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, c := range cs.conns {
		if !c.instance && c.owner == owner && !c.canceled {
			c.canceled = true
			c.shut()
		}
	}
}

// EndOwner closes and releases the connections of invocation owner, which
// has ended; the instance's stay.
func (cs *Conns) EndOwner(owner uint32) {
	if owner == 0 || !cs.used.Load() {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for h, c := range cs.conns {
		if !c.instance && c.owner == owner {
			c.shut()
			delete(cs.conns, h)
		}
	}
}
