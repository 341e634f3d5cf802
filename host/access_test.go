package host_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// TestAccessLog checks the access log's fields, in JSON, and that
// Config.OnAccess gets the same entries.
func TestAccessLog(t *testing.T) {
	logs := &syncBuffer{}
	var mu sync.Mutex
	var entries []host.AccessEntry
	_, srv, _ := serve(t, host.Config{
		Dir:       watDir(t, "hello", "cdn", "kv"),
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
		AccessLog: true,
		OnAccess: func(e host.AccessEntry) {
			mu.Lock()
			entries = append(entries, e)
			mu.Unlock()
		},
	})
	get(t, srv.URL+"/api/hello?secret=1")
	get(t, srv.URL+"/api/hello")
	get(t, srv.URL+"/api/cdn")
	get(t, srv.URL+"/api/cdn")
	get(t, srv.URL+"/api/nope")
	kv := get(t, srv.URL+"/api/kv")

	type line struct {
		Level, Msg, Method, Path, Fn, ID, Cache string
		Status                                  int
		Bytes                                   int64
		DurationMS                              *float64 `json:"duration_ms"`
		Fresh                                   *bool
		Stream                                  string
	}
	var access []line
	var guest line
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		switch {
		case x.Msg == "request":
			access = append(access, x)
		case x.Msg == "kv ran":
			guest = x
		}
	}
	want := []struct {
		path   string
		status int
		bytes  int64
		fn     string
		fresh  bool
		cache  string
	}{
		{"/api/hello", 200, 15, "api/hello.wasm", true, "MISS"},
		{"/api/hello", 200, 15, "api/hello.wasm", false, "MISS"},
		{"/api/cdn", 200, 1, "api/cdn.wasm", true, "MISS"},
		{"/api/cdn", 200, 1, "api/cdn.wasm", false, "HIT"},
		{"/api/nope", 404, 0, "", false, ""}, // the error page's size is errors.go's
		{"/api/kv", 200, 1, "api/kv.wasm", true, "MISS"},
	}
	if len(access) != len(want) {
		t.Fatalf("%d access lines, want %d:\n%s", len(access), len(want), logs)
	}
	for i, w := range want {
		a := access[i]
		if a.Level != "INFO" || a.Method != "GET" || a.Path != w.path || a.Status != w.status || a.Fn != w.fn ||
			a.Fresh == nil || *a.Fresh != w.fresh || a.Cache != w.cache || a.DurationMS == nil || *a.DurationMS <= 0 ||
			!strings.HasPrefix(a.ID, "dev1::") {
			t.Errorf("access line %d = %+v, want %+v", i, a, w)
		}
		if w.bytes != 0 && a.Bytes != w.bytes || a.Bytes <= 0 {
			t.Errorf("access line %d: bytes %d, want %d", i, a.Bytes, w.bytes)
		}
	}
	if access[5].ID != kv.header.Get(host.HeaderRequestID) || guest.ID != access[5].ID || guest.Fn != "api/kv.wasm" || guest.Stream != "stdout" {
		t.Errorf("the guest's line %+v and the access line %+v, want the request id %s", guest, access[5], kv.header.Get(host.HeaderRequestID))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(entries) != len(want) {
		t.Fatalf("OnAccess got %d entries, want %d", len(entries), len(want))
	}
	for i, e := range entries {
		a := access[i]
		if e.ID != a.ID || e.Path != a.Path || e.Status != a.Status || e.Function != a.Fn || e.Bytes != a.Bytes || e.Cache != a.Cache || e.Fresh != *a.Fresh {
			t.Errorf("entry %d = %+v, access line %+v", i, e, a)
		}
	}
}

// accessLines are the access log's lines in logs (JSON), each as its
// fields.
func accessLines(t testing.TB, logs *syncBuffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var x map[string]any
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if x["msg"] == "request" {
			lines = append(lines, x)
		}
	}
	return lines
}

