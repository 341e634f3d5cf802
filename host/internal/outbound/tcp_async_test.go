package outbound

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// await waits for ready, with a generous deadline.
func await(t *testing.T, what string, ready <-chan struct{}) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: not ready", what)
	}
}

// until repeats call, waiting on the channel of each EAGAIN, until it
// answers something else.
func until(t *testing.T, what string, call func() (int32, <-chan struct{})) int32 {
	t.Helper()
	for {
		n, ready := call()
		if n != int32(abi.EAGAIN) {
			return n
		}
		if ready == nil {
			t.Fatalf("%s: EAGAIN without a channel", what)
		}
		await(t, what, ready)
	}
}

// Version 2's calls never wait: the dial's outcome comes at the next
// call, a read with nothing in answers EAGAIN and its channel closes when
// bytes are in, a write of more than the socket takes goes through the
// host's buffer, the dial's failure is the next call's answer, and the
// policy's refusal is tcp_connect's, with no connection attempted.
func TestAsyncConns(t *testing.T) {
	echo := newServer(t, func(c net.Conn) { io.Copy(c, c) })
	cs, logs := newConns(t, "127.0.0.1:*")

	h := cs.StartConnect(7, "iad1::a", echo.addr(), 0)
	if h <= 0 {
		t.Fatalf("StartConnect = %d", h)
	}
	if n := until(t, "dial", func() (int32, <-chan struct{}) { return cs.TryWrite(7, h, nil) }); n != 0 {
		t.Fatalf("write of no bytes after the dial = %d", n)
	}
	if addr, e, _ := cs.RemoteAddressAsync(7, h); e != 0 || addr != echo.addr() {
		t.Errorf("remote address %q %v", addr, e)
	}
	// Another invocation does not reach it, nor does the instance.
	for _, owner := range []uint32{8, 0} {
		if n, _ := cs.TryRead(owner, h, make([]byte, 1)); n != int32(abi.EBADHANDLE) {
			t.Errorf("read by owner %d = %d, want EBADHANDLE", owner, n)
		}
	}
	buf := make([]byte, 4096)
	if n, ready := cs.TryRead(7, h, buf); n != int32(abi.EAGAIN) || ready == nil {
		t.Fatalf("read with nothing in = %d, want EAGAIN", n)
	}
	// 4 MB: more than the socket takes at once, while nothing reads the
	// echo, so that the host's buffer holds some.
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18)
	var got []byte
	sent := 0
	for sent < len(want) || len(got) < len(want) {
		if sent < len(want) {
			switch n, _ := cs.TryWrite(7, h, want[sent:]); {
			case n > 0:
				sent += int(n)
			case n == int32(abi.EAGAIN): // the host's buffer is being written
			default:
				t.Fatalf("write = %d", n)
			}
		}
		for len(got) < len(want) {
			n, rready := cs.TryRead(7, h, buf)
			if n == int32(abi.EAGAIN) {
				if sent == len(want) {
					await(t, "read", rready)
				}
				break
			}
			if n <= 0 {
				t.Fatalf("read = %d after %d bytes", n, len(got))
			}
			got = append(got, buf[:n]...)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echoed %d bytes, not the %d sent", len(got), len(want))
	}
	if e := cs.CloseWriteAsync(7, h); e != 0 {
		t.Errorf("close_write = %v", e)
	}
	if n := until(t, "end", func() (int32, <-chan struct{}) { return cs.TryRead(7, h, buf) }); n != 0 {
		t.Errorf("read at the peer's end = %d, want 0", n)
	}
	if e := cs.CloseAsync(7, h); e != 0 || cs.Len() != 0 {
		t.Errorf("close = %v, %d left", e, cs.Len())
	}

	// Refused by the policy: at once, logged, not dialed.
	other := newServer(t, func(net.Conn) {})
	_, oport, _ := net.SplitHostPort(other.addr())
	if h := cs.StartConnect(7, "iad1::a", "127.0.0.2:"+oport, 0); h != int32(abi.EDENIED) {
		t.Errorf("127.0.0.2 = %d, want EDENIED", h)
	}
	if other.accepts.Load() != 0 || !strings.Contains(logs.String(), "denied") {
		t.Errorf("accepts %d, log %q", other.accepts.Load(), logs)
	}
	// A refused connection: the next call's answer.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	h = cs.StartConnect(7, "iad1::a", closed, 0)
	if n := until(t, "refused", func() (int32, <-chan struct{}) { return cs.TryRead(7, h, buf) }); n != int32(abi.ECONNREFUSED) {
		t.Errorf("read after a refused dial = %d, want ECONNREFUSED", n)
	}
	cs.CloseAsync(7, h)
}

// An abort closes the invocation's connections at once (the peer sees
// the end, the calls ECANCELED) and a read waiting on one ends; the
// instance's stay, and the invocation's end releases its handles.
func TestAsyncAbort(t *testing.T) {
	ends := make(chan string, 10)
	srv := newServer(t, func(c net.Conn) {
		b := make([]byte, 1)
		c.Read(b)
		io.Copy(io.Discard, c)
		ends <- string(b)
	})
	cs, _ := newConns(t, "127.0.0.1:*")
	dial := func(owner uint32, flags int32, tag string) int32 {
		h := cs.StartConnect(owner, "", srv.addr(), flags)
		if n := until(t, "dial", func() (int32, <-chan struct{}) { return cs.TryWrite(owner, h, []byte(tag)) }); n != 1 {
			t.Fatalf("write = %d", n)
		}
		return h
	}
	own := dial(3, 0, "o")
	inst := dial(3, abi.TCPInstance, "i")
	n, ready := cs.TryRead(3, own, make([]byte, 1))
	if n != int32(abi.EAGAIN) {
		t.Fatalf("read = %d", n)
	}
	start := time.Now()
	cs.AbortOwner(3)
	if got := <-ends; got != "o" {
		t.Fatalf("the server saw %q end first", got)
	}
	t.Logf("the peer saw the end %s after the abort", time.Since(start))
	await(t, "the read waiting at the abort", ready)
	if n, _ := cs.TryRead(3, own, make([]byte, 1)); n != int32(abi.ECANCELED) {
		t.Errorf("read after the abort = %d, want ECANCELED", n)
	}
	if n, _ := cs.TryWrite(9, inst, []byte("x")); n != 1 {
		t.Errorf("another invocation's write on the instance's = %d", n)
	}
	cs.EndOwner(3)
	if cs.Len() != 1 {
		t.Errorf("%d connections after the end, want the instance's", cs.Len())
	}
	cs.CloseAll()
	if got := <-ends; got != "i" {
		t.Errorf("the server saw %q end", got)
	}
}
