package wazeroengine

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tetratelabs/wazero/experimental"
)

// image is the initial content of linear memory, shared by the instances
// that start from it: a sealed memfd that each maps privately, so pages are
// copied only when an instance writes them.
type image struct {
	fd    int    // -1 for a small image
	small []byte // a small image's bytes, copied rather than mapped
	size  uint64 // a whole number of wasm pages
}

// smallImage is the size up to which an image is copied into each
// instance: mapping a file costs more than copying a few pages, and faults
// on a shared file mapping cost more than on private memory.
const smallImage = 64 << 10

// newImage stores b, padded to whole wasm pages. Pages of zeroes at its
// end are left out, and those inside are left as holes: they cost nothing.
func newImage(b []byte) (*image, error) {
	b = b[:trimZeroPages(b)]
	size := roundUp(uint64(len(b)), wasmPage)
	if size <= smallImage {
		return &image{fd: -1, small: bytes.Clone(b), size: size}, nil
	}
	fd, err := unix.MemfdCreate("wfn-image", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("wfn: memory image: %w", err)
	}
	fail := func(err error) (*image, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("wfn: memory image: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail(err)
	}
	for off := 0; off < len(b); {
		// Write one run of pages that are not all zeroes.
		for off < len(b) && isZero(b[off:min(off+len(zeroPage), len(b))]) {
			off += len(zeroPage)
		}
		end := off
		for end < len(b) && !isZero(b[end:min(end+len(zeroPage), len(b))]) {
			end += len(zeroPage)
		}
		end = min(end, len(b))
		for off < end {
			n, err := unix.Pwrite(fd, b[off:end], int64(off))
			if err != nil {
				return fail(err)
			}
			off += n
		}
	}
	// Sealed: no one can change the image under the instances mapping it.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		return fail(err)
	}
	return &image{fd: fd, size: size}, nil
}

func (img *image) len() uint64 {
	if img == nil {
		return 0
	}
	return img.size
}

// copyTo fills b (at most img.len() bytes) from the image.
func (img *image) copyTo(b []byte) {
	if img.fd < 0 {
		copy(b, img.small)
		return
	}
	for off := 0; off < len(b); {
		n, err := unix.Pread(img.fd, b[off:], int64(off))
		if n <= 0 || err != nil {
			return // the rest stays zero; cannot happen with a sealed memfd
		}
		off += n
	}
}

// Close releases the image. Instances that mapped it keep their mappings.
func (img *image) Close() error {
	if img == nil || img.fd < 0 {
		return nil
	}
	return unix.Close(img.fd)
}

var osPage = uint64(os.Getpagesize())

// mmapMemory is linear memory in a reservation of address space as large
// as the instance may ever need: growing makes pages accessible in place
// and never copies.
type mmapMemory struct {
	base      unsafe.Pointer
	reserve   uint64 // bytes reserved
	committed uint64 // bytes accessible, from base
	limit     uint64
	initial   uint64 // the size of memory at least
}

// reservations keeps released reservations for reuse, by size: an instance
// that closes gives its address space (emptied) to the next one.
var reservations = struct {
	sync.Mutex
	free map[uint64][]unsafe.Pointer
}{free: map[uint64][]unsafe.Pointer{}}

const maxFreeReservations = 256 // per size

func reserve(size uint64) (unsafe.Pointer, error) {
	reservations.Lock()
	if l := reservations.free[size]; len(l) > 0 {
		p := l[len(l)-1]
		reservations.free[size] = l[:len(l)-1]
		reservations.Unlock()
		return p, nil
	}
	reservations.Unlock()
	return unix.MmapPtr(-1, 0, nil, uintptr(size), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
}

// unreserve empties a reservation whose first used bytes were made
// accessible (its pages go back to the system) and keeps it for reuse.
func unreserve(p unsafe.Pointer, size, used uint64) {
	// Mapping fresh inaccessible pages over the used range drops the image
	// mapping and every written page in one call; the rest was never
	// touched. (Remapping the whole reservation would cost a walk of its
	// page tables, tens of microseconds for gigabytes.)
	if used > 0 {
		if _, err := unix.MmapPtr(-1, 0, p, uintptr(used), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED); err != nil {
			_ = unix.MunmapPtr(p, uintptr(size))
			return
		}
	}
	reservations.Lock()
	if l := reservations.free[size]; len(l) < maxFreeReservations {
		reservations.free[size] = append(l, p)
		reservations.Unlock()
		return
	}
	reservations.Unlock()
	_ = unix.MunmapPtr(p, uintptr(size))
}

func newLinearMemory(cap, max, limit uint64, img *image, initial uint64) experimental.LinearMemory {
	size := min(max, limit)
	size = roundUp(size, wasmPage)
	size = maxOf(size, roundUp(cap, wasmPage), img.len(), initial)
	if size == 0 {
		return newSliceMemory(cap, limit, img, initial)
	}
	base, err := reserve(size)
	if err != nil {
		// Out of address space or mappings: a slice still works.
		return newSliceMemory(cap, limit, img, initial)
	}
	m := &mmapMemory{base: base, reserve: size, limit: limit, initial: initial}
	if img != nil && img.fd < 0 {
		// Copied in: the pages become accessible, then written.
		if m.Reallocate(img.size) == nil {
			unreserve(base, size, m.committed)
			return newSliceMemory(cap, limit, img, initial)
		}
		copy(unsafe.Slice((*byte)(base), len(img.small)), img.small)
	} else if img != nil {
		if _, err := unix.MmapPtr(img.fd, 0, base, uintptr(img.size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
			unreserve(base, size, img.size)
			return newSliceMemory(cap, limit, img, initial)
		}
		m.committed = img.size
	}
	return m
}

func (m *mmapMemory) Reallocate(size uint64) []byte {
	// A snapshot larger than the declared minimum gives a larger memory.
	size = max(size, m.initial)
	if size > m.reserve || (size > m.limit && size > m.committed && m.committed > 0) {
		return nil
	}
	if size > m.committed {
		end := roundUp(size, osPage)
		grow := unsafe.Slice((*byte)(unsafe.Add(m.base, m.committed)), end-m.committed)
		if err := unix.Mprotect(grow, unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil
		}
		m.committed = end
	}
	return unsafe.Slice((*byte)(m.base), size)
}

func (m *mmapMemory) Free() {
	if m.base != nil {
		unreserve(m.base, m.reserve, m.committed)
		m.base = nil
	}
}

func roundUp(n, to uint64) uint64 { return (n + to - 1) / to * to }

func maxOf(a uint64, b ...uint64) uint64 {
	for _, x := range b {
		a = max(a, x)
	}
	return a
}
