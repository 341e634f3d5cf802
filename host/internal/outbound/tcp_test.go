package outbound

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// server is a loopback server that counts its accepts and hands each
// connection to conn.
type server struct {
	ln      net.Listener
	accepts atomic.Int32
}

func newServer(t *testing.T, conn func(net.Conn)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			go func() {
				defer c.Close()
				conn(c)
			}()
		}
	}()
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

// logLines collects the log lines of a Conns.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) log(msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(append([]any{msg}, args...)...))
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func newConns(t *testing.T, allow ...string) (*Conns, *logLines) {
	t.Helper()
	p, err := NewPolicy(allow)
	if err != nil {
		t.Fatal(err)
	}
	l := &logLines{}
	return NewConns(NewClient(p), l.log), l
}

var inv = Scope{Ctx: context.Background(), ID: "iad1::test-1"}

// The policy: by default no loopback, by name or by address, and with an
// allow list only what it names, a pattern without a port meaning 80 and
// 443; a refused destination is EDENIED, logged with the request id, and
// never dialed.
func TestConnectPolicy(t *testing.T) {
	srv := newServer(t, func(net.Conn) {})
	_, port, _ := net.SplitHostPort(srv.addr())
	cs, logs := newConns(t)
	for _, addr := range []string{srv.addr(), "localhost:" + port, "[::1]:" + port, "169.254.169.254:80"} {
		if got := cs.Connect(inv, addr, 0, 1000); got != int32(abi.EDENIED) {
			t.Errorf("default policy, %s: %d, want EDENIED", addr, got)
		}
	}
	if !strings.Contains(logs.String(), "denied") || !strings.Contains(logs.String(), inv.ID) {
		t.Errorf("no log line with the request id:\n%s", logs)
	}

	cs, _ = newConns(t, "127.0.0.1") // 80 and 443 only
	if got := cs.Connect(inv, srv.addr(), 0, 1000); got != int32(abi.EDENIED) {
		t.Errorf("a pattern without a port, port %s: %d, want EDENIED", port, got)
	}
	cs, _ = newConns(t, "127.0.0.1:"+port)
	h := cs.Connect(inv, srv.addr(), 0, 1000)
	if h <= 0 {
		t.Fatalf("an allowed address: %d", h)
	}
	if got, _ := cs.RemoteAddress(h); got != srv.addr() {
		t.Errorf("remote address %q, want %q", got, srv.addr())
	}
	// The server counts a connection when its Accept returns, which may
	// be after the dialer's side is established.
	for end := time.Now().Add(10 * time.Second); srv.accepts.Load() < 1 && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("the server accepted %d connections, want 1 (the allowed one)", n)
	}
	cs.CloseAll()
}

// A malformed address or an unknown flag is EINVAL, before anything.
func TestConnectInvalid(t *testing.T) {
	cs, _ := newConns(t, "*:*")
	for _, addr := range []string{"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http", ":80", "127.0.0.1:+80", "::1:80"} {
		if got := cs.Connect(inv, addr, 0, 1000); got != int32(abi.EINVAL) {
			t.Errorf("%q: %d, want EINVAL", addr, got)
		}
	}
	if got := cs.Connect(inv, "127.0.0.1:80", 2, 1000); got != int32(abi.EINVAL) {
		t.Errorf("flag 2: %d, want EINVAL", got)
	}
}

// Ownership: EndInvocation closes the invocation's connections and keeps
// the instance's (flag 1, or opened outside an invocation); CloseAll
// closes those. The peer sees each close.
func TestConnsOwnership(t *testing.T) {
	eof := make(chan struct{}, 10)
	srv := newServer(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
		eof <- struct{}{}
	})
	cs, _ := newConns(t, srv.addr())
	own := cs.Connect(inv, srv.addr(), 0, 1000)
	pooled := cs.Connect(inv, srv.addr(), abi.TCPInstance, 1000)
	outside := cs.Connect(Scope{Ctx: context.Background()}, srv.addr(), 0, 1000)
	if own <= 0 || pooled <= 0 || outside <= 0 {
		t.Fatalf("connect: %d %d %d", own, pooled, outside)
	}
	cs.EndInvocation()
	waitEOF(t, eof)
	if got := cs.Write(inv, own, []byte("x"), 1000); got != int32(abi.EBADHANDLE) {
		t.Errorf("the ended invocation's connection: %d, want EBADHANDLE", got)
	}
	for _, h := range []int32{pooled, outside} {
		if got := cs.Write(inv, h, []byte("x"), 1000); got != 1 {
			t.Errorf("an instance's connection after the invocation: %d, want 1", got)
		}
	}
	cs.CloseAll()
	waitEOF(t, eof)
	waitEOF(t, eof)
	if cs.Len() != 0 {
		t.Errorf("%d connections after CloseAll", cs.Len())
	}
}

