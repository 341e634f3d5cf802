//go:build wasmtime

package wasmtimeengine

import (
	"context"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/enginetest"
)

// BenchmarkInstantiate is wazeroengine's, on Wasmtime.
//
//	go test -tags wasmtime ./host/internal/wasmtimeengine -run '^$' -bench Instantiate -benchmem
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
			var linear uint64
			b.ReportAllocs()
			for b.Loop() {
				inst, err := m.Instantiate(ctx, engine.InstanceConfig{})
				if err != nil {
					b.Fatal(err)
				}
				i := inst.(*instance)
				linear = uint64(i.inst.GetExport(i.store, "memory").Memory().DataSize(i.store))
				inst.Close(ctx)
			}
			b.ReportMetric(float64(len(wasm)), "module-bytes")
			b.ReportMetric(float64(linear), "linear-bytes")
		})
	}
}
