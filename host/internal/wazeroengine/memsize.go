package wazeroengine

import "github.com/wfn-dev/wfn/host/internal/engine"

var _ engine.MemorySizer = (*instance)(nil)

// MemorySize is the size of the instance's linear memory, in bytes: 0
// when the guest has none.
func (i *instance) MemorySize() uint64 {
	if m := i.mod.Memory(); m != nil {
		return uint64(m.Size())
	}
	return 0
}
