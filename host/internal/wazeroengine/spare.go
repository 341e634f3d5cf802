package wazeroengine

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// spare is what an unloaded module compiles again (Load): the
// WebAssembly it was compiled from, prepared and instrumented, and its
// data image. With a cache directory they are in a file there, named by
// the SHA-256 of its content and shared by the modules that have the same
// (guests built from the same code, the JavaScript functions), so that
// an unloaded module holds no memory for them; without one they stay in
// memory.
type spare struct {
	path       string
	wasm, data []byte // when path is ""
}

// keep makes the spare of a module compiled from wasm with data as its
// data image (nil: none). The file is written once, through a temporary
// file renamed into place, so that a reader never sees it half written.
func (e *Engine) keep(wasm, data []byte) (spare, error) {
	if e.spareDir == "" {
		return spare{wasm: wasm, data: data}, nil
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(wasm)))
	h := sha256.New()
	h.Write(n[:])
	h.Write(wasm)
	h.Write(data)
	path := filepath.Join(e.spareDir, hex.EncodeToString(h.Sum(nil))+".bin")
	if _, err := os.Stat(path); err == nil {
		return spare{path: path}, nil
	}
	if err := os.MkdirAll(e.spareDir, 0o755); err != nil {
		return spare{}, err
	}
	tmp, err := os.CreateTemp(e.spareDir, "tmp-*")
	if err != nil {
		return spare{}, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(n[:])
	if err == nil {
		_, err = tmp.Write(wasm)
	}
	if err == nil {
		_, err = tmp.Write(data)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return spare{}, err
	}
	return spare{path: path}, nil
}

// errDamaged is the error of a spare file whose content is not what its
// name says.
var errDamaged = errors.New("damaged")

// read returns the spare's WebAssembly and data image.
func (s spare) read() (wasm, data []byte, err error) {
	if s.path == "" {
		return s.wasm, s.data, nil
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(b)
	want, _ := hex.DecodeString(filepath.Base(s.path[:len(s.path)-len(".bin")]))
	if len(b) < 8 || !bytes.Equal(sum[:], want) {
		return nil, nil, fmt.Errorf("%s: %w", s.path, errDamaged)
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("%s: %w", s.path, errDamaged)
	}
	return b[8 : 8+n], b[8+n:], nil
}