// The access log's client is the address the function gets (ipAddress,
// x-real-ip): the socket's peer, whatever forwarding headers a client
// sends, and behind a trusted proxy the client the proxy names. It was
// not logged at all, so no line said who sent a request.
func TestAccessLogClient(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, c := range []struct {
		name    string
		proxies []netip.Prefix
		header  []string
		want    string
	}{
		{"a client", nil, nil, "127.0.0.1"},
		{"a client's own x-real-ip", nil, []string{"X-Real-Ip", "203.0.113.7"}, "127.0.0.1"},
		{"a client's own x-forwarded-for", nil, []string{"X-Forwarded-For", "203.0.113.7"}, "127.0.0.1"},
		{"a trusted proxy's x-real-ip", loopback, []string{"X-Real-Ip", "203.0.113.7"}, "203.0.113.7"},
		{"a trusted proxy's x-forwarded-for", loopback, []string{"X-Forwarded-For", "198.51.100.2, 10.0.0.1"}, "198.51.100.2"},
		{"a trusted proxy's IPv4-mapped x-real-ip", loopback, []string{"X-Real-Ip", "::ffff:203.0.113.7"}, "203.0.113.7"},
		{"a trusted proxy's IPv6 x-real-ip", loopback, []string{"X-Real-Ip", "2001:db8::1"}, "2001:db8::1"},
		{"a trusted proxy naming no one", loopback, nil, "127.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := &syncBuffer{}
			entries := make(chan host.AccessEntry, 1)
			_, srv, _ := serve(t, host.Config{
				Dir:            watDir(t, "ctx"),
				Logger:         slog.New(slog.NewJSONHandler(logs, nil)),
				AccessLog:      true,
				TrustedProxies: c.proxies,
				OnAccess:       func(e host.AccessEntry) { entries <- e },
			})
			r := do(t, "GET", srv.URL+"/api/ctx", nil, c.header...)
			guest, _, _ := strings.Cut(r.body, "\n") // the ip_address import's value
			if r.status != 200 || guest != c.want {
				t.Fatalf("GET /api/ctx = %d %q, want 200 and the guest's address %s", r.status, r.body, c.want)
			}
			var e host.AccessEntry
			select {
			case e = <-entries:
			case <-time.After(time.Minute):
				t.Fatal("no access entry")
			}
			lines := accessLines(t, logs)
			if len(lines) != 1 || lines[0]["client"] != c.want || e.Client != c.want {
				t.Errorf("access lines %v and entry client %q, want one line and the entry with client %s", lines, e.Client, c.want)
			}
		})
	}
}

// A path over 1 KiB is cut in the access log's line, which gives its
// length; Config.OnAccess gets it whole. A client's URL may take up to net/http's
// 1 MB header limit: a 414 is logged too.
func TestAccessLogLongPath(t *testing.T) {
	logs := &syncBuffer{}
	var mu sync.Mutex
	var paths []string
	_, srv, _ := serve(t, host.Config{
		Dir:       watDir(t, "hello"),
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
		AccessLog: true,
		OnAccess: func(e host.AccessEntry) {
			mu.Lock()
			paths = append(paths, e.Path)
			mu.Unlock()
		},
	})
	long := "/x" + strings.Repeat("\u00e9", 100_000) // 200 KB, a 2-byte rune each
	if r := get(t, srv.URL+long); r.status != 414 {
		t.Fatalf("status %d, want 414", r.status)
	}
	var line struct {
		Msg, Path string
		PathBytes int `json:"path_bytes"`
	}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if err := json.Unmarshal([]byte(l), &line); err == nil && line.Msg == "request" {
			break
		}
	}
	if len(line.Path) > 1024+len("...") || !strings.HasPrefix(long, strings.TrimSuffix(line.Path, "...")) || line.PathBytes != len(long) {
		t.Errorf("access line: path of %d bytes (%.20q...), path_bytes %d; want at most 1 KiB of the path and its length %d", len(line.Path), line.Path, line.PathBytes, len(long))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 || paths[0] != long {
		t.Errorf("OnAccess got %d paths, want the whole one", len(paths))
	}
}

// Over IPv6, the access log's client is the peer without RemoteAddr's
// brackets, as the function gets it.
func TestAccessLogClientIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	entries := make(chan host.AccessEntry, 1)
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "ctx"), OnAccess: func(e host.AccessEntry) { entries <- e }})
	s6 := &http.Server{Handler: srv.Config.Handler}
	go s6.Serve(ln)
	t.Cleanup(func() { s6.Close() }) // before the host closes
	r := get(t, "http://"+ln.Addr().String()+"/api/ctx")
	if guest, _, _ := strings.Cut(r.body, "\n"); r.status != 200 || guest != "::1" {
		t.Fatalf("GET /api/ctx over IPv6 = %d %q, want 200 and the guest's address ::1", r.status, r.body)
	}
	select {
	case e := <-entries:
		if e.Client != "::1" {
			t.Errorf("entry's client %q, want ::1", e.Client)
		}
	case <-time.After(time.Minute):
		t.Fatal("no access entry")
	}
}

