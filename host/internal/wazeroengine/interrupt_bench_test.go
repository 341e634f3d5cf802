//go:build unix

package wazeroengine

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/gobuild"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
)

// BenchmarkInterruption measures what the checks that let a deadline stop
// a spinning guest cost a compute-heavy guest: on (the default, the checks
// of wasmbin.Checks.Interrupt) and wazero (Options.CloseOnContextDone,
// wazero's own) against off, for a WAT loop and a Go guest hashing 8 MiB.
//
//	go test ./host/internal/wazeroengine -run '^$' -bench Interruption -count 6
func BenchmarkInterruption(b *testing.B) {
	wat, err := os.ReadFile("../../../testdata/wat/compute.wasm")
	if err != nil {
		b.Fatal(err)
	}
	guests := []struct {
		name string
		wasm func(b *testing.B) []byte
	}{
		{"wat-loop", func(*testing.B) []byte { return wat }},
		{"go-sha256", buildCompute},
	}
	for _, g := range guests {
		for _, mode := range []struct {
			name string
			opts Options
		}{{"on", Options{}}, {"wazero", Options{CloseOnContextDone: true}}, {"off", Options{NoInterrupt: true}}} {
			b.Run(g.name+"/interrupt-"+mode.name, func(b *testing.B) {
				benchGuest(b, mode.opts, g.name, g.wasm(b), "/api/compute")
			})
		}
	}
}

// BenchmarkStackLimit measures what counting the stack costs (the rewrite
// of wasmbin.LimitStack, on by default) against running the guest as it
// is, for a Go guest hashing 8 MiB and one recursing 10,000 calls deep.
//
//	go test ./host/internal/wazeroengine -run '^$' -bench StackLimit -count 6
func BenchmarkStackLimit(b *testing.B) {
	for _, g := range []struct{ name, target string }{
		{"compute", "/api/compute"},
		{"deep", "/api/deep?n=10000"},
	} {
		for _, mode := range []struct {
			name string
			off  bool
		}{{"on", false}, {"off", true}} {
			b.Run(g.name+"/limit-"+mode.name, func(b *testing.B) {
				benchGuest(b, Options{NoStackLimit: mode.off}, g.name, buildGuest(b, g.name), g.target)
			})
		}
	}
}

