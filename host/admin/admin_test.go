package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/admin"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// deadline bounds every wait; it is reached only when something is broken.
const deadline = 60 * time.Second

var client = &http.Client{Timeout: deadline}

// syncBuffer is an output destination safe for concurrent writers.
type syncBuffer = testkit.SyncBuffer

// watDir makes a served directory holding the named WAT fixtures of
// testdata/wat as api/NAME.wasm.
func watDir(t testing.TB, names ...string) string {
	t.Helper()
	return testkit.WatDir(t, names...)
}

// served is a host with its operator endpoints on a loopback server.
type served struct {
	h    *host.Host
	a    *admin.Server
	srv  *httptest.Server
	logs *syncBuffer
}

// serve starts a host over cfg with a Monitor, as wfn serve does.
func serve(t *testing.T, cfg host.Config) *served {
	t.Helper()
	s := &served{logs: &syncBuffer{}}
	mon := admin.NewMonitor(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Logger = slog.New(mon)
	cfg.AccessLog = true
	cfg.OnAccess = mon.Access
	if cfg.CacheDir == "" {
		cfg.CacheDir = t.TempDir()
	}
	cfg.Engine = os.Getenv("WFN_TEST_ENGINE")
	h, err := host.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("host.New: %v", err)
	}
	a, err := admin.New(h, admin.Options{Monitor: mon})
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	s.h, s.a, s.srv = h, a, httptest.NewServer(a.Mount(h))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host log:\n%s", s.logs)
		}
		s.close(t)
	})
	return s
}

// close stops the server, the host and the admin side, once.
func (s *served) close(t *testing.T) {
	if s.srv == nil {
		return
	}
	s.a.EndStreams()
	s.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.h.Close(ctx); err != nil && !errors.Is(err, host.ErrClosed) {
		t.Errorf("host Close: %v", err)
	}
	if err := s.a.Close(); err != nil {
		t.Errorf("admin Close: %v", err)
	}
	s.srv = nil
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads /_wfn/metrics with the Prometheus text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	status, body := get(t, base+"/_wfn/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /_wfn/metrics = %d %q", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the metrics: %v\n%s", err, body)
	}
	return mfs
}