// The access log's line has the request's User-Agent, its first 512
// bytes at most, cut at a rune boundary, with its length when cut;
// Config.OnAccess gets it whole. It was not logged, so nothing told a
// browser from a bot or a health check.
func TestAccessLogUserAgent(t *testing.T) {
	long := "bot/1.0" + strings.Repeat("\u00e9", 5_000) // 10 KB of 2-byte runes, the 512th byte inside one; under the 16 KB of a header
	for _, c := range []struct {
		name, ua, want string
		bytes          int // user_agent_bytes: the whole length, when cut
	}{
		{"a browser's", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 0},
		{"none", "", "", 0},
		{"512 bytes", strings.Repeat("a", 512), strings.Repeat("a", 512), 0},
		{"over 512 bytes", long, long[:511] + "...", len(long)},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := &syncBuffer{}
			entries := make(chan host.AccessEntry, 1)
			_, srv, _ := serve(t, host.Config{
				Dir:       watDir(t, "hello"),
				Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
				AccessLog: true,
				OnAccess:  func(e host.AccessEntry) { entries <- e },
			})
			// An empty User-Agent is none: net/http's client then sends
			// no header.
			if r := do(t, "GET", srv.URL+"/api/hello", nil, "User-Agent", c.ua); r.status != 200 {
				t.Fatalf("GET /api/hello = %d", r.status)
			}
			var e host.AccessEntry
			select {
			case e = <-entries:
			case <-time.After(time.Minute):
				t.Fatal("no access entry")
			}
			if e.UserAgent != c.ua {
				t.Errorf("entry's user agent of %d bytes (%.20q...), want the whole one of %d", len(e.UserAgent), e.UserAgent, len(c.ua))
			}
			lines := accessLines(t, logs)
			if len(lines) != 1 {
				t.Fatalf("%d access lines, want 1", len(lines))
			}
			ua, _ := lines[0]["user_agent"].(string)
			n, _ := lines[0]["user_agent_bytes"].(float64)
			if _, has := lines[0]["user_agent"]; !has || ua != c.want || int(n) != c.bytes {
				t.Errorf("access line: user_agent of %d bytes (%.40q...), user_agent_bytes %v; want %d bytes (%.40q...) and %d", len(ua), ua, lines[0]["user_agent_bytes"], len(c.want), c.want, c.bytes)
			}
		})
	}
}

// A request that waits for its function's load at start (wfn serve is
// ready before its functions are built) and whose client leaves first is
// logged, and counted in the metrics, under its function: the access
// entry said fn="", as if nothing had routed it, so the requests a slow
// build lost showed under no function. Its status is 499, as in
// TestAccessLogClientLeft.
func TestAccessLogClientLeftDuringLoad(t *testing.T) {
	gate := make(chan struct{})
	var release sync.Once
	entries := make(chan host.AccessEntry, 1)
	_, srv, _ := serve(t, host.WithLoadGate(host.Config{
		Dir:              watDir(t, "hello"),
		LoadInBackground: true,
		OnAccess:         func(e host.AccessEntry) { entries <- e },
	}, func(string) { <-gate }))
	t.Cleanup(func() { release.Do(func() { close(gate) }) }) // before the host closes
	sendAndLeave(t, srv.Listener.Addr().String(), "/api/hello")
	select {
	case e := <-entries:
		if e.Function != "api/hello.wasm" || e.Path != "/api/hello" || e.Status != 499 {
			t.Errorf("access entry %+v, want function api/hello.wasm, path /api/hello and status 499 (the client left)", e)
		}
	case <-time.After(time.Minute):
		t.Fatal("no access entry for the request whose client left")
	}
	release.Do(func() { close(gate) })
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
		t.Errorf("GET /api/hello after the load = %d, want 200", r.status)
	}
}

