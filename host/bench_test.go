package host_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/admin"
)

// Benchmarks compare wfn with a native net/http handler returning the same
// bytes, in the same run, with the same client and settings.
//
//	go test ./host -run '^$' -bench Serve -benchmem -count 6

const helloBody = "Hello from wfn!"

func nativeHello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, helloBody)
}

func quietHost(b testing.TB, dir string) *host.Host {
	return quietHostConfig(b, host.Config{Dir: dir})
}

func quietHostConfig(b testing.TB, cfg host.Config) *host.Host {
	b.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Engine = os.Getenv("WFN_TEST_ENGINE")
	if cfg.CacheDir == "" {
		// The tests' builds and compiled code, not the user's cache.
		cfg.CacheDir = sharedCache
	}
	h, err := host.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Close(context.Background()) })
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			b.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	return h
}

// benchHTTP drives url over loopback HTTP from parallel clients on one
// keep-alive pool and reports requests per second.
func benchHTTP(b *testing.B, handler http.Handler, path string) {
	srv := httptest.NewServer(handler)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	url := srv.URL + path
	// Warm up: instances, connections.
	for i := 0; i < 16; i++ {
		checkHello(b, client, url)
	}
	b.ReportAllocs()
	b.SetParallelism(4) // 4 x GOMAXPROCS concurrent clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func checkHello(b testing.TB, client *http.Client, url string) {
	b.Helper()
	resp, err := client.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != helloBody {
		b.Fatalf("GET %s = %d %q, want 200 %q", url, resp.StatusCode, body, helloBody)
	}
}

// BenchmarkServeNative is the baseline: a net/http handler over loopback.
func BenchmarkServeNative(b *testing.B) {
	benchHTTP(b, http.HandlerFunc(nativeHello), "/api/hello")
}

// BenchmarkServeWasm is the /api/hello Go guest through the host.
func BenchmarkServeWasm(b *testing.B) {
	requireGo(b)
	benchHTTP(b, quietHost(b, "../guests"), "/api/hello")
}

// BenchmarkServeWasmMinimal is the smallest guest (WAT) through the host.
func BenchmarkServeWasmMinimal(b *testing.B) {
	benchHTTP(b, quietHost(b, watDir(b, "hello")), "/api/hello")
}

