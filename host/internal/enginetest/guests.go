// Package enginetest builds the example guests for engine benchmarks.
package enginetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/cbuild"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/gobuild"
	"github.com/wfn-dev/wfn/host/internal/jsbuild"
	"github.com/wfn-dev/wfn/host/internal/jsruntime"
)

// Hellos returns the Go and C hello guests (guests/api/hello and
// guests/c/api/hello), built into a cache under the test's temp dir;
// root is the repository root. A missing toolchain skips its guest.
func Hellos(tb testing.TB, root string) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	cache := filepath.Join(os.TempDir(), "wfn-enginetest")
	if _, err := exec.LookPath("go"); err == nil {
		b := &gobuild.Builder{CacheDir: cache}
		p, _, err := b.Build(context.Background(), "api/hello", filepath.Join(root, "guests/api/hello"), []string{"main.go"})
		if err != nil {
			tb.Fatal(err)
		}
		out["go"], _ = os.ReadFile(p)
	}
	cb := &cbuild.Builder{CacheDir: cache}
	if cb.Check(context.Background()) == nil {
		p, _, err := cb.Build(context.Background(), "api/hello", filepath.Join(root, "guests/c/api/hello"), nil)
		if err != nil {
			tb.Fatal(err)
		}
		out["c"], _ = os.ReadFile(p)
	}
	return out
}

// BenchInstantiate measures creating an instance (compiled code ready) of
// each hello guest (Go, C, WAT, and TypeScript on the JavaScript runtime)
// on the engine newEngine makes, by running its
// initialisation ("init") and from a snapshot ("snapshot"), and reports
// the module's size and the instance's linear memory (linear).
func BenchInstantiate(b *testing.B, root string, newEngine func(context.Context) (engine.Engine, error), linear func(engine.Instance) uint64) {
	guests := Hellos(b, root)
	if wat, err := os.ReadFile(filepath.Join(root, "testdata/wat/hello.wasm")); err == nil {
		guests["wat"] = wat
	}
	// The JavaScript runtime with guests/api/ts/hello.ts, its bundle in
	// the environment as the host passes it.
	envs := map[string][][2]string{}
	jsb := &jsbuild.Builder{CacheDir: filepath.Join(b.TempDir(), "js")}
	bundle, _, err := jsb.Build(context.Background(), filepath.Join(root, "guests"), "api/ts/hello.ts")
	if err != nil {
		b.Fatal(err)
	}
	guests["js"] = jsruntime.Wasm
	envs["js"] = [][2]string{{jsruntime.BundleEnv, string(bundle)}}
	for _, name := range []string{"go", "c", "wat", "js"} {
		wasm, ok := guests[name]
		if !ok {
			continue
		}
		for _, mode := range []string{"init", "snapshot"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				ctx := context.Background()
				e, err := newEngine(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close(ctx)
				m, err := e.Compile(ctx, name, wasm)
				if err != nil {
					b.Fatal(err)
				}
				cfg := engine.InstanceConfig{Env: envs[name], Snapshot: mode == "snapshot", MemoryLimit: 2048 << 20}
				first, err := m.Instantiate(ctx, cfg) // takes the snapshot
				if err != nil {
					b.Fatal(err)
				}
				first.Close(ctx)
				var mem uint64
				b.ReportAllocs()
				for b.Loop() {
					inst, err := m.Instantiate(ctx, cfg)
					if err != nil {
						b.Fatal(err)
					}
					mem = linear(inst)
					inst.Close(ctx)
				}
				b.ReportMetric(float64(len(wasm)), "module-bytes")
				b.ReportMetric(float64(mem), "linear-bytes")
			})
		}
	}
}
