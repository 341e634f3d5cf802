package cli_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/testkit"
)

// rawConn is one client connection, so that a test knows which
// connection each request uses.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{c, bufio.NewReader(c)}
}

// send writes a keep-alive GET request.
func (c *rawConn) send(t testing.TB, path string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(deadline))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: wfn.test\r\n\r\n", path); err != nil {
		t.Fatalf("sending GET %s: %v", path, err)
	}
}

// response reads one response whole.
func (c *rawConn) response(t testing.TB) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(deadline))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp.StatusCode, string(b)
}

func (c *rawConn) get(t testing.TB, path string) (int, string) {
	t.Helper()
	c.send(t, path)
	return c.response(t)
}

// closed reports whether the server has closed the connection, without
// waiting for it.
func (c *rawConn) closed(t testing.TB) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := c.r.ReadByte()
	var ne net.Error
	if err == nil {
		t.Fatal("the server sent bytes no request asked for")
	}
	return !(errors.As(err, &ne) && ne.Timeout())
}

// At the cap, idle keep-alive connections make room for new ones. (The
// longest idle goes first, but the server learns that a connection is
// idle a moment after the client has its response, so which ones go is
// not checked here.)
func TestMaxConnectionsClosesIdleFirst(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--max-connections", "4", watDir(t, "hello"))
	var conns []*rawConn
	for i := range 6 {
		c := dialRaw(t, s.addr)
		if status, body := c.get(t, "/api/hello"); status != 200 || body != "Hello from wfn!" {
			t.Fatalf("connection %d: GET /api/hello = %d %q", i, status, body)
		}
		conns = append(conns, c)
	}
	// Six connections were served one after the other under a cap of
	// four, each kept alive: the server closes idle ones until at most
	// three stay open, leaving room for the next.
	var open []int
	waitFor(t, "the server to close idle connections down to 3", func() bool {
		open = open[:0]
		for i, c := range conns {
			if !c.closed(t) {
				open = append(open, i)
			}
		}
		return len(open) == 3
	})
	for _, i := range open {
		if status, _ := conns[i].get(t, "/api/hello"); status != 200 {
			t.Errorf("connection %d: a second request = %d, want 200 on the same connection", i, status)
		}
	}
}

// At the cap with every connection busy, a new connection waits in the
// listen backlog, not accepted, and is served as soon as one ends.
func TestMaxConnectionsBusyWaitInBacklog(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--max-connections", "4", watDir(t, "hello", "hold"))
	port, err := strconv.Atoi(s.addr[strings.LastIndexByte(s.addr, ':')+1:])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := acceptQueue(t, port); !ok {
		if os.Getenv("CI") == "true" {
			t.Fatal("the listen backlog is read from /proc/net/tcp, which is missing")
		}
		t.Skip("skipping: the listen backlog is read from /proc/net/tcp (Linux)")
	}
	var held []*held
	for range 4 {
		held = append(held, hold(t, s.addr))
	}
	waitFor(t, "the log to say the cap is reached", func() bool {
		return strings.Contains(s.stderr.String(), "connection cap reached")
	})
	c := dialRaw(t, s.addr) // the kernel completes the handshake
	c.send(t, "/api/hello")
	waitFor(t, "the fifth connection to wait in the listen backlog", func() bool {
		n, _ := acceptQueue(t, port)
		return n == 1
	})
	if body, err := held[0].release(t); err != nil || body != "done" {
		t.Fatalf("held request = %q, %v; want done", body, err)
	}
	if status, body := c.response(t); status != 200 || body != "Hello from wfn!" {
		t.Errorf("the waiting connection got %d %q, want the hello response", status, body)
	}
	if n, _ := acceptQueue(t, port); n != 0 {
		t.Errorf("listen backlog = %d after the wait, want 0", n)
	}
	for _, h := range held[1:] {
		if body, err := h.release(t); err != nil || body != "done" {
			t.Errorf("held request = %q, %v; want done", body, err)
		}
	}
}

func TestMaxConnectionsFlag(t *testing.T) {
	if _, _, err := run(t, "serve", "--listen", "127.0.0.1:0", "--max-connections", "-1", watDir(t, "hello")); err == nil || !strings.Contains(err.Error(), "--max-connections") {
		t.Errorf("--max-connections -1 = %v, want an error naming the flag", err)
	}
	// --max-connections 0 lifts the cap.
	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--max-connections", "0", watDir(t, "hello"))
	checkServing(t, s.addr)
}

// acceptQueue is the number of connections waiting to be accepted on the
// IPv4 loopback listener of port: for a listening socket, /proc/net/tcp's
// rx_queue is its accept queue. ok is false without /proc/net/tcp.
func acceptQueue(t testing.TB, port int) (n int, ok bool) {
	t.Helper()
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, false
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		// sl local_address rem_address st tx_queue:rx_queue ...; 0A is LISTEN.
		if len(f) < 5 || f[1] != local || f[3] != "0A" {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		q, err := strconv.ParseInt(rx, 16, 64)
		if err != nil {
			t.Fatalf("/proc/net/tcp: %q: %v", line, err)
		}
		return int(q), true
	}
	t.Fatalf("/proc/net/tcp has no listener on 127.0.0.1:%d", port)
	return 0, false
}

// waitFor polls cond until it holds, or fails the test at the deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, deadline, what, cond)
}

// BenchmarkMaxConnections serves /api/hello (WAT) through wfn serve with
// and without the connection cap, over keep-alive connections and with a
// new connection per request: the cap's cost is its bookkeeping on every
// connection state change.
func BenchmarkMaxConnections(b *testing.B) {
	for _, reuse := range []bool{true, false} {
		for _, limit := range []string{"0", "10000"} {
			name := "keepalive"
			if !reuse {
				name = "newconn"
			}
			b.Run(name+"/max="+limit, func(b *testing.B) {
				s := startServe(b, "--listen", "127.0.0.1:0", "--cache-dir", b.TempDir(), "--log-level", "error", "--max-connections", limit, watDir(b, "hello"))
				client := &http.Client{Transport: &http.Transport{DisableKeepAlives: !reuse, MaxIdleConnsPerHost: 64}}
				defer client.CloseIdleConnections()
				url := "http://" + s.addr + "/api/hello"
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Get(url)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
			})
		}
	}
}
