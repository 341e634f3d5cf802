package host_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/redisserver"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// testdata/fluidtcp serves api/tcp, an ordinary Go function that uses
// wfnnet (go-redis on a client of the instance, raw connections of the
// invocation), which wfn.json's "fluid": true builds for ABI version 2
// (abi/SPEC-v2.md section 8). It allows 127.0.0.1 only, and one
// instance (maxConcurrency 1): on a loaded machine (CI under -race) the
// burst of INCRs below can make its instance count as CPU-busy (abi/SPEC-v2.md
// section 4) and the next request go to a second one, without the client
// whose pool this test reads; placement is host/internal/fluid's tests'.
func TestFluidTCP(t *testing.T) {
	requireGo(t)
	rs := redisserver.StartForTest(t)
	redisAddr := rs.Addr()
	h, srv, logs := serve(t, host.Config{Dir: "../testdata/fluidtcp"})
	call := func(ctx context.Context, q url.Values) (int, string, error) {
		return testkit.Get(ctx, srv.URL+"/api/tcp?"+q.Encode())
	}
	get := func(q url.Values) (int, string) {
		t.Helper()
		code, body, err := call(context.Background(), q)
		if err != nil {
			t.Fatalf("%v: %v", q, err)
		}
		return code, body
	}

	// Many INCRs at once, on one instance, through its one go-redis
	// client (4 connections at most): each answers another count.
	key := fmt.Sprint("fluidtcp-", time.Now().UnixNano())
	const n = 40
	answers := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			code, body, err := call(context.Background(), url.Values{"op": {"incr"}, "redis": {redisAddr}, "key": {key}})
			if err != nil || code != http.StatusOK {
				body = fmt.Sprintf("%d %q %v", code, body, err)
			}
			answers[i] = body
		})
	}
	wg.Wait()
	var counts []int
	instances := map[string]bool{}
	for _, a := range answers {
		count, inst, ok := strings.Cut(a, " ")
		c, err := strconv.Atoi(count)
		if !ok || err != nil {
			t.Fatalf("incr answered %q", a)
		}
		counts = append(counts, c)
		instances[inst] = true
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("the counts are %v, want 1..%d", counts, n)
		}
	}
	if len(instances) != 1 {
		t.Errorf("served by %d instances, want 1: %v", len(instances), instances)
	}
	if _, body := get(url.Values{"op": {"stats"}}); body == "" || body[0] > '4' || body[0] < '1' {
		t.Errorf("the client's pool holds %q connections, want 1..4 (shared by the invocations)", body)
	}

	// A destination the policy refuses: EDENIED, logged, no connection.
	denied := newTCPServer(t, lineServer(false))
	_, port, _ := net.SplitHostPort(denied.addr())
	code, body := get(url.Values{"op": {"dial"}, "addr": {"127.0.0.2:" + port}})
	if code != http.StatusBadGateway || !strings.HasPrefix(body, "EDENIED|") || !strings.Contains(body, "denied=true") {
		t.Errorf("dial of 127.0.0.2 = %d %q, want 502 EDENIED", code, body)
	}
	if a := denied.accepts.Load(); a != 0 {
		t.Errorf("the refused destination accepted %d connections", a)
	}
	if !strings.Contains(logs.String(), "outbound TCP connection denied") {
		t.Errorf("no log line for the refused destination:\n%s", logs)
	}
	// A refused connection: the dial's error, at the dial.
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	if code, body := get(url.Values{"op": {"dial"}, "addr": {closedAddr}}); code != http.StatusBadGateway || !strings.HasPrefix(body, "ECONNREFUSED|") {
		t.Errorf("dial of a closed port = %d %q, want 502 ECONNREFUSED", code, body)
	}

	// Megabytes each way through the host's buffers, three at once.
	echo := newTCPServer(t, func(s *tcpServer, c net.Conn) { io.Copy(c, c) })
	const size = 3 << 20
	var echoes sync.WaitGroup
	for range 3 {
		echoes.Go(func() {
			code, body, err := call(context.Background(), url.Values{"op": {"echo"}, "addr": {echo.addr()}, "n": {itoa(size)}})
			if err != nil || code != http.StatusOK || body != itoa(size) {
				t.Errorf("echo of %d bytes = %d %q %v", size, code, body, err)
			}
		})
	}
	echoes.Wait()

	// An aborted invocation (its client leaves): the host closes its own
	// connection, and the instance's stay.
	hold := newTCPServer(t, lineServer(false))
	ctx, leave := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		call(ctx, url.Values{"op": {"hold"}, "addr": {hold.addr()}})
	}()
	hold.waitLine(t, "hello")
	left := time.Now()
	leave()
	hold.waitLine(t, "EOF")
	t.Logf("the aborted invocation's connection closed %s after its client left", time.Since(left))
	<-done
	if code, body := get(url.Values{"op": {"incr"}, "redis": {redisAddr}, "key": {key}}); code != http.StatusOK || !strings.HasPrefix(body, itoa(n+1)+" ") {
		t.Errorf("incr after the abort = %d %q, want %d", code, body, n+1)
	}

	// Closing the host closes the instance, and with it the client's
	// connections (after AttachDatabasePool's release at EventStop).
	before := redisClients(t, redisAddr)
	if before < 1 {
		t.Fatalf("Redis has %d clients before the close", before)
	}
	h.Close(context.Background())
	eventually(t, "the instance's Redis connections to close", func() bool { return redisClients(t, redisAddr) == 0 })
}

// redisClients is the number of clients Redis at addr has, this one
// excepted.
func redisClients(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "CLIENT LIST\r\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		s := b.String()
		// A bulk string: $len\r\n then len bytes and \r\n.
		if head, rest, ok := strings.Cut(s, "\r\n"); ok && strings.HasPrefix(head, "$") {
			if l, _ := strconv.Atoi(head[1:]); len(rest) >= l {
				return strings.Count(strings.TrimSpace(rest[:l]), "\n")
			}
		}
		if err != nil {
			t.Fatalf("CLIENT LIST: %v (%q)", err, s)
		}
	}
}