// BenchmarkInvoke measures one warm invocation in-process, without the
// network: native is the floor, minimal adds the host's own work (its
// guest does almost nothing), go adds a Go guest's own time. The served
// cases are configured as wfn serve configures the host: the access log
// on (at a level that drops its lines, as --log-level warn does) and
// package admin's Monitor counting every request.
func BenchmarkInvoke(b *testing.B) {
	cases := []struct {
		name    string
		handler func(b *testing.B) http.Handler
	}{
		{"native", func(*testing.B) http.Handler { return http.HandlerFunc(nativeHello) }},
		{"minimal", func(b *testing.B) http.Handler { return quietHost(b, watDir(b, "hello")) }},
		{"minimal/served", func(b *testing.B) http.Handler { return servedHost(b, watDir(b, "hello")) }},
		{"go", func(b *testing.B) http.Handler { requireGo(b); return quietHost(b, "../guests") }},
		{"go/served", func(b *testing.B) http.Handler { requireGo(b); return servedHost(b, "../guests") }},
		{"ts", func(b *testing.B) http.Handler { return quietHost(b, tsHelloDir(b)) }},
		{"node", func(b *testing.B) http.Handler { return quietHost(b, jsDir(b, "hello.ts", nodeHello)) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			h := c.handler(b)
			req := httptest.NewRequest("GET", "/api/hello", nil)
			w := newDiscardWriter()
			h.ServeHTTP(w, req)
			if w.status != 200 || w.n != len(helloBody) {
				b.Fatalf("warm-up: %d, %d bytes", w.status, w.n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, req)
			}
			// The process's CPU time, garbage collection included: on a
			// shared machine it moves less than the wall time.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's user and system CPU time, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// servedHost is quietHost configured as wfn serve configures a host: the
// access log on and admin's Monitor as the logger's handler and
// OnAccess. The log's lines are dropped (slog.DiscardHandler is never
// enabled), as --log-level warn drops the access log's.
func servedHost(b testing.TB, dir string) *host.Host {
	mon := admin.NewMonitor(slog.DiscardHandler)
	return quietHostConfig(b, host.Config{Dir: dir, Logger: slog.New(mon), AccessLog: true, OnAccess: mon.Access})
}

// tsHelloDir makes a served directory whose api/hello.ts answers
// helloBody as the Go hello does.
func tsHelloDir(b testing.TB) string {
	src := "export function GET() {\n  return new Response(" + strconv.Quote(helloBody) + ", { headers: { \"content-type\": \"text/plain; charset=utf-8\" } });\n}\n"
	return jsDir(b, "hello.ts", src)
}

// nodeHello is the hello of tsHelloDir in the Node.js shape.
var nodeHello = "export default function handler(req: any, res: any) {\n  res.setHeader(\"content-type\", \"text/plain; charset=utf-8\");\n  res.end(" + strconv.Quote(helloBody) + ");\n}\n"

// jsDir makes a served directory with one function, api/NAME.
func jsDir(b testing.TB, name, src string) string {
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "api", name), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkComputeGuest is a compute-heavy guest (20 M loop iterations
// with a call, testdata/wat/compute.wat) through the host, interruption
// on, as served: for comparing engines (WFN_TEST_ENGINE=wasmtime).
func BenchmarkComputeGuest(b *testing.B) {
	h := quietHost(b, watDir(b, "compute"))
	req := httptest.NewRequest("GET", "/api/compute", nil)
	w := newDiscardWriter()
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
		if w.status != 200 || w.n != 4 {
			b.Fatalf("compute: %d, %d bytes", w.status, w.n)
		}
	}
}

// discardWriter is the lightest http.ResponseWriter, so that BenchmarkInvoke
// measures the handler, not a recorder.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: http.Header{}} }

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.n += len(p)
	return len(p), nil
}
func (w *discardWriter) Flush() {}
func (w *discardWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// TestBenchmarkHandlersAgree checks the benchmarks' setup: the native
// baseline and both guests answer the same bytes.
func TestBenchmarkHandlersAgree(t *testing.T) {
	requireGo(t)
	_, served, _ := serveShared(t, "../guests")
	for _, h := range map[string]http.Handler{
		"native":  http.HandlerFunc(nativeHello),
		"go":      served.Config.Handler,
		"minimal": quietHost(t, watDir(t, "hello")),
	} {
		srv := httptest.NewServer(h)
		checkHello(t, srv.Client(), srv.URL+"/api/hello")
		srv.Close()
	}
}

// BenchmarkFreshInstance measures a request that needs a new instance: the
// guest traps every time, so each request instantiates one (compiled code
// cached) and discards it. minimal is testdata/wat/trap.wat; go is the Go
// guest testdata/guests/api/panic. For comparing engines
// (WFN_TEST_ENGINE=wasmtime) on instantiation.
func BenchmarkFreshInstance(b *testing.B) {
	cases := []struct{ name, dir, path string }{
		{"minimal", "", "/api/trap"},
		{"go", "../testdata/guests", "/api/panic"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			dir := c.dir
			if dir == "" {
				dir = watDir(b, "trap")
			} else {
				requireGo(b)
			}
			h := quietHost(b, dir)
			req := httptest.NewRequest("GET", c.path, nil)
			w := newDiscardWriter()
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, req)
				if w.status != 500 {
					b.Fatalf("status %d, want 500 from a trap", w.status)
				}
			}
		})
	}
}

// BenchmarkColdStart measures a request to a function with no live
// instance (compiled code cached): with isolation "invocation" every
// request gets a fresh instance, started from a snapshot or by running
// the guest's initialisation. wat is testdata/wat/hello.wat; go is
// guests/api/hello; ts is a TypeScript hello on the JavaScript runtime.
// The request is served in process, without a network.
func BenchmarkColdStart(b *testing.B) {
	for _, guest := range []string{"wat", "go", "ts"} {
		for _, mode := range []string{"snapshot", "init"} {
			b.Run(guest+"/"+mode, func(b *testing.B) {
				dir := "../guests"
				switch guest {
				case "wat":
					dir = watDir(b, "hello")
				case "ts":
					dir = tsHelloDir(b)
				default:
					requireGo(b)
				}
				h := quietHostConfig(b, host.Config{Dir: dir, Isolation: host.IsolationInvocation, DisableSnapshots: mode == "init"})
				req := httptest.NewRequest("GET", "/api/hello", nil)
				w := newDiscardWriter()
				b.ReportAllocs()
				for b.Loop() {
					w.reset()
					h.ServeHTTP(w, req)
					if w.status != 200 {
						b.Fatalf("status %d", w.status)
					}
				}
			})
		}
	}
}

// BenchmarkRuntimeCache measures Runtime Cache calls through a Go guest
// (testdata/guests/api/kv), in process: "none" is the same guest answering
// without calling the cache, "get" one cache_get hit of 64 bytes, "set"
// one cache_set of 64 bytes. The store is the default one, on disk.
func BenchmarkRuntimeCache(b *testing.B) {
	requireGo(b)
	h := quietHostConfig(b, host.Config{Dir: "../testdata/guests", CacheDir: b.TempDir()})
	value := strings.Repeat("v", 64)
	w := newDiscardWriter()
	put := func() *http.Request {
		return httptest.NewRequest("PUT", "/api/kv?key=bench", strings.NewReader(value))
	}
	h.ServeHTTP(w, put())
	if w.status != 200 {
		b.Fatalf("PUT = %d", w.status)
	}
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"none", func() *http.Request { return httptest.NewRequest("DELETE", "/api/kv?key=bench", nil) }, 405},
		{"get", func() *http.Request { return httptest.NewRequest("GET", "/api/kv?key=bench", nil) }, 200},
		{"set", put, 200},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, c.req())
				if w.status != c.status {
					b.Fatalf("status %d, want %d", w.status, c.status)
				}
			}
		})
	}
}