// sendAndLeave sends a whole GET of path to srv and closes the
// connection at once, without reading: the server reads the request, and
// its context ends when it reads the connection's end.
func sendAndLeave(t *testing.T, addr, path string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// A request whose client left before the response's head was sent is
// logged with status 499, nginx's "client closed request", in the line
// and in the entry: it was logged with status 0, which no log tool reads
// as a status.
func TestAccessLogClientLeft(t *testing.T) {
	logs := &syncBuffer{}
	entries := make(chan host.AccessEntry, 1)
	dir := watDir(t, "loop")
	// Wherever the request is when its client leaves (waiting for an
	// instance, or in the spinning guest, stopped after the grace, long
	// before its maxDuration), the host answers no one.
	writeConfig(t, dir, "vercel.json", `{"functions": {"api/loop.wasm": {"supportsCancellation": true}}}`)
	_, srv, _ := serve(t, host.Config{
		Dir:         dir,
		MaxDuration: 10 * time.Minute,
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		AccessLog:   true,
		OnAccess:    func(e host.AccessEntry) { entries <- e },
	})
	sendAndLeave(t, srv.Listener.Addr().String(), "/api/loop")
	select {
	case e := <-entries:
		if e.Function != "api/loop.wasm" || e.Status != 499 || e.Bytes != 0 {
			t.Errorf("access entry %+v, want function api/loop.wasm, status 499 and no bytes", e)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("no access entry for the request whose client left")
	}
	lines := accessLines(t, logs)
	if len(lines) != 1 || lines[0]["status"] != 499.0 || lines[0]["fn"] != "api/loop.wasm" {
		t.Errorf("access lines %v, want one with status 499", lines)
	}
}

// A response whose head was sent and whose body did not reach the client
// whole keeps its status, and is logged with cut=true (AccessEntry.Cut):
// when the client leaves in the middle, and when the host cuts it (its
// function timed out after sending its head). Nothing told those from a
// complete response but a short bytes. A complete one has no cut.
func TestAccessLogCut(t *testing.T) {
	logs := &syncBuffer{}
	entries := make(chan host.AccessEntry, 3)
	_, srv, _ := serve(t, host.Config{
		Dir:         watDir(t, "flood", "stubborn", "hello"),
		MaxDuration: 2 * time.Second, // stubborn's end: it spins after its head
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		AccessLog:   true,
		OnAccess:    func(e host.AccessEntry) { entries <- e },
	})
	next := func() host.AccessEntry {
		t.Helper()
		select {
		case e := <-entries:
			return e
		case <-time.After(5 * time.Minute):
			t.Fatal("no access entry")
		}
		return host.AccessEntry{}
	}

	if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
		t.Fatalf("GET /api/hello = %d", r.status)
	}
	if e := next(); e.Status != 200 || e.Cut {
		t.Errorf("complete response: entry %+v, want status 200 and not cut", e)
	}

	// flood streams until a write fails: the client reads its head, then
	// leaves.
	leave(t, srv.URL+"/api/flood")
	if e := next(); e.Function != "api/flood.wasm" || e.Status != 200 || !e.Cut {
		t.Errorf("client left mid-response: entry %+v, want function api/flood.wasm, status 200 and cut", e)
	}

	// stubborn sends its head, then spins to its deadline: the host cuts
	// the response, and the client sees it end early.
	resp, err := http.Get(srv.URL + "/api/stubborn")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || err == nil {
		t.Errorf("GET /api/stubborn = %d, body read error %v; want 200 and the body cut", resp.StatusCode, err)
	}
	if e := next(); e.Function != "api/stubborn.wasm" || e.Status != 200 || !e.Cut {
		t.Errorf("host cut the response: entry %+v, want function api/stubborn.wasm, status 200 and cut", e)
	}

	lines := accessLines(t, logs)
	if len(lines) != 3 {
		t.Fatalf("%d access lines, want 3", len(lines))
	}
	for i, want := range []any{nil, true, true} {
		if lines[i]["cut"] != want {
			t.Errorf("access line %d: %v, want cut %v", i, lines[i], want)
		}
	}
}

// /_wfn/readyz is 503 while a function is still being loaded (wfn serve
// listens, and /_wfn/healthz answers 200, before its functions are built),
// and 200 once none is, saying how many failed to load; healthz is 200
// throughout. An orchestrator's readiness probe then sends no traffic to
// a host whose first requests would wait for builds.
func TestReadyzWaitsForLoads(t *testing.T) {
	gate := make(chan struct{})
	var release sync.Once
	dir := watDir(t, "hello")
	if err := os.WriteFile(filepath.Join(dir, "api", "broken.wasm"), []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, srv, _ := serve(t, host.WithLoadGate(host.Config{Dir: dir, LoadInBackground: true}, func(source string) {
		if source == "api/hello.wasm" {
			<-gate
		}
	}))
	t.Cleanup(func() { release.Do(func() { close(gate) }) }) // before the host closes
	if r := get(t, srv.URL+"/_wfn/healthz"); r.status != 200 {
		t.Errorf("healthz while loading = %d, want 200", r.status)
	}
	r := get(t, srv.URL+"/_wfn/readyz")
	if r.status != 503 || r.body != "loading: 1 of 2 functions loaded\n" && r.body != "loading: 0 of 2 functions loaded\n" {
		t.Errorf("readyz while api/hello.wasm loads = %d %q, want 503 and what is loaded", r.status, r.body)
	}
	release.Do(func() { close(gate) })
	if err := h.Loaded(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := get(t, srv.URL+"/_wfn/readyz"); r.status != 200 || r.body != "ready: 2 functions, 1 failed to load\n" {
		t.Errorf("readyz once loaded = %d %q, want 200 %q", r.status, r.body, "ready: 2 functions, 1 failed to load\n")
	}
}
