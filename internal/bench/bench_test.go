package bench_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wfn-dev/wfn/internal/bench"
)

func TestLoadCounts(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name   string
		path   string
		ok     bool // 2xx expected, else non-2xx
		warmup time.Duration
	}{
		{name: "2xx", path: "/ok", ok: true},
		{name: "2xx after a warm-up", path: "/ok", ok: true, warmup: 50 * time.Millisecond},
		{name: "non-2xx", path: "/fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := served.Load()
			res, err := bench.Load{Addr: addr, Path: tt.path, Conns: 4, Warmup: tt.warmup, Duration: 200 * time.Millisecond}.Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			total := int(served.Load() - before)
			if res.Errors != 0 {
				t.Errorf("%d errors: %v", res.Errors, res.FirstErr)
			}
			counted := res.Requests + res.Non2xx
			// Requests outside the window (the warm-up, and those that end
			// after it) are served but not counted.
			if counted == 0 || counted > total {
				t.Errorf("counted %d of %d served", counted, total)
			}
			if tt.ok != (res.Non2xx == 0) || tt.ok != (res.Requests > 0) {
				t.Errorf("ok %d, non-2xx %d, want ok=%v", res.Requests, res.Non2xx, tt.ok)
			}
			if tt.ok && (res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max) {
				t.Errorf("percentiles out of order: %v %v %v", res.P50, res.P99, res.Max)
			}
		})
	}
}

func TestLoadCountsRefusedConnections(t *testing.T) {
	addr, err := bench.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	res, err := bench.Load{Addr: addr, Path: "/", Conns: 2, Duration: 50 * time.Millisecond}.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors == 0 || res.FirstErr == nil {
		t.Errorf("got %d ok, %d errors (%v), want only errors", res.Requests, res.Errors, res.FirstErr)
	}
}

func TestHoldCountsHeldRequests(t *testing.T) {
	b, err := bench.StartBackend("127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	remote := bench.NewRemoteBackend(b.URL)
	const n = 20
	h := bench.Hold(t.Context(), b.Addr(), "/", []byte("x"), n, 4)
	deadline := time.Now().Add(10 * time.Second)
	for {
		held, _, err := remote.Count()
		if err != nil {
			t.Fatal(err)
		}
		if held == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d held, want %d", held, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if h.Done() != 0 {
		t.Fatalf("%d done while held", h.Done())
	}
	if err := remote.Release(); err != nil {
		t.Fatal(err)
	}
	if !h.Wait(10 * time.Second) {
		t.Fatal("not all answered after the release")
	}
	if h.OK.Load() != n || h.Failure() != "" {
		t.Errorf("%d ok, failure %q", h.OK.Load(), h.Failure())
	}
	if _, served, _ := remote.Count(); served != n {
		t.Errorf("backend served %d, want %d", served, n)
	}
}

func TestTable(t *testing.T) {
	tb := &bench.Table{Header: []string{"case", "value", "ratio"}}
	tb.Section("Warm")
	tb.Add("native", "100 req/s", "1.00x")
	tb.Add("wfn, Go guest", "50 req/s", "0.50x | half")
	tb.Note("machine: %s", "test")
	var text, md bytes.Buffer
	if err := tb.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := tb.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	wantText := `case           value      ratio
--------------------------------------
Warm
native         100 req/s  1.00x
wfn, Go guest  50 req/s   0.50x | half
machine: test
`
	wantMD := `| case | value | ratio |
|---|---|---|
| **Warm** |  |  |
| native | 100 req/s | 1.00x |
| wfn, Go guest | 50 req/s | 0.50x \| half |

machine: test
`
	if text.String() != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), wantText)
	}
	if md.String() != wantMD {
		t.Errorf("markdown:\n%s\nwant:\n%s", md.String(), wantMD)
	}
}

func TestPercentileAndMedian(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", p: 50},
		{name: "one", sorted: ms(7), p: 99, want: 7 * time.Millisecond},
		{name: "p50 of 4", sorted: ms(1, 2, 3, 4), p: 50, want: 2 * time.Millisecond},
		{name: "p90 of 10", sorted: ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), p: 90, want: 9 * time.Millisecond},
		{name: "p100", sorted: ms(1, 2, 3), p: 100, want: 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bench.Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
	if got := bench.Median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("Median odd = %v", got)
	}
	if got := bench.Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("Median even = %v", got)
	}
}

// A custom section changes the bytes but not the module.
func TestAppendCustomSection(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("testdata", "wait.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("p"), 200) // a size over 127: two LEB128 bytes
	out := bench.AppendCustomSection(wasm, "wfnbench", payload)
	if bytes.Equal(out, wasm) || !bytes.HasPrefix(out, wasm) {
		t.Fatal("want the section appended")
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCustomSections(true))
	defer rt.Close(ctx)
	mod, err := rt.CompileModule(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range mod.CustomSections() {
		if s.Name() == "wfnbench" {
			found = bytes.Equal(s.Data(), payload)
		}
	}
	if !found {
		t.Errorf("custom section not found intact")
	}
}

func TestMachine(t *testing.T) {
	m := bench.Machine()
	if !strings.Contains(m, "cores") || !strings.Contains(m, "go1") {
		t.Errorf("Machine() = %q", m)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		rss, hwm, err := bench.RSS(os.Getpid())
		if err != nil || rss <= 0 || hwm < rss {
			t.Errorf("RSS = %d, %d, %v", rss, hwm, err)
		}
		// CPUTime counts in clock ticks: spin until it passes one more.
		before, err := bench.CPUTime(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			now, err := bench.CPUTime(os.Getpid())
			if err != nil {
				t.Fatal(err)
			}
			if now > before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("CPUTime stayed at %v while spinning", now)
			}
		}
	}
}

func TestStartServerReportsEarlyExit(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	_, err = bench.StartServer(t.Context(), 10*time.Second, sh, "-c", "echo broken >&2; exit 3")
	var se *bench.StartError
	if !errors.As(err, &se) || !strings.Contains(se.Stderr, "broken") {
		t.Fatalf("got %v, want a StartError with the stderr", err)
	}
	srv, err := bench.StartServer(t.Context(), 10*time.Second, sh, "-c", "echo 'Ready on http://127.0.0.1:1'; sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr != "127.0.0.1:1" {
		t.Errorf("Addr = %q", srv.Addr)
	}
	srv.Stop()
	if !srv.Exited() {
		t.Error("still running after Stop")
	}
}

func ExampleTable() {
	tb := &bench.Table{Header: []string{"case", "req/s"}}
	tb.Add("native", "100")
	tb.Add("wfn", "90")
	tb.WriteText(os.Stdout)
	fmt.Println()
	// Output:
	// case    req/s
	// -------------
	// native  100
	// wfn     90
}

// TestWATFixture checks that testdata/wait.wasm is what testdata/wait.wat
// assembles to.
func TestWATFixture(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("wat2wasm (Debian package wabt) is needed: %v", err)
		}
		t.Skip("wat2wasm (Debian package wabt) is not installed")
	}
	out := filepath.Join(t.TempDir(), "wait.wasm")
	if msg, err := exec.Command(wat2wasm, filepath.Join("testdata", "wait.wat"), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	want, _ := os.ReadFile(out)
	got, err := os.ReadFile(filepath.Join("testdata", "wait.wasm"))
	if err != nil || !bytes.Equal(got, want) {
		t.Error("testdata/wait.wasm is stale; run: wat2wasm testdata/wait.wat -o testdata/wait.wasm")
	}
}
