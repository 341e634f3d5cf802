//go:build unix

package wazeroengine

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/jsbuild"
	"github.com/wfn-dev/wfn/host/internal/jsruntime"
)

// BenchmarkJSInvoke measures a warm invocation of a TypeScript hello on
// the JavaScript runtime, engine only (no host around it), with the
// interruption checks and the stack counting on (as served), and with
// each turned off, to show what they
// cost the runtime's interpreter; and (fresh) an invocation on an
// instance started from the snapshot. cpu-ns/op is the process's CPU time
// per invocation; linear-bytes the instance's linear memory after it.
//
//	go test ./host/internal/wazeroengine -run '^$' -bench JSInvoke -count 6
//
// WFN_BENCH_JS_RUNTIME names another build of the runtime to measure
// instead of the embedded one (build.sh --out FILE), for comparing builds.
func BenchmarkJSInvoke(b *testing.B) {
	runtime := jsruntime.Wasm
	if path := os.Getenv("WFN_BENCH_JS_RUNTIME"); path != "" {
		var err error
		if runtime, err = os.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	src := "export function GET() {\n  return new Response(\"Hello from wfn!\", { headers: { \"content-type\": \"text/plain; charset=utf-8\" } });\n}\n"
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "api", "hello.ts"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	jsb := &jsbuild.Builder{CacheDir: filepath.Join(b.TempDir(), "js")}
	bundle, _, err := jsb.Build(context.Background(), dir, "api/hello.ts")
	if err != nil {
		b.Fatal(err)
	}
	env := [][2]string{{jsruntime.BundleEnv, string(bundle)}}
	for _, mode := range []struct {
		name string
		opts Options
	}{
		{"served", Options{}},
		{"interrupt-off", Options{NoInterrupt: true}},
		{"stacklimit-off", Options{NoStackLimit: true}},
		{"both-off", Options{NoInterrupt: true, NoStackLimit: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			m := jsModule(b, mode.opts, runtime)
			inst, err := m.Instantiate(ctx, engine.InstanceConfig{Env: env})
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Close(ctx)
			inv := new(hostcall.Invocation)
			cpu := cpuTime()
			for b.Loop() {
				jsHello(b, ctx, inst, inv)
			}
			// CPU time moves less than wall time on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(inst.(*instance).mod.Memory().Size()), "linear-bytes")
		})
	}
	// fresh: an instance started from the snapshot, one invocation, closed:
	// what a cold start costs the engine (the host's own work aside). Its
	// cost over a warm invocation is this less served's.
	b.Run("fresh", func(b *testing.B) {
		ctx := context.Background()
		m := jsModule(b, Options{}, runtime)
		cfg := engine.InstanceConfig{Env: env, Snapshot: true}
		first, err := m.Instantiate(ctx, cfg) // initialises, then snapshots
		if err != nil {
			b.Fatal(err)
		}
		first.Close(ctx)
		inv := new(hostcall.Invocation)
		var mem uint32
		cpu := cpuTime()
		for b.Loop() {
			inst, err := m.Instantiate(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			jsHello(b, ctx, inst, inv)
			mem = inst.(*instance).mod.Memory().Size()
			inst.Close(ctx)
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(mem), "linear-bytes")
	})
}

// jsModule compiles the runtime on a new engine with opts, closed when b
// ends.
func jsModule(b testing.TB, opts Options, runtime []byte) engine.Module {
	ctx := context.Background()
	e, err := New(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(ctx) })
	m, err := e.Compile(ctx, "js", runtime)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// jsHello makes one GET /api/hello invocation of inst and checks its answer.
func jsHello(b testing.TB, ctx context.Context, inst engine.Instance, inv *hostcall.Invocation) {
	req := httptest.NewRequest("GET", "/api/hello", nil)
	w := httptest.NewRecorder()
	cctx, cancel := context.WithTimeout(ctx, time.Minute) // a deadline, as the host sets
	defer cancel()
	inv.Reset("bench", "js", w, req, nil, time.Now().Add(time.Minute))
	if err := inst.Call(cctx, "wfn_handle", inv); err != nil {
		b.Fatal(err)
	}
	if !inv.Finish() || w.Body.String() != "Hello from wfn!" {
		b.Fatalf("got %d %q", w.Code, w.Body.String())
	}
}

// cpuTime is the CPU time (user and system) the process has used, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
