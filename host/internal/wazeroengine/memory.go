package wazeroengine

import "github.com/tetratelabs/wazero/experimental"

// limitedAllocator gives each instance its own memory limit: growth past
// limit fails, and memory.grow returns -1 to the guest.
func limitedAllocator(limit uint64) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(cap, max uint64) experimental.LinearMemory {
		return &limitedMemory{limit: limit, buf: make([]byte, 0, min(cap, limit))}
	})
}

type limitedMemory struct {
	buf   []byte
	limit uint64
}

func (m *limitedMemory) Reallocate(size uint64) []byte {
	// A module's declared minimum is always granted, or it could not
	// start at all; the limit applies to growth.
	if size > m.limit && size > uint64(len(m.buf)) && len(m.buf) > 0 {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		// Memory only grows, so the bytes past len are still zero.
		m.buf = m.buf[:size]
		return m.buf
	}
	m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	return m.buf
}

func (m *limitedMemory) Free() { m.buf = nil }
