package wazeroengine

import (
	"bytes"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// The host owns every guest's linear memory. On Linux (memory_linux.go) an
// instance reserves the address space of its whole limit up front, so that
// growing never copies, starts from a memory image mapped copy-on-write
// (the data segments, or a snapshot taken after initialisation), and hands
// its reservation back for reuse when it closes. Elsewhere
// (memory_other.go) memory is a Go slice and the image is copied in.

// wasmPage is the size of a WebAssembly page.
const wasmPage = 64 << 10

// memory is the linear memory of one instance, whichever kind.
type memory struct {
	lin experimental.LinearMemory
	// busy counts the calls running in the instance; a Free that comes
	// while one runs (the engine closing under a guest) is put off until
	// it returns, so that the guest never touches released memory.
	busy    atomic.Int32
	pending atomic.Bool // Free was put off
	freed   atomic.Bool
}

func (m *memory) Reallocate(size uint64) []byte { return m.lin.Reallocate(size) }

func (m *memory) Free() {
	if m.busy.Load() > 0 {
		m.pending.Store(true)
		if m.busy.Load() > 0 {
			return
		}
	}
	m.release()
}

func (m *memory) release() {
	if m.freed.CompareAndSwap(false, true) {
		m.lin.Free()
	}
}

// enter and leave bracket a call into the instance.
func (m *memory) enter() { m.busy.Add(1) }

func (m *memory) leave() {
	if m.busy.Add(-1) == 0 && m.pending.Load() {
		m.release()
	}
}

// allocator makes the memory of one instantiation, capped at limit bytes
// of growth, at least initial bytes large and starting from img (nil:
// zeroes), and records it in *out.
func allocator(limit uint64, img *image, initial uint64, out **memory) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(cap, maxBytes uint64) experimental.LinearMemory {
		m := &memory{lin: newLinearMemory(max(cap, initial), maxBytes, limit, img, initial)}
		*out = m
		return m
	})
}

// sliceMemory is linear memory in a Go slice: growth past limit fails
// (memory.grow returns -1), and growth may copy.
type sliceMemory struct {
	buf   []byte
	limit uint64
}

func newSliceMemory(cap, limit uint64, img *image, initial uint64) *sliceMemory {
	m := &sliceMemory{limit: limit, buf: make([]byte, 0, max(min(cap, limit), img.len(), initial))}
	m.buf = m.buf[:max(img.len(), initial)]
	if img != nil {
		img.copyTo(m.buf)
	}
	return m
}

func (m *sliceMemory) Reallocate(size uint64) []byte {
	// A module's declared minimum, and the image, are always granted, or
	// it could not start at all; the limit applies to growth.
	if size > m.limit && size > uint64(len(m.buf)) && len(m.buf) > 0 {
		return nil
	}
	if size <= uint64(len(m.buf)) {
		return m.buf // a snapshot larger than the declared minimum
	}
	if size <= uint64(cap(m.buf)) {
		// Memory only grows, so the bytes past len are still zero.
		m.buf = m.buf[:size]
		return m.buf
	}
	m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	return m.buf
}

func (m *sliceMemory) Free() { m.buf = nil }

// trimZeroPages returns the length of b without the 4 KiB pages of zeroes
// at its end.
func trimZeroPages(b []byte) int {
	const page = 4096
	n := len(b)
	for n > 0 {
		start := (n - 1) / page * page
		if !isZero(b[start:n]) {
			return n
		}
		n = start
	}
	return 0
}

var zeroPage [4096]byte

// isZero reports whether b, at most 4 KiB, is all zeroes.
func isZero(b []byte) bool { return bytes.Equal(b, zeroPage[:len(b)]) }
