package bench_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/bench"
)

// The benchmarks make wfnbench's comparisons in-process, for benchstat:
//
//	go test ./internal/bench -run '^$' -bench . -count 6 > new.txt
//	benchstat old.txt new.txt
//
// The servers run in the test process, over loopback HTTP; wfnbench runs
// them as child processes.

const helloBody = "Hello from wfn!"

var scratch string // removed by TestMain

func TestMain(m *testing.M) {
	code := m.Run()
	if scratch != "" {
		os.RemoveAll(scratch)
	}
	os.Exit(code)
}

// requireGo skips when the go command is missing, except on CI.
func requireGo(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("go is required on CI")
		}
		tb.Skip("go is not installed")
	}
}

var guests struct {
	once        sync.Once
	hello, wait []byte
	err         error
}

// goGuests builds the Go hello guest and the Go wait guest once.
func goGuests(tb testing.TB) (hello, wait []byte) {
	tb.Helper()
	requireGo(tb)
	guests.once.Do(func() {
		root, err := bench.RepoRoot(".")
		if err == nil {
			scratch, err = os.MkdirTemp("", "wfnbench-test-")
		}
		if err != nil {
			guests.err = err
			return
		}
		ctx := context.Background()
		h, w := filepath.Join(scratch, "hello.wasm"), filepath.Join(scratch, "wait.wasm")
		if guests.err = bench.BuildGoGuest(ctx, filepath.Join(root, "guests", "api"), "./hello", h); guests.err != nil {
			return
		}
		if guests.err = bench.BuildGoGuest(ctx, filepath.Join("testdata", "guests"), "./api/wait", w); guests.err != nil {
			return
		}
		guests.hello, guests.err = os.ReadFile(h)
		if guests.err == nil {
			guests.wait, guests.err = os.ReadFile(w)
		}
	})
	if guests.err != nil {
		tb.Fatal(guests.err)
	}
	return guests.hello, guests.wait
}

func goHello(tb testing.TB) []byte {
	h, _ := goGuests(tb)
	return h
}

