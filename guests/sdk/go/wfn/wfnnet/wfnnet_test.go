package wfnnet_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

var loopback = wfntest.AllowedOutboundHosts("127.0.0.1:*")

// server is a real TCP server on loopback that runs serve for each
// connection.
func server(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				serve(c)
			})
		}
	})
	return ln.Addr().String()
}

// echo writes back what it reads, line by line.
func echo(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, line); err != nil {
			return
		}
	}
}

// invoke runs f as one invocation and fails the test with what it
// returns.
func invoke(t *testing.T, f func(r *wfn.Request) error, opts ...wfntest.Option) {
	t.Helper()
	var err error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) { err = f(r) }),
		httptest.NewRequest("GET", "/", nil), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
}

func TestEcho(t *testing.T) {
	addr := server(t, echo)
	invoke(t, func(r *wfn.Request) error {
		c, err := wfnnet.DialContext(r.Context(), "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if got := c.RemoteAddr().String(); got != addr {
			t.Errorf("RemoteAddr = %s, want %s", got, addr)
		}
		if _, err := io.WriteString(c, "hello\n"); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if line != "hello\n" {
			t.Errorf("read %q, %v", line, err)
		}
		return nil
	}, loopback)
}

// A large write goes through whole, in as many host calls as it takes.
func TestLargeWrite(t *testing.T) {
	const size = 8 << 20
	got := make(chan int64, 1)
	addr := server(t, func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		got <- n
		io.WriteString(c, "ok")
	})
	invoke(t, func(r *wfn.Request) error {
		c, err := wfnnet.DialContext(r.Context(), "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		n, err := c.Write(make([]byte, size))
		if n != size || err != nil {
			return errors.New("write: " + strconv.Itoa(n) + " " + errString(err))
		}
		if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
			return err
		}
		b, err := io.ReadAll(c)
		if string(b) != "ok" || err != nil {
			t.Errorf("reply %q, %v", b, err)
		}
		return nil
	}, loopback)
	if n := <-got; n != size {
		t.Errorf("server read %d bytes, want %d", n, size)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// CloseWrite ends the stream for the peer, which still answers.
func TestCloseWrite(t *testing.T) {
	addr := server(t, func(c net.Conn) {
		b, _ := io.ReadAll(c) // until the client's CloseWrite
		io.WriteString(c, "read "+strconv.Itoa(len(b))+" bytes")
	})
	invoke(t, func(r *wfn.Request) error {
		c, err := wfnnet.DialContext(r.Context(), "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		io.WriteString(c, "12345")
		if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
			return err
		}
		if _, err := io.WriteString(c, "more"); !errors.Is(err, syscall.EPIPE) || !errors.Is(err, abi.ECLOSED) {
			t.Errorf("write after CloseWrite: %v, want EPIPE and ECLOSED", err)
		}
		b, err := io.ReadAll(c)
		if string(b) != "read 5 bytes" || err != nil {
			t.Errorf("reply %q, %v", b, err)
		}
		return nil
	}, loopback)
}

func TestRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	invoke(t, func(r *wfn.Request) error {
		_, err := wfnnet.DialContext(r.Context(), "tcp", addr)
		if !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, abi.ECONNREFUSED) {
			t.Errorf("dial a closed port: %v, want ECONNREFUSED", err)
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			t.Errorf("dial error %#v is no dial *net.OpError", err)
		}
		return nil
	}, loopback)
}

// Without allowedOutboundHosts, loopback is refused before any
// connection is attempted.
func TestDenied(t *testing.T) {
	accepted := make(chan struct{}, 1)
	addr := server(t, func(net.Conn) { accepted <- struct{}{} })
	invoke(t, func(r *wfn.Request) error {
		for _, a := range []string{addr, "localhost:" + strings.Split(addr, ":")[1]} {
			_, err := wfnnet.DialContext(r.Context(), "tcp", a)
			if !errors.Is(err, abi.EDENIED) || !strings.Contains(err.Error(), "allowedOutboundHosts") {
				t.Errorf("dial %s: %v, want EDENIED naming allowedOutboundHosts", a, err)
			}
		}
		return nil
	})
	select {
	case <-accepted:
		t.Error("a denied destination was connected to")
	default:
	}
}