// value is the value of the metric of family name whose labels are
// labels (name, value pairs); ok is false when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (v float64, ok bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	s := serve(t, host.Config{
		Dir:                     watDir(t, "hello", "kv", "trap", "cdn", "loop", "hold", "notwasm"),
		MaxDuration:             time.Second,
		MaxInstancesPerFunction: 1,
		QueueTimeout:            50 * time.Millisecond,
	})
	base := s.srv.URL
	before := scrape(t, base)
	if v, _ := value(before, "wfn_requests_total", "fn", "api/hello.wasm", "status", "200"); v != 0 {
		t.Fatalf("requests before any = %v", v)
	}
	if _, ok := value(before, "wfn_instances_live", "fn", "api/hello.wasm"); !ok {
		t.Fatalf("no wfn_instances_live for api/hello before any request")
	}

	for range 3 {
		if status, body := get(t, base+"/api/hello"); status != 200 || body != "Hello from wfn!" {
			t.Fatalf("hello = %d %q", status, body)
		}
	}
	for range 2 {
		if status, body := get(t, base+"/api/kv"); status != 200 || body != "v" {
			t.Fatalf("kv = %d %q", status, body)
		}
	}
	if status, _ := get(t, base+"/api/trap"); status != 500 {
		t.Fatalf("trap = %d", status)
	}
	get(t, base+"/api/cdn")
	get(t, base+"/api/cdn")
	if status, _ := get(t, base+"/api/loop"); status != http.StatusGatewayTimeout {
		t.Fatalf("loop = %d, want 504", status)
	}
	// hold keeps its one instance until its request body ends: a second
	// request waits past the queue timeout and is throttled.
	held := make(chan error, 1)
	hold := func(body io.Reader) { // a request to api/hold whose body ends when the caller says
		go func() {
			resp, err := client.Post(base+"/api/hold", "text/plain", body)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			held <- err
		}()
	}
	pr, pw := io.Pipe()
	hold(pr)
	eventually(t, "hold running", func() bool {
		v, _ := value(scrape(t, base), "wfn_instances_live", "fn", "api/hold.wasm")
		i, _ := value(scrape(t, base), "wfn_instances_idle", "fn", "api/hold.wasm")
		return v == 1 && i == 0
	})
	if status, _ := get(t, base+"/api/hold"); status != http.StatusServiceUnavailable {
		t.Errorf("second hold = %d, want 503", status)
	}
	pw.Close()
	if err := <-held; err != nil {
		t.Fatalf("hold: %v", err)
	}

	after := scrape(t, base)
	want := []struct {
		name   string
		labels []string
		min    float64
		max    float64
	}{
		{"wfn_requests_total", []string{"fn", "api/hello.wasm", "status", "200"}, 3, 3},
		{"wfn_requests_total", []string{"fn", "api/kv.wasm", "status", "200"}, 2, 2},
		{"wfn_requests_total", []string{"fn", "api/trap.wasm", "status", "500"}, 1, 1},
		{"wfn_requests_total", []string{"fn", "api/hold.wasm", "status", "503"}, 1, 1},
		{"wfn_request_duration_seconds", []string{"fn", "api/hello.wasm"}, 3, 3},
		{"wfn_cold_starts_total", []string{"fn", "api/hello.wasm"}, 1, 1},
		{"wfn_cold_starts_total", []string{"fn", "api/trap.wasm"}, 1, 1},
		{"wfn_instances_live", []string{"fn", "api/hello.wasm"}, 1, 1},
		{"wfn_instances_idle", []string{"fn", "api/hello.wasm"}, 1, 1},
		{"wfn_queue_length", []string{"fn", "api/hello.wasm"}, 0, 0},
		{"wfn_invocations_timed_out_total", []string{"fn", "api/loop.wasm"}, 1, 1},
		{"wfn_invocations_throttled_total", []string{"fn", "api/hold.wasm"}, 1, 1},
		{"wfn_invocations_aborted_total", []string{"fn", "api/hello.wasm"}, 0, 0},
		// Every GET goes through the CDN cache: a MISS unless cached (9),
		// the cdn guest's second a HIT; the POST bypasses it.
		{"wfn_cdn_cache_responses_total", []string{"state", "MISS"}, 9, 9},
		{"wfn_cdn_cache_responses_total", []string{"state", "BYPASS"}, 1, 1},
		{"wfn_cdn_cache_responses_total", []string{"state", "HIT"}, 1, 1},
		{"wfn_runtime_cache_operations_total", []string{"op", "set"}, 2, 2},
		{"wfn_runtime_cache_operations_total", []string{"op", "get"}, 2, 2},
		{"wfn_runtime_cache_errors_total", []string{"op", "get"}, 0, 0},
		{"wfn_cdn_cache_store_errors_total", []string{"op", "get"}, 0, 0},
		{"wfn_cdn_cache_store_errors_total", []string{"op", "set"}, 0, 0},
		{"wfn_guest_memory_bytes", []string{"fn", "api/hello.wasm"}, 64 << 10, 64 << 10},
		{"wfn_guest_memory_bytes", []string{"fn", "api/notwasm.wasm"}, 0, 0},
		{"wfn_function_code_loaded", []string{"fn", "api/hello.wasm"}, 1, 1},
		{"wfn_function_code_loads_total", []string{"fn", "api/hello.wasm"}, 0, 0},
		// A function that failed to load has no code in memory, and says
		// it failed, for an alert: it was wfn_function_code_loaded 1.
		{"wfn_function_code_loaded", []string{"fn", "api/notwasm.wasm"}, 0, 0},
		{"wfn_function_load_failed", []string{"fn", "api/notwasm.wasm"}, 1, 1},
		{"wfn_function_load_failed", []string{"fn", "api/hello.wasm"}, 0, 0},
	}
	for _, w := range want {
		v, ok := value(after, w.name, w.labels...)
		if !ok || v < w.min || v > w.max {
			t.Errorf("%s%v = %v (found %v), want %v to %v", w.name, w.labels, v, ok, w.min, w.max)
		}
	}

	// A shutdown whose grace runs out aborts the invocation in flight.
	pr, pw = io.Pipe()
	defer pw.Close()
	hold(pr)
	eventually(t, "hold running again", func() bool {
		i, _ := value(scrape(t, base), "wfn_instances_idle", "fn", "api/hold.wasm")
		return i == 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the grace to run out", err)
	}
	<-held
	if v, _ := value(scrape(t, base), "wfn_invocations_aborted_total", "fn", "api/hold.wasm"); v != 1 {
		t.Errorf("aborted after the shutdown = %v, want 1", v)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, deadline, what, cond)
}

// TestMetricsCodeReleased: a function idle past UnloadAfter shows its
// compiled code released, and the next request loads it again, counted.
func TestMetricsCodeReleased(t *testing.T) {
	s := serve(t, host.Config{Dir: watDir(t, "hello"), UnloadAfter: 50 * time.Millisecond})
	base := s.srv.URL
	if status, body := get(t, base+"/api/hello"); status != 200 || body != "Hello from wfn!" {
		t.Fatalf("hello = %d %q", status, body)
	}
	eventually(t, "the code released", func() bool {
		v, ok := value(scrape(t, base), "wfn_function_code_loaded", "fn", "api/hello.wasm")
		return ok && v == 0
	})
	if status, body := get(t, base+"/api/hello"); status != 200 || body != "Hello from wfn!" {
		t.Fatalf("hello after the release = %d %q", status, body)
	}
	after := scrape(t, base)
	if v, ok := value(after, "wfn_function_code_loads_total", "fn", "api/hello.wasm"); !ok || v < 1 {
		t.Errorf("wfn_function_code_loads_total = %v (found %v), want at least 1", v, ok)
	}
}

