package host_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// tcpServer is a loopback TCP server of the outbound TCP tests. It counts
// the connections it accepts and reports each line it reads, and "EOF"
// when a connection ends, on lines; reply, when set, answers a line.
type tcpServer struct {
	ln      net.Listener
	accepts atomic.Int32
	lines   chan string
}

func newTCPServer(t *testing.T, conn func(s *tcpServer, c net.Conn)) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpServer{ln: ln, lines: make(chan string, 1000)}
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
				conn(s, c)
			}()
		}
	}()
	return s
}

func (s *tcpServer) addr() string { return s.ln.Addr().String() }

// lineServer reports every line, and answers "pong" to "ping" when reply.
func lineServer(reply bool) func(s *tcpServer, c net.Conn) {
	return answerLines(func(c net.Conn, line string) error {
		if reply && line == "ping" {
			_, err := io.WriteString(c, "pong\n")
			return err
		}
		return nil
	})
}

// answerLines reports every line the peer sends, and "EOF" when the
// connection ends, and hands each line to answer: an error from it ends
// the connection.
func answerLines(answer func(c net.Conn, line string) error) func(s *tcpServer, c net.Conn) {
	return func(s *tcpServer, c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				s.lines <- "EOF"
				return
			}
			line = strings.TrimSuffix(line, "\n")
			s.lines <- line
			if answer(c, line) != nil {
				return
			}
		}
	}
}

// waitLine waits for the server to report want, skipping other lines,
// with a generous deadline.
func (s *tcpServer) waitLine(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case got := <-s.lines:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("the server at %s did not see %q", s.addr(), want)
		}
	}
}

