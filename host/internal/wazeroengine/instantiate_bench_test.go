package wazeroengine

import (
	"context"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/enginetest"
)

// BenchmarkInstantiate measures creating an instance (compiled code ready,
// _initialize run) of the Go and C hello guests, and reports the module's
// size and the instance's linear memory.
//
//	go test ./host/internal/wazeroengine -run '^$' -bench Instantiate -benchmem
func BenchmarkInstantiate(b *testing.B) {
	for name, wasm := range enginetest.Hellos(b, "../../..") {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			e, err := New(ctx, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(ctx)
			m, err := e.Compile(ctx, name, wasm)
			if err != nil {
				b.Fatal(err)
			}
			var linear uint32
			b.ReportAllocs()
			for b.Loop() {
				inst, err := m.Instantiate(ctx, engine.InstanceConfig{})
				if err != nil {
					b.Fatal(err)
				}
				linear = inst.(*instance).mod.Memory().Size()
				inst.Close(ctx)
			}
			b.ReportMetric(float64(len(wasm)), "module-bytes")
			b.ReportMetric(float64(linear), "linear-bytes")
		})
	}
}
