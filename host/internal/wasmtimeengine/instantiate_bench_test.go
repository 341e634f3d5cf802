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
	enginetest.BenchInstantiate(b, "../../..",
		func(ctx context.Context) (engine.Engine, error) { return New(ctx, Options{}) },
		func(inst engine.Instance) uint64 {
			i := inst.(*instance)
			return uint64(i.inst.GetExport(i.store, "memory").Memory().DataSize(i.store))
		})
}