func TestGuard(t *testing.T) {
	s := serve(t, host.Config{Dir: watDir(t, "hello")})
	tests := []struct {
		name   string
		path   string
		header []string
		status int
	}{
		{"metrics from loopback", "/_wfn/metrics", nil, 200},
		{"dashboard from loopback", "/_wfn/", nil, 200},
		{"metrics through a proxy", "/_wfn/metrics", []string{"X-Forwarded-For", "203.0.113.9"}, 403},
		{"dashboard through a proxy", "/_wfn/", []string{"Forwarded", "for=203.0.113.9"}, 403},
		{"healthz through a proxy", "/_wfn/healthz", []string{"X-Forwarded-For", "203.0.113.9"}, 200},
		{"unknown endpoint", "/_wfn/nope", nil, 404},
		{"allocation profile from loopback", "/_wfn/debug/pprof/allocs", nil, 200},
		{"CPU profile from loopback", "/_wfn/debug/pprof/profile?seconds=1", nil, 200},
		{"CPU profile of too long", "/_wfn/debug/pprof/profile?seconds=100000", nil, 400},
		{"unknown profile", "/_wfn/debug/pprof/nope", nil, 404},
		{"profile through a proxy", "/_wfn/debug/pprof/allocs", []string{"X-Forwarded-For", "203.0.113.9"}, 403},
		{"a function", "/api/hello", []string{"X-Forwarded-For", "203.0.113.9"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := get(t, s.srv.URL+tt.path, tt.header...); status != tt.status {
				t.Errorf("GET %s = %d %q, want %d", tt.path, status, body, tt.status)
			}
		})
	}

	// A profile is pprof's gzipped protocol buffer (go tool pprof reads it).
	if _, body := get(t, s.srv.URL+"/_wfn/debug/pprof/profile?seconds=1"); !strings.HasPrefix(body, "\x1f\x8b") {
		t.Errorf("the CPU profile is not gzipped: %q", body[:min(len(body), 16)])
	}

	// Peers outside AllowFrom get 403; the health check still answers.
	other, err := admin.New(s.h, admin.Options{AllowFrom: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(other)
	defer srv.Close()
	if status, _ := get(t, srv.URL+"/_wfn/metrics"); status != http.StatusForbidden {
		t.Errorf("metrics from outside AllowFrom = %d, want 403", status)
	}
	if status, _ := get(t, srv.URL+"/_wfn/debug/pprof/goroutine"); status != http.StatusForbidden {
		t.Errorf("a profile from outside AllowFrom = %d, want 403", status)
	}
	if status, _ := get(t, srv.URL+"/_wfn/healthz"); status != http.StatusOK {
		t.Errorf("healthz from outside AllowFrom = %d, want 200", status)
	}
}

// events reads the server-sent events of /_wfn/events into a channel of
// "name data" strings.
func events(t *testing.T, base string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_wfn/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events Content-Type = %q", ct)
	}
	ch := make(chan string, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "event: "); ok {
				name = n
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				ch <- name + " " + d
			}
		}
		close(ch)
	}()
	return ch
}

func TestEventsAndErrorLog(t *testing.T) {
	cacheDir := t.TempDir()
	dir := watDir(t, "hello", "trap", "kv")
	s := serve(t, host.Config{Dir: dir, CacheDir: cacheDir})
	ev := events(t, s.srv.URL)
	get(t, s.srv.URL+"/api/kv")
	var inv admin.Invocation
	var guestLog admin.Record
	for inv.ID == "" || guestLog.ID == "" {
		select {
		case e, ok := <-ev:
			if !ok {
				t.Fatal("the event stream ended")
			}
			name, data, _ := strings.Cut(e, " ")
			switch name {
			case "invocation":
				if err := json.Unmarshal([]byte(data), &inv); err != nil {
					t.Fatal(err)
				}
			case "log":
				var r admin.Record
				if err := json.Unmarshal([]byte(data), &r); err != nil {
					t.Fatal(err)
				}
				if r.Msg == "kv ran" {
					guestLog = r
				}
			}
		case <-time.After(deadline):
			t.Fatalf("no invocation and guest log pushed (got %+v, %+v)", inv, guestLog)
		}
	}
	if inv.Fn != "api/kv.wasm" || inv.Status != 200 || inv.Path != "/api/kv" || inv.Method != "GET" || inv.Bytes != 1 {
		t.Errorf("invocation = %+v", inv)
	}
	if guestLog.ID != inv.ID || guestLog.Fn != "api/kv.wasm" {
		t.Errorf("guest log %+v, want the id %s of its invocation", guestLog, inv.ID)
	}

	// The trap's error log is kept on disk across a restart.
	get(t, s.srv.URL+"/api/trap")
	var kept []admin.Record
	eventually(t, "the trap's error log", func() bool {
		_, body := get(t, s.srv.URL+"/_wfn/api/logs?errors=1&fn=api/trap.wasm")
		kept = nil
		_ = json.Unmarshal([]byte(body), &kept)
		return len(kept) == 1
	})
	if kept[0].Level != "ERROR" || kept[0].ID == "" {
		t.Errorf("error log = %+v", kept[0])
	}
	s.close(t)

	s2 := serve(t, host.Config{Dir: dir, CacheDir: cacheDir})
	_, body := get(t, s2.srv.URL+"/_wfn/api/logs?errors=1&level=error")
	var again []admin.Record
	if err := json.Unmarshal([]byte(body), &again); err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].ID != kept[0].ID || again[0].Fn != "api/trap.wasm" {
		t.Errorf("error log after a restart = %s, want the trap's", body)
	}
	_, body = get(t, s2.srv.URL+"/_wfn/api/functions")
	var fns []admin.FunctionInfo
	if err := json.Unmarshal([]byte(body), &fns); err != nil || len(fns) != 3 {
		t.Fatalf("functions = %s", body)
	}
}

