package wazeroengine

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/gobuild"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
)

// BenchmarkInterruption measures what the checks that let a deadline stop
// a spinning guest cost a compute-heavy guest: on (the default, wazero's
// WithCloseOnContextDone) and inline (Options.InlineInterrupt, the checks
// of wasmbin.Checks.Interrupt) against off, for a WAT loop and a Go guest
// hashing 8 MiB.
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
		}{{"on", Options{}}, {"inline", Options{InlineInterrupt: true}}, {"off", Options{NoInterrupt: true}}} {
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
