//go:build !linux

package wazeroengine

import "github.com/tetratelabs/wazero/experimental"

// image is the initial content of linear memory, copied into each
// instance that starts from it.
type image struct {
	data []byte // a whole number of wasm pages
}

func newImage(b []byte) (*image, error) {
	b = b[:trimZeroPages(b)]
	size := (len(b) + wasmPage - 1) / wasmPage * wasmPage
	data := make([]byte, size)
	copy(data, b)
	return &image{data: data}, nil
}

func (img *image) len() uint64 {
	if img == nil {
		return 0
	}
	return uint64(len(img.data))
}

func (img *image) copyTo(b []byte) { copy(b, img.data) }

func (img *image) Close() error { return nil }

func newLinearMemory(cap, max, limit uint64, img *image, initial uint64) experimental.LinearMemory {
	return newSliceMemory(cap, limit, img, initial)
}