// do sends a request of method to url without a body and returns its
// status, its Allow header and its body.
func do(t *testing.T, method, url string) (status int, allow, body string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header.Get("Allow"), string(b)
}

// TestProbeMethods: /_wfn/healthz and /_wfn/readyz answer GET and HEAD,
// and another method 405 with Allow: GET, HEAD (RFC 9110 section 15.5.6),
// both where Mount puts them and where MountHealth does (the functions'
// listener beside an admin address of its own); they answered 404.
func TestProbeMethods(t *testing.T) {
	s := serve(t, host.Config{Dir: watDir(t, "hello")})
	health := httptest.NewServer(s.a.MountHealth(s.h))
	defer health.Close()
	for _, base := range []struct{ name, url string }{{"Mount", s.srv.URL}, {"MountHealth", health.URL}} {
		for _, path := range []string{"/_wfn/healthz", "/_wfn/readyz"} {
			for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
				t.Run(base.name+path+" "+method, func(t *testing.T) {
					status, allow, body := do(t, method, base.url+path)
					switch method {
					case http.MethodGet, http.MethodHead:
						if status != http.StatusOK {
							t.Errorf("%s %s = %d %q, want 200", method, path, status, body)
						}
					default:
						if status != http.StatusMethodNotAllowed || allow != "GET, HEAD" {
							t.Errorf("%s %s = %d %q, Allow %q; want 405, Allow: GET, HEAD", method, path, status, body, allow)
						}
					}
				})
			}
		}
	}
	// The other paths under /_wfn/ are not the probes': still 404 there.
	if status, _, body := do(t, http.MethodPost, s.srv.URL+"/_wfn/nope"); status != http.StatusNotFound {
		t.Errorf("POST /_wfn/nope = %d %q, want 404", status, body)
	}
}

// TestReadyzDraining: once Drain is called, /_wfn/readyz answers 503 and
// says why, where Mount and MountHealth put it, while /_wfn/healthz still
// answers 200 (the process is alive).
func TestReadyzDraining(t *testing.T) {
	s := serve(t, host.Config{Dir: watDir(t, "hello")})
	health := httptest.NewServer(s.a.MountHealth(s.h))
	defer health.Close()
	bases := []string{s.srv.URL, health.URL}
	for _, base := range bases {
		if status, body := get(t, base+"/_wfn/readyz"); status != http.StatusOK || body != "ready: 1 functions, 0 failed to load\n" {
			t.Fatalf("GET %s/_wfn/readyz before Drain = %d %q, want 200 ready", base, status, body)
		}
	}
	s.a.Drain()
	s.a.Drain() // a second call changes nothing
	for _, base := range bases {
		if status, body := get(t, base+"/_wfn/readyz"); status != http.StatusServiceUnavailable || body != "draining: shutting down\n" {
			t.Errorf("GET %s/_wfn/readyz after Drain = %d %q, want 503 %q", base, status, body, "draining: shutting down\n")
		}
		if status, body := get(t, base+"/_wfn/healthz"); status != http.StatusOK {
			t.Errorf("GET %s/_wfn/healthz after Drain = %d %q, want 200", base, status, body)
		}
	}
	// The functions still serve: Drain only fails readiness, and the
	// server's own Shutdown stops new connections.
	if status, body := get(t, s.srv.URL+"/api/hello"); status != http.StatusOK || body != "Hello from wfn!" {
		t.Errorf("GET /api/hello after Drain = %d %q", status, body)
	}
}