func TestBadAddress(t *testing.T) {
	invoke(t, func(r *wfn.Request) error {
		for _, a := range []string{"no-port", "127.0.0.1:0", "127.0.0.1:70000", "::1:80"} {
			if c, err := wfnnet.DialContext(r.Context(), "tcp", a); err == nil {
				c.Close()
				t.Errorf("dial %q succeeded", a)
			}
		}
		if _, err := wfnnet.DialContext(r.Context(), "udp", "127.0.0.1:53"); err == nil || !strings.Contains(err.Error(), "udp") {
			t.Errorf("dial udp: %v", err)
		}
		return nil
	}, loopback)
}

// A read that gets nothing before its deadline fails with a timeout; the
// connection stays usable.
func TestReadDeadline(t *testing.T) {
	release := make(chan struct{})
	addr := server(t, func(c net.Conn) {
		<-release
		io.WriteString(c, "late\n")
		io.Copy(io.Discard, c)
	})
	invoke(t, func(r *wfn.Request) error {
		c, err := wfnnet.DialContext(r.Context(), "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		buf := make([]byte, 16)
		_, err = c.Read(buf)
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, abi.ETIMEDOUT) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("read past the deadline: %v, want a timeout", err)
		}
		close(release)
		c.SetReadDeadline(time.Time{})
		n, err := c.Read(buf)
		if string(buf[:n]) != "late\n" {
			t.Errorf("read after the timeout: %q, %v", buf[:n], err)
		}
		return nil
	}, loopback)
}

// A deadline in the past fails reads and writes at once, as net.Conn
// promises.
func TestPastDeadline(t *testing.T) {
	addr := server(t, echo)
	invoke(t, func(r *wfn.Request) error {
		c, err := wfnnet.DialContext(r.Context(), "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(-time.Second))
		if _, err := c.Write([]byte("x\n")); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("write: %v", err)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read: %v", err)
		}
		c.SetDeadline(time.Time{})
		io.WriteString(c, "again\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		if line != "again\n" {
			t.Errorf("after clearing the deadline: %q, %v", line, err)
		}
		return nil
	}, loopback)
}

// A deadline set from another goroutine ends a read already waiting, as
// a driver's context watcher does; so does Close.
func TestDeadlineFromAnotherGoroutine(t *testing.T) {
	addr := server(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	invoke(t, func(r *wfn.Request) error {
		for _, stop := range []func(net.Conn){
			func(c net.Conn) { c.SetReadDeadline(time.Now()) },
			func(c net.Conn) { c.Close() },
		} {
			c, err := wfnnet.DialContext(r.Context(), "tcp", addr)
			if err != nil {
				return err
			}
			done := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 1))
				done <- err
			}()
			stop(c)
			select {
			case err := <-done:
				if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) {
					t.Errorf("read ended with %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the read did not end")
			}
			c.Close()
		}
		return nil
	}, loopback)
}

// A dial whose context is done fails at once.
func TestDialContextDone(t *testing.T) {
	addr := server(t, echo)
	invoke(t, func(r *wfn.Request) error {
		ctx, cancel := context.WithCancel(r.Context())
		cancel()
		if _, err := wfnnet.DialContext(ctx, "tcp", addr); !errors.Is(err, context.Canceled) {
			t.Errorf("dial with a canceled context: %v", err)
		}
		ctx, cancel = context.WithDeadline(r.Context(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := wfnnet.DialContext(ctx, "tcp", addr)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("dial past its deadline: %v, want a timeout", err)
		}
		return nil
	}, loopback)
}

// peerClosed waits until the server side of c reads the end of the
// stream.
func peerClosed(t *testing.T, closed <-chan struct{}) {
	t.Helper()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection was not closed")
	}
}

// An invocation's connection is closed when it ends; the instance's
// lives on, for the next invocation.
func TestOwnership(t *testing.T) {
	ends := make(chan struct{}, 2)
	addr := server(t, func(c net.Conn) {
		echo(c)
		ends <- struct{}{}
	})
	var mine, pooled net.Conn
	invoke(t, func(r *wfn.Request) error {
		var err error
		if mine, err = wfnnet.DialContext(r.Context(), "tcp", addr); err != nil {
			return err
		}
		pooled, err = wfnnet.PoolDialContext(r.Context(), "tcp", addr)
		return err
	}, loopback)
	defer pooled.Close()
	peerClosed(t, ends)
	invoke(t, func(r *wfn.Request) error {
		_, err := io.WriteString(mine, "x\n")
		if !errors.Is(err, net.ErrClosed) || !strings.Contains(err.Error(), "PoolDialContext") {
			t.Errorf("write on the last invocation's connection: %v, want net.ErrClosed naming PoolDialContext", err)
		}
		if err := mine.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		io.WriteString(pooled, "still here\n")
		line, err := bufio.NewReader(pooled).ReadString('\n')
		if line != "still here\n" {
			t.Errorf("the instance's connection: %q, %v", line, err)
		}
		return nil
	}, loopback)
	select {
	case <-ends:
		t.Error("the instance's connection was closed")
	default:
	}
}