// benchGuest calls a guest's wfn_handle for target with the engine opts.
func benchGuest(b *testing.B, opts Options, name string, wasm []byte, target string) {
	ctx := context.Background()
	e, err := New(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	m, err := e.Compile(ctx, name, wasm)
	if err != nil {
		b.Fatal(err)
	}
	inst, err := m.Instantiate(ctx, engine.InstanceConfig{})
	if err != nil {
		b.Fatal(err)
	}
	inv := new(hostcall.Invocation)
	req := httptest.NewRequest("GET", target, nil)
	cpu := cpuTime()
	defer func() {
		// CPU time moves less than wall time on a shared machine.
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	}()
	for b.Loop() {
		w := httptest.NewRecorder()
		cctx, cancel := context.WithTimeout(ctx, time.Minute) // a deadline, as the host sets
		inv.Reset("bench", name, w, req, nil, time.Now().Add(time.Minute))
		if err := inst.Call(cctx, "wfn_handle", inv); err != nil {
			b.Fatal(err)
		}
		cancel()
		if !inv.Finish() || w.Body.Len() == 0 {
			b.Fatal("no result")
		}
	}
}

func buildCompute(b *testing.B) []byte { return buildGuest(b, "compute") }

var built = map[string][]byte{}

// buildGuest builds testdata/guests/api/NAME.
func buildGuest(b *testing.B, name string) []byte {
	if wasm := built[name]; wasm != nil {
		return wasm
	}
	if _, err := exec.LookPath("go"); err != nil {
		b.Skip("skipping: the go command is needed to build the Go guest")
	}
	dir, _ := filepath.Abs("../../../testdata/guests/api/" + name)
	builder := &gobuild.Builder{CacheDir: filepath.Join(os.TempDir(), "wfn-bench-build")}
	path, _, err := builder.Build(context.Background(), "api/"+name, dir, []string{"main.go"})
	if err != nil {
		b.Fatal(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	built[name] = wasm
	return wasm
}

// BenchmarkCollectorStop measures how long the garbage collector waits to
// stop the world while a guest spins in compiled code (it waits for the
// guest's goroutine to call into Go: the poll of the interrupt checks),
// for a tight loop that calls nothing, a loop calling a guest function,
// recursion without a loop, and the Go guest hashing: the worst and the
// median of Go's /sched/pauses/stopping/gc:seconds over b.N collections.
// With NoInterrupt a collection would wait for the guest to end; with
// CloseOnContextDone (wazero's own check, a call into Go at every loop
// header and function entry) it is as short as the machine allows.
//
//	go test ./host/internal/wazeroengine -run '^$' -bench CollectorStop -benchtime 50x
func BenchmarkCollectorStop(b *testing.B) {
	read := func(name string) []byte {
		wasm, err := os.ReadFile("../../../testdata/wat/" + name + ".wasm")
		if err != nil {
			b.Fatal(err)
		}
		return wasm
	}
	for _, g := range []struct {
		name, target string
		wasm         func(b *testing.B) []byte
	}{
		{"loop", "/", func(*testing.B) []byte { return read("loop") }},
		{"callloop", "/", func(*testing.B) []byte { return read("callloop") }},
		{"fib", "/", func(*testing.B) []byte { return read("fib") }},
		{"go-sha256", "/api/compute", buildCompute},
	} {
		for _, mode := range []struct {
			name string
			opts Options
		}{{"on", Options{}}, {"wazero", Options{CloseOnContextDone: true}}} {
			b.Run(g.name+"/interrupt-"+mode.name, func(b *testing.B) {
				if g.name == "fib" && mode.opts.CloseOnContextDone {
					b.Skip("wazero's own check does not stop recursion without a loop")
				}
				ctx := context.Background()
				e, err := New(ctx, mode.opts)
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close(ctx)
				m, err := e.Compile(ctx, g.name, g.wasm(b))
				if err != nil {
					b.Fatal(err)
				}
				inst, err := m.Instantiate(ctx, engine.InstanceConfig{})
				if err != nil {
					b.Fatal(err)
				}
				defer inst.Close(ctx)
				cctx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() {
					defer close(done)
					for cctx.Err() == nil { // the Go guest ends by itself: again
						inv := new(hostcall.Invocation)
						inv.Reset("bench", g.name, httptest.NewRecorder(), httptest.NewRequest("GET", g.target, nil), nil, time.Now().Add(time.Hour))
						_ = inst.Call(cctx, "wfn_handle", inv)
					}
				}()
				time.Sleep(10 * time.Millisecond) // into its loop
				before := stopHistogram()
				for b.Loop() {
					runtime.GC()
				}
				after := stopHistogram()
				cancel()
				<-done
				med, worst := histogramDelta(before, after)
				b.ReportMetric(med*1e3, "ms-stop-median")
				b.ReportMetric(worst*1e3, "ms-stop-max")
			})
		}
	}
}

const stopMetric = "/sched/pauses/stopping/gc:seconds"

func stopHistogram() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: stopMetric}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// histogramDelta returns the median and the largest of the values added
// between two reads of a histogram (each bucket's upper bound).
func histogramDelta(before, after *metrics.Float64Histogram) (median, worst float64) {
	var n uint64
	counts := make([]uint64, len(after.Counts))
	for i := range counts {
		counts[i] = after.Counts[i] - before.Counts[i]
		n += counts[i]
	}
	var seen uint64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		if seen < (n+1)/2 && seen+c >= (n+1)/2 {
			median = after.Buckets[i+1]
		}
		seen += c
		worst = after.Buckets[i+1]
	}
	return median, worst
}