func waitEOF(t *testing.T, eof <-chan struct{}) {
	t.Helper()
	select {
	case <-eof:
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not see the connection close")
	}
}

// An abort closes the invocation's connections (ECANCELED on them) and
// ends a wait on the instance's with ECANCELED, leaving it open; a
// timeout of 0 reads what is there without waiting.
func TestConnsAbortAndTimeouts(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(c net.Conn) {
		<-release
		_, _ = c.Write([]byte("late"))
		_, _ = io.Copy(io.Discard, c)
	})
	defer close(release)
	other := newServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	cs, _ := newConns(t, srv.addr(), other.addr())
	own := cs.Connect(inv, other.addr(), 0, 1000)
	pooled := cs.Connect(inv, srv.addr(), abi.TCPInstance, 1000)
	buf := make([]byte, 16)
	if got := cs.Read(inv, pooled, buf, 0); got != int32(abi.ETIMEDOUT) {
		t.Errorf("read with 0 and nothing there: %d, want ETIMEDOUT", got)
	}
	if got := cs.Read(inv, pooled, buf, 50); got != int32(abi.ETIMEDOUT) {
		t.Errorf("read with 50 ms from a silent server: %d, want ETIMEDOUT", got)
	}
	if got := cs.Read(inv, pooled, nil, 50); got != int32(abi.EINVAL) {
		t.Errorf("read with cap 0: %d, want EINVAL", got)
	}
	done := make(chan int32)
	go func() { done <- cs.Read(inv, pooled, buf, -1) }()
	// Abort until the wait has begun and ended: an abort before it
	// makes the read return ECANCELED at once too.
	var got int32
	for waiting := true; waiting; {
		cs.Abort()
		select {
		case got = <-done:
			waiting = false
		case <-time.After(10 * time.Millisecond):
		}
	}
	if got != int32(abi.ECANCELED) {
		t.Errorf("a wait on the instance's connection at the abort: %d, want ECANCELED", got)
	}
	if got := cs.Write(inv, own, []byte("x"), 1000); got != int32(abi.ECANCELED) {
		t.Errorf("the aborted invocation's connection: %d, want ECANCELED", got)
	}
	if got := cs.Write(inv, pooled, []byte("x"), 0); got != 1 {
		t.Errorf("a write that does not wait on the instance's connection after the abort: %d, want 1", got)
	}
	cs.EndInvocation()
	release <- struct{}{}
	if got := cs.Read(inv, pooled, buf, 5000); got != 4 || string(buf[:4]) != "late" {
		t.Errorf("the instance's connection in the next invocation: %d %q, want 4 late", got, buf[:max(got, 0)])
	}
	cs.CloseAll()
}

// A closed port is ECONNREFUSED; a read past the deadline of the scope
// (the invocation's) is ECANCELED, not ETIMEDOUT.
func TestConnsRefusedAndDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	srv := newServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	cs, _ := newConns(t, closed, srv.addr())
	if got := cs.Connect(inv, closed, 0, 1000); got != int32(abi.ECONNREFUSED) {
		t.Errorf("a closed port: %d, want ECONNREFUSED", got)
	}
	h := cs.Connect(inv, srv.addr(), 0, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if got := cs.Read(Scope{Ctx: ctx, ID: inv.ID}, h, make([]byte, 8), -1); got != int32(abi.ECANCELED) {
		t.Errorf("a read ended by the invocation's deadline: %d, want ECANCELED", got)
	}
	cs.CloseAll()
}