func watGuest(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func watHello(tb testing.TB) []byte {
	return watGuest(tb, filepath.Join("..", "..", "testdata", "wat", "hello.wasm"))
}

// newHost serves fns (name -> wasm) with config as wfn.json. It returns
// host.ErrConfig (wrapped) when the host rejects the configuration.
func newHost(tb testing.TB, fns map[string][]byte, config string, cfg host.Config) (*host.Host, error) {
	tb.Helper()
	dir := tb.TempDir()
	if err := bench.WriteSite(dir, fns, config); err != nil {
		tb.Fatal(err)
	}
	cfg.Dir = dir
	cfg.CacheDir = filepath.Join(dir, ".cache")
	cfg.Logger = slog.New(slog.DiscardHandler)
	h, err := host.New(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { _ = h.Close(context.Background()) })
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			tb.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	return h, nil
}

func mustHost(tb testing.TB, fns map[string][]byte, config string, cfg host.Config) *host.Host {
	tb.Helper()
	h, err := newHost(tb, fns, config, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func nativeHello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Vercel-Id", "dev1::000000-1795337237364-000000000001")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, helloBody)
}

// BenchmarkWarm is /api/hello over loopback HTTP from 32 concurrent
// clients (16 per core), each on its own keep-alive connection: native
// net/http against the Go guest and the minimal WAT guest.
func BenchmarkWarm(b *testing.B) {
	cases := []struct {
		name    string
		handler func(b *testing.B) http.Handler
	}{
		{"native", func(*testing.B) http.Handler { return http.HandlerFunc(nativeHello) }},
		{"wfn-go", func(b *testing.B) http.Handler {
			hello, _ := goGuests(b)
			return mustHost(b, map[string][]byte{"hello": hello}, "", host.Config{})
		}},
		{"wfn-wat", func(b *testing.B) http.Handler {
			return mustHost(b, map[string][]byte{"hello": watHello(b)}, "", host.Config{})
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			srv := httptest.NewServer(c.handler(b))
			defer srv.Close()
			addr := strings.TrimPrefix(srv.URL, "http://")
			req := bench.GetRequest(addr, "/api/hello")
			if err := checkHello(srv.URL + "/api/hello"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				conn := bench.NewConn(addr)
				defer conn.Close()
				for pb.Next() {
					status, err := conn.Do(req)
					if err != nil || status != 200 {
						b.Errorf("GET /api/hello: %d %v", status, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

func checkHello(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != helloBody {
		return errors.New("GET " + url + ": " + resp.Status + " " + strconv.Quote(string(body)))
	}
	return nil
}

// isolationInvocation is the wfn.json that gives every invocation of
// api/hello.wasm a fresh instance.
const isolationInvocation = `{"functions": {"api/hello.wasm": {"isolation": "invocation"}}}`

// BenchmarkColdStart is one sequential request on an open keep-alive
// connection to a function with no live instance (isolation
// "invocation": a fresh instance per invocation, compiled code cached),
// and the same request warm for reference.
func BenchmarkColdStart(b *testing.B) {
	cases := []struct {
		name   string
		guest  func(tb testing.TB) []byte
		config string
	}{
		{"go", goHello, isolationInvocation},
		{"wat", watHello, isolationInvocation},
		{"go-warm", goHello, ""},
		{"wat-warm", watHello, ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			h, err := newHost(b, map[string][]byte{"hello": c.guest(b)}, c.config, host.Config{})
			if errors.Is(err, host.ErrConfig) {
				b.Skipf("this host has no isolation \"invocation\": %v", err)
			}
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			p := bench.NewProber(srv.URL + "/api/hello")
			defer p.Close()
			ctx := context.Background()
			_, _, _, _ = p.Probe(ctx) // open the connection
			b.ReportAllocs()
			for b.Loop() {
				_, status, body, err := p.Probe(ctx)
				if err != nil || status != 200 || body != helloBody {
					b.Fatalf("GET /api/hello: %d %q %v", status, body, err)
				}
			}
		})
	}
}

// BenchmarkReleased is one request to a function whose compiled code
// was released (Config.UnloadAfter): the compiled code loaded again from
// the compile cache, then a cold start, then the request. BenchmarkColdStart
// is the same without the load.
func BenchmarkReleased(b *testing.B) {
	for _, c := range []struct {
		name  string
		guest func(tb testing.TB) []byte
	}{{"go", goHello}, {"wat", watHello}} {
		b.Run(c.name, func(b *testing.B) {
			h := mustHost(b, map[string][]byte{"hello": c.guest(b)}, "", host.Config{UnloadAfter: 10 * time.Millisecond})
			srv := httptest.NewServer(h)
			defer srv.Close()
			p := bench.NewProber(srv.URL + "/api/hello")
			defer p.Close()
			ctx := context.Background()
			_, _, _, _ = p.Probe(ctx) // open the connection
			// The machine is shared: the process's CPU time per request is
			// steadier than the wall time.
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				waitUnloaded(b, h)
				b.StartTimer()
				t0 := processCPU()
				_, status, body, err := p.Probe(ctx)
				cpu += processCPU() - t0
				if err != nil || status != 200 || body != helloBody {
					b.Fatalf("GET /api/hello: %d %q %v", status, body, err)
				}
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitUnloaded polls until h's only function is unloaded.
func waitUnloaded(tb testing.TB, h *host.Host) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for !h.Stats().Functions[0].Unloaded {
		if time.Now().After(deadline) {
			tb.Fatal("the function was not unloaded within a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkDensity holds N invocations at once, each waiting on a slow
// backend, and reports the growth of the process's RSS per held
// invocation. Client, backend and host share the process here, so the
// figure includes the client's and backend's share (a few tens of KB);
// wfnbench measures the wfn process alone.
func BenchmarkDensity(b *testing.B) {
	cases := []struct {
		name  string
		n     int
		guest func(b *testing.B) []byte
	}{
		{"wat", 500, func(b *testing.B) []byte { return watGuest(b, filepath.Join("testdata", "wait.wasm")) }},
		{"go", 100, func(b *testing.B) []byte { _, w := goGuests(b); return w }},
	}
	for _, c := range cases {
		b.Run(c.name+"-"+strconv.Itoa(c.n), func(b *testing.B) {
			backend, err := bench.StartBackend("127.0.0.1:0", 0)
			if err != nil {
				b.Fatal(err)
			}
			defer backend.Close()
			config := `{"functions": {"api/wait.wasm": {"allowedOutboundHosts": ["127.0.0.1:*"]}}}`
			h := mustHost(b, map[string][]byte{"wait": c.guest(b)}, config, host.Config{
				MaxInstances: c.n + 10, MaxInstancesPerFunction: c.n + 10, MaxQueue: c.n + 10,
			})
			srv := httptest.NewServer(h)
			defer srv.Close()
			addr := strings.TrimPrefix(srv.URL, "http://")
			body := []byte(backend.URL)
			ctx := b.Context()
			var perHeld float64
			b.ReportAllocs()
			for b.Loop() {
				runtime.GC()
				debug.FreeOSMemory()
				idle, _, err := bench.RSS(os.Getpid())
				if err != nil {
					b.Skip("no /proc: ", err)
				}
				held := bench.Hold(ctx, addr, "/api/wait", body, c.n, 64)
				deadline := time.Now().Add(2 * time.Minute)
				for backend.InFlight() < c.n {
					if time.Now().After(deadline) || held.Done() > 0 {
						held.Abort()
						b.Fatalf("%d of %d held; %s", backend.InFlight(), c.n, held.Failure())
					}
					time.Sleep(5 * time.Millisecond)
				}
				rss, _, _ := bench.RSS(os.Getpid())
				perHeld += float64(rss-idle) / float64(c.n)
				backend.Release()
				if !held.Wait(time.Minute) || held.OK.Load() != int64(c.n) {
					held.Abort()
					b.Fatalf("%d of %d answered 200; %s", held.OK.Load(), c.n, held.Failure())
				}
			}
			b.ReportMetric(perHeld/float64(b.N), "B/held-invocation")
		})
	}
}

// TestBenchmarkSetup checks what the benchmarks rely on, quickly: the
// native handler and the WAT guest answer the same bytes.
func TestBenchmarkSetup(t *testing.T) {
	for name, h := range map[string]http.Handler{
		"native": http.HandlerFunc(nativeHello),
		"wat":    mustHost(t, map[string][]byte{"hello": watHello(t)}, "", host.Config{}),
	} {
		srv := httptest.NewServer(h)
		if err := checkHello(srv.URL + "/api/hello"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		srv.Close()
	}
	// BenchmarkReleased's function unloads, and answers once loaded again.
	h := mustHost(t, map[string][]byte{"hello": watHello(t)}, "", host.Config{UnloadAfter: 10 * time.Millisecond})
	srv := httptest.NewServer(h)
	defer srv.Close()
	for range 2 {
		waitUnloaded(t, h)
		if err := checkHello(srv.URL + "/api/hello"); err != nil {
			t.Errorf("released: %v", err)
		}
	}
	if n := h.Stats().Functions[0].Loads; n != 2 {
		t.Errorf("released: loaded again %d times, want 2", n)
	}
}
