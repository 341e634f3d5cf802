package wazeroengine

import (
	"context"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/enginetest"
)

// BenchmarkInstantiate measures creating an instance of the Go and C hello
// guests, with the module's size and the instance's linear memory.
//
//	go test ./host/internal/wazeroengine -run '^$' -bench Instantiate -benchmem
func BenchmarkInstantiate(b *testing.B) {
	enginetest.BenchInstantiate(b, "../../..",
		func(ctx context.Context) (engine.Engine, error) { return New(ctx, Options{}) },
		func(inst engine.Instance) uint64 { return uint64(inst.(*instance).mod.Memory().Size()) })
}