// BenchmarkCDN compares a CDN cache HIT with the same request invoking the
// function (testdata/wat/cdn.wat; an Authorization header bypasses the
// cache), in process.
func BenchmarkCDN(b *testing.B) {
	h := quietHostConfig(b, host.Config{Dir: watDir(b, "cdn"), CacheDir: b.TempDir()})
	w := newDiscardWriter()
	hit := httptest.NewRequest("GET", "/api/cdn", nil)
	h.ServeHTTP(w, hit) // MISS: stores it
	bypass := httptest.NewRequest("GET", "/api/cdn", nil)
	bypass.Header.Set("Authorization", "Bearer x")
	for _, c := range []struct {
		name  string
		req   *http.Request
		state string
	}{{"hit", hit, "HIT"}, {"invoke", bypass, "BYPASS"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, c.req)
				if w.status != 200 || w.h.Get("X-Vercel-Cache") != c.state {
					b.Fatalf("status %d, x-vercel-cache %q", w.status, w.h.Get("X-Vercel-Cache"))
				}
			}
		})
	}
}

// BenchmarkStreamedResponse streams 5 MiB (80 writes of 64 KiB after a
// flush, testdata/wat/bigflush.wat) to a loopback client: the cost of
// copying streamed writes out of guest memory shows here.
func BenchmarkStreamedResponse(b *testing.B) {
	srv := httptest.NewServer(quietHost(b, watDir(b, "bigflush")))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	b.SetBytes(80 << 16)
	for b.Loop() {
		resp, err := client.Get(srv.URL + "/api/bigflush")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != 80<<16 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}

// BenchmarkRequestHeaders is a request with 24 headers, a third of them
// forwarding headers that the host hides from an untrusted peer, through
// the testdata/guests headers guest, which lists the names and reads every
// value: what the host does per header, in time and allocations.
func BenchmarkRequestHeaders(b *testing.B) {
	requireGo(b)
	h := quietHost(b, "../testdata/guests")
	req := httptest.NewRequest("GET", "/api/headers", nil)
	for i := range 8 {
		n := strconv.Itoa(i)
		req.Header.Set("X-Custom-Header-"+n, "value "+n)
		req.Header.Set("X-Application-Specific-Header-With-A-Long-Name-"+n, "value "+n)
		req.Header.Set("X-Vercel-Ip-Custom-"+n, "spoofed "+n) // hidden before and after issue 11
	}
	w := newDiscardWriter()
	h.ServeHTTP(w, req)
	if w.status != 201 {
		b.Fatalf("warm-up: %d", w.status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
	}
}
