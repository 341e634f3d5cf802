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
)

// BenchmarkInterruption measures what the checks that let a deadline stop
// a spinning guest cost a compute-heavy guest: on (the default) against
// off, for a WAT loop and a Go guest hashing 8 MiB.
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
			off  bool
		}{{"on", false}, {"off", true}} {
			b.Run(g.name+"/interrupt-"+mode.name, func(b *testing.B) {
				ctx := context.Background()
				e, err := New(ctx, Options{NoInterrupt: mode.off})
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
				inv := new(engine.Invocation)
				req := httptest.NewRequest("GET", "/api/compute", nil)
				for b.Loop() {
					w := httptest.NewRecorder()
					cctx, cancel := context.WithTimeout(ctx, time.Minute) // a deadline, as the host sets
					inv.Reset("bench", g.name, w, req, nil, time.Now().Add(time.Minute))
					if err := inst.Call(cctx, "wfn_handle", inv); err != nil {
						b.Fatal(err)
					}
					cancel()
					if !inv.Finish() || w.Body.Len() == 0 {
						b.Fatal("no result")
					}
				}
			})
		}
	}
}

var computeWasm []byte

func buildCompute(b *testing.B) []byte {
	if computeWasm != nil {
		return computeWasm
	}
	if _, err := exec.LookPath("go"); err != nil {
		b.Skip("skipping: the go command is needed to build the Go guest")
	}
	dir, _ := filepath.Abs("../../../testdata/guests/api/compute")
	builder := &gobuild.Builder{CacheDir: filepath.Join(os.TempDir(), "wfn-bench-build")}
	path, _, err := builder.Build(context.Background(), "api/compute", dir, []string{"main.go"})
	if err != nil {
		b.Fatal(err)
	}
	computeWasm, err = os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return computeWasm
}