// An aborted invocation's connections close, and a read waiting on one
// ends with ECANCELED.
func TestAbort(t *testing.T) {
	addr := server(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithCancel(context.Background())
	dialed := make(chan struct{})
	var readErr error
	go func() {
		<-dialed
		cancel()
	}()
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		c, err := wfnnet.DialContext(r.Context(), "tcp", addr)
		if err != nil {
			readErr = err
			close(dialed)
			return
		}
		close(dialed)
		_, readErr = c.Read(make([]byte, 1))
	}), httptest.NewRequest("GET", "/", nil).WithContext(ctx), nil, loopback)
	if !errors.Is(readErr, abi.ECANCELED) {
		t.Errorf("read when aborted: %v, want ECANCELED", readErr)
	}
}

// The instance holds at most abi.MaxTCPConns connections.
func TestLimit(t *testing.T) {
	addr := server(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	invoke(t, func(r *wfn.Request) error {
		for range abi.MaxTCPConns {
			c, err := wfnnet.PoolDialContext(r.Context(), "tcp", addr)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		_, err := wfnnet.DialContext(r.Context(), "tcp", addr)
		if !errors.Is(err, abi.ETOOLARGE) || !strings.Contains(err.Error(), "64") {
			t.Errorf("dial past the limit: %v, want ETOOLARGE naming 64", err)
		}
		return nil
	}, loopback)
	conns[0].Close()
	conns = conns[1:]
	invoke(t, func(r *wfn.Request) error {
		c, err := wfnnet.DialContext(r.Context(), "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}, loopback)
}

// Outside an invocation (init, a test's setup) a dial belongs to the
// instance.
func TestDialOutsideInvocation(t *testing.T) {
	addr := server(t, echo)
	// The policy is the last invocation's.
	invoke(t, func(*wfn.Request) error { return nil }, loopback)
	c, err := wfnnet.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	invoke(t, func(*wfn.Request) error { return nil }, loopback)
	io.WriteString(c, "outside\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if line != "outside\n" {
		t.Errorf("read %q, %v", line, err)
	}
}

// A read waiting on the instance's connection when the invocation is
// aborted ends with ECANCELED (so does one that begins after the abort),
// and the connection stays open.
func TestAbortInstanceConnection(t *testing.T) {
	addr := server(t, echo)
	ctx, cancel := context.WithCancel(context.Background())
	dialed := make(chan struct{})
	go func() {
		<-dialed
		cancel()
	}()
	var pooled net.Conn
	var readErr error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		var err error
		if pooled, err = wfnnet.PoolDialContext(context.Background(), "tcp", addr); err != nil {
			readErr = err
			close(dialed)
			return
		}
		close(dialed)
		_, readErr = pooled.Read(make([]byte, 1))
	}), httptest.NewRequest("GET", "/", nil).WithContext(ctx), nil, loopback)
	if pooled == nil {
		t.Fatal(readErr)
	}
	defer pooled.Close()
	if !errors.Is(readErr, abi.ECANCELED) || errors.Is(readErr, net.ErrClosed) {
		t.Errorf("read when aborted: %v, want ECANCELED, not closed", readErr)
	}
	invoke(t, func(*wfn.Request) error {
		io.WriteString(pooled, "kept\n")
		line, err := bufio.NewReader(pooled).ReadString('\n')
		if line != "kept\n" {
			t.Errorf("the instance's connection after the abort: %q, %v", line, err)
		}
		return nil
	}, loopback)
}

// A dial after the abort (the handler's cleanup) runs as any other.
func TestDialAfterAbort(t *testing.T) {
	addr := server(t, echo)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var dialErr error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		<-r.Context().Done()
		c, err := wfnnet.DialContext(context.Background(), "tcp", addr)
		if err == nil {
			io.WriteString(c, "cleanup\n")
			_, err = bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
		dialErr = err
	}), httptest.NewRequest("GET", "/", nil).WithContext(ctx), nil, loopback)
	if dialErr != nil {
		t.Errorf("dial after the abort: %v", dialErr)
	}
}