// tcpDir serves testdata/c/tcp as api/tcp (the servers allowed,
// supportsCancellation) and as api/slow (maxDuration 1 s).
func tcpDir(t testing.TB, allowed ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"tcp", "slow"} {
		if err := os.MkdirAll(filepath.Join(dir, "api", name), 0o755); err != nil {
			t.Fatal(err)
		}
		mustCopy(t, "../testdata/c/tcp/tcp.c", filepath.Join(dir, "api", name, "tcp.c"))
	}
	cfg, _ := json.Marshal(map[string]any{"functions": map[string]any{
		"api/tcp":  map[string]any{"allowedOutboundHosts": allowed, "supportsCancellation": true},
		"api/slow": map[string]any{"allowedOutboundHosts": allowed, "maxDuration": 1},
	}})
	if err := os.WriteFile(filepath.Join(dir, "vercel.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Outbound TCP through a C guest (abi/SPEC.md section 5c): the round
// trip, the errors, the policy, who owns a connection and when the host
// closes it, and the limit of 64.
func TestTCP(t *testing.T) {
	requireClang(t)
	echo := newTCPServer(t, func(s *tcpServer, c net.Conn) {
		b, err := io.ReadAll(c)
		if err == nil {
			_, _ = c.Write(append([]byte("echo: "), b...))
		}
	})
	silent := newTCPServer(t, func(s *tcpServer, c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	held := newTCPServer(t, lineServer(false))
	pool := newTCPServer(t, lineServer(true))
	denied := newTCPServer(t, func(s *tcpServer, c net.Conn) {})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	dir := tcpDir(t, echo.addr(), silent.addr(), held.addr(), pool.addr(), refused)
	h, srv, logs := serve(t, host.Config{Dir: dir})
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	op := func(op, addr string) response {
		t.Helper()
		return get(t, srv.URL+"/api/tcp?op="+op+"&addr="+addr)
	}

	t.Run("round trip", func(t *testing.T) {
		if r := op("echo", echo.addr()); r.body != "echo: hello" {
			t.Errorf("echo = %d %q, want %q", r.status, r.body, "echo: hello")
		}
	})
	t.Run("refused", func(t *testing.T) {
		if r := op("connect", refused); r.body != "ECONNREFUSED" {
			t.Errorf("a closed port = %q, want ECONNREFUSED", r.body)
		}
	})
	t.Run("silent", func(t *testing.T) {
		if r := op("silent", silent.addr()); r.body != "ETIMEDOUT" {
			t.Errorf("a read of 100 ms from a silent server = %q, want ETIMEDOUT", r.body)
		}
	})
	t.Run("denied", func(t *testing.T) {
		r := op("connect", denied.addr())
		if r.body != "EDENIED" {
			t.Errorf("an address off the allow list = %q, want EDENIED", r.body)
		}
		if n := denied.accepts.Load(); n != 0 {
			t.Errorf("the denied server accepted %d connections, want none", n)
		}
		id := r.header.Get(host.HeaderRequestID)
		if !strings.Contains(logs.String(), "outbound TCP connection denied") || !strings.Contains(logs.String(), id) {
			t.Errorf("no log line of the denied connection with the request id %s", id)
		}
	})
	t.Run("limit", func(t *testing.T) {
		// Before the pool below keeps a connection on the instance.
		if r := op("many", echo.addr()); r.body != "64 ETOOLARGE" {
			t.Errorf("connections until one fails = %q, want 64 ETOOLARGE", r.body)
		}
		if !strings.Contains(logs.String(), "the instance holds the most connections") {
			t.Error("no log line at the limit")
		}
	})
	t.Run("abort", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/tcp?op=hold&addr="+held.addr(), nil)
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		held.waitLine(t, "held")
		cancel()
		held.waitLine(t, "EOF") // the host closed the aborted invocation's connection
	})
	t.Run("deadline", func(t *testing.T) {
		if r := get(t, srv.URL+"/api/slow?op=hold&addr="+held.addr()); r.status != http.StatusGatewayTimeout {
			t.Errorf("a guest waiting past maxDuration = %d, want 504", r.status)
		}
		held.waitLine(t, "held")
		held.waitLine(t, "EOF")
	})
	t.Run("pool", func(t *testing.T) {
		before := pool.accepts.Load()
		for i := range 3 {
			if r := op("pool", pool.addr()); r.body != "pong\n" {
				t.Fatalf("request %d through the instance's connection = %d %q", i, r.status, r.body)
			}
		}
		if n := pool.accepts.Load() - before; n != 1 {
			t.Errorf("three invocations on one instance made %d connections, want 1 (kept by the instance)", n)
		}
	})
	t.Run("close", func(t *testing.T) {
		// The instance goes with the host: wfn_on_suspend says goodbye on
		// the instance's connection first.
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Fatal(err)
		}
		pool.waitLine(t, "bye")
		pool.waitLine(t, "EOF")
	})
}

// pooled has the instance that serves fn (api/tcp, api/slow) open its
// pooled connection to the server, with the query's extra parameters,
// and waits for the server to read the guest's ping.
func pooled(t *testing.T, url, fn string, pool *tcpServer, extra string) {
	t.Helper()
	if r := get(t, url+"/api/"+fn+"?op=pool&addr="+pool.addr()+extra); r.body != "pong\n" {
		t.Fatalf("%s: pool = %d %q", fn, r.status, r.body)
	}
	pool.waitLine(t, "ping")
}

// serveTCP serves tcpDir with cfg, its outbound TCP allowed to pool,
// and fails when a function does not load.
func serveTCP(t *testing.T, cfg host.Config, pool *tcpServer) (*host.Host, string) {
	t.Helper()
	cfg.Dir = tcpDir(t, pool.addr())
	h, srv, _ := serve(t, cfg)
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	return h, srv.URL
}

// An idle instance is suspended after Config.SuspendAfter: the host calls
// wfn_on_suspend once in the idle period, while no request can take the
// instance, and the guest closes its pool's connection there. With one
// instance at most, the request after it waits for that instance.
func TestTCPSuspend(t *testing.T) {
	requireClang(t)
	pool := newTCPServer(t, lineServer(true))
	h, url := serveTCP(t, host.Config{SuspendAfter: 50 * time.Millisecond, MaxInstancesPerFunction: 1}, pool)
	pooled(t, url, "tcp", pool, "")
	pool.waitLine(t, "bye")
	pool.waitLine(t, "EOF")
	if r := get(t, url+"/api/tcp?op=suspends"); r.body != "1" {
		t.Errorf("wfn_on_suspend calls = %q, want 1 (once per idle period)", r.body)
	}
	if err := h.Close(context.Background()); err != nil && !errors.Is(err, host.ErrClosed) {
		t.Error(err)
	}
}

// A request that comes while the only idle instance is in its
// wfn_on_suspend call waits for the call to end and is served by that
// instance, though the host may start others: suspension costs no cold
// start. The guest's wfn_on_suspend (hold=1) waits for the server's
// answer to its goodbye, which the server sends once the request waits.
func TestTCPSuspendKeepsInstance(t *testing.T) {
	requireClang(t)
	pool, letGo := newHoldServer(t)
	h, url := serveTCP(t, host.Config{SuspendAfter: 50 * time.Millisecond}, pool)
	pooled(t, url, "tcp", pool, "&hold=1")
	pool.waitLine(t, "bye") // in wfn_on_suspend, waiting for release
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/api/tcp?op=suspends")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	stats := func() host.FunctionStats {
		for _, fs := range h.Stats().Functions {
			if fs.Route == "/api/tcp" {
				return fs
			}
		}
		t.Fatal("no stats for /api/tcp")
		return host.FunctionStats{}
	}
	deadline := time.Now().Add(30 * time.Second)
	for stats().Queued != 1 {
		select {
		case body := <-got:
			t.Fatalf("the request during wfn_on_suspend was served at once (wfn_on_suspend calls %q): another instance", body)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the request to wait for the suspended instance")
		}
		time.Sleep(time.Millisecond)
	}
	letGo()
	if body := <-got; body != "1" {
		t.Errorf("wfn_on_suspend calls on the instance that served the request = %q, want 1 (the suspended instance)", body)
	}
	if fs := stats(); fs.ColdStarts != 1 {
		t.Errorf("cold starts = %d, want 1", fs.ColdStarts)
	}
}

// newHoldServer starts a server that answers "pong" to "ping" and, to
// "bye", "go" once letGo is called (at the latest when the test ends),
// reading on meanwhile (an EOF is reported at once).
func newHoldServer(t *testing.T) (pool *tcpServer, letGo func()) {
	release := make(chan struct{})
	letGo = sync.OnceFunc(func() { close(release) })
	t.Cleanup(letGo)
	return newTCPServer(t, holdServer(release)), letGo
}

func holdServer(release <-chan struct{}) func(s *tcpServer, c net.Conn) {
	return answerLines(func(c net.Conn, line string) error {
		switch line {
		case "ping":
			_, err := io.WriteString(c, "pong\n")
			return err
		case "bye":
			go func() {
				<-release
				_, _ = io.WriteString(c, "go\n")
			}()
		}
		return nil
	})
}

// The host's Close closes the idle instances of its functions together:
// the wfn_on_suspend of each function's instance (hold=1: it waits for
// the server's answer, up to its 500 ms) runs while the other's does, so
// the server hears both goodbyes before either connection ends.
func TestShutdownSuspendsConcurrently(t *testing.T) {
	requireClang(t)
	pool, letGo := newHoldServer(t)
	h, url := serveTCP(t, host.Config{}, pool)
	for _, fn := range []string{"tcp", "slow"} {
		pooled(t, url, fn, pool, "&hold=1")
	}
	closed := make(chan error, 1)
	go func() { closed <- h.Close(context.Background()) }()
	for range 2 {
		select {
		case line := <-pool.lines:
			if line != "bye" {
				t.Fatalf("server read %q before both goodbyes: one wfn_on_suspend after the other", line)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("timed out waiting for the goodbyes")
		}
	}
	letGo()
	if err := <-closed; err != nil {
		t.Error(err)
	}
}

// A connection opened in wfn_init belongs to the instance and serves its
// invocations; an instance holding one when its initialisation returns is
// not snapshotted, so every fresh instance (one per invocation here)
// runs wfn_init and dials its own.
func TestTCPInit(t *testing.T) {
	requireClang(t)
	srv := newTCPServer(t, lineServer(true))
	h, hs, _ := serve(t, host.Config{Dir: tcpDir(t, srv.addr()), Isolation: host.IsolationInvocation,
		Env: map[string]string{"TCP_INIT_ADDR": srv.addr()}})
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	before := srv.accepts.Load() // the reserve, if any, initialised too
	for i := range 3 {
		if r := get(t, hs.URL+"/api/tcp?op=init"); r.body != "pong\n" {
			t.Fatalf("request %d on wfn_init's connection = %d %q, want pong (a snapshot copies a handle, not a connection)", i, r.status, r.body)
		}
	}
	if n := srv.accepts.Load() - before; n < 3 {
		t.Errorf("three fresh instances dialed %d connections in wfn_init, want 3 or more", n)
	}
}

// An abort ends a wait on one of the instance's connections with
// ECANCELED and leaves the connection open: the next invocation on the
// instance (the only one) uses it.
func TestTCPAbortInstanceConn(t *testing.T) {
	requireClang(t)
	pool := newTCPServer(t, lineServer(true))
	h, srv, _ := serve(t, host.Config{Dir: tcpDir(t, pool.addr()), MaxInstancesPerFunction: 1})
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/tcp?op=poolwait&addr="+pool.addr(), nil)
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	pool.waitLine(t, "waiting")
	cancel()
	pool.waitLine(t, "ended ECANCELED")
	if r := get(t, srv.URL+"/api/tcp?op=pool&addr="+pool.addr()); r.body != "pong\n" {
		t.Errorf("the next invocation on the instance's connection = %d %q, want pong", r.status, r.body)
	}
	if n := pool.accepts.Load(); n != 1 {
		t.Errorf("the server accepted %d connections, want 1 (the instance's, kept through the abort)", n)
	}
}
