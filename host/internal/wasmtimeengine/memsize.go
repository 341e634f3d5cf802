//go:build wasmtime

package wasmtimeengine

import "github.com/wfn-dev/wfn/host/internal/engine"

var _ engine.MemorySizer = (*instance)(nil)

// MemorySize is the size of the instance's linear memory, in bytes: 0
// when the guest exports none.
func (i *instance) MemorySize() uint64 {
	if ext := i.inst.GetExport(i.store, "memory"); ext != nil {
		if m := ext.Memory(); m != nil {
			return uint64(m.DataSize(i.store))
		}
	}
	return 0
}
