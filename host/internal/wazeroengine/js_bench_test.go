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
// interruption checks and the stack counting on (as served) and each
// turned off, to show what they cost the runtime's interpreter.
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
			e, err := New(ctx, mode.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(ctx)
			m, err := e.Compile(ctx, "js", runtime)
			if err != nil {
				b.Fatal(err)
			}
			inst, err := m.Instantiate(ctx, engine.InstanceConfig{Env: env})
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Close(ctx)
			inv := new(hostcall.Invocation)
			req := httptest.NewRequest("GET", "/api/hello", nil)
			cpu := cpuTime()
			for b.Loop() {
				w := httptest.NewRecorder()
				cctx, cancel := context.WithTimeout(ctx, time.Minute) // a deadline, as the host sets
				inv.Reset("bench", "js", w, req, nil, time.Now().Add(time.Minute))
				if err := inst.Call(cctx, "wfn_handle", inv); err != nil {
					b.Fatal(err)
				}
				cancel()
				if !inv.Finish() || w.Body.String() != "Hello from wfn!" {
					b.Fatalf("got %d %q", w.Code, w.Body.String())
				}
			}
			// CPU time moves less than wall time on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
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
