package conformance

import (
	"bytes"
	"errors"
	"fmt"
)

// The suite reads a module's export section itself, without an engine:
// it needs the names of the exports, and a copy of the module without one
// of them. Removing an export changes nothing else in a module.

const exportSection = 7

var wasmHeader = []byte("\x00asm\x01\x00\x00\x00")

// export is one entry of the export section.
type export struct {
	name string
	kind byte // 0 func, 1 table, 2 memory, 3 global
	raw  []byte
}

// parseExports returns the exports of a module, and the offsets of its
// export section (start of the section id, end of its content); start is
// -1 when there is none.
func parseExports(wasm []byte) (exps []export, start, end int, err error) {
	if !bytes.HasPrefix(wasm, wasmHeader) {
		return nil, 0, 0, errors.New("not a WebAssembly module (version 1)")
	}
	start = -1
	p := len(wasmHeader)
	for p < len(wasm) {
		id := wasm[p]
		size, n, err := uleb(wasm[p+1:])
		if err != nil {
			return nil, 0, 0, fmt.Errorf("section at %d: %w", p, err)
		}
		body := p + 1 + n
		next := body + int(size)
		if next > len(wasm) || next < body {
			return nil, 0, 0, fmt.Errorf("section at %d runs past the end", p)
		}
		if id == exportSection {
			exps, err = parseExportSection(wasm[body:next])
			if err != nil {
				return nil, 0, 0, fmt.Errorf("export section: %w", err)
			}
			start, end = p, next
		}
		p = next
	}
	return exps, start, end, nil
}

func parseExportSection(b []byte) ([]export, error) {
	count, n, err := uleb(b)
	if err != nil {
		return nil, err
	}
	b = b[n:]
	var exps []export
	for range count {
		entry := b
		l, n, err := uleb(b)
		if err != nil {
			return nil, err
		}
		if uint64(len(b)-n) < uint64(l)+1 {
			return nil, errors.New("truncated entry")
		}
		name := string(b[n : n+int(l)])
		kind := b[n+int(l)]
		b = b[n+int(l)+1:]
		_, n, err = uleb(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		exps = append(exps, export{name: name, kind: kind, raw: entry[:len(entry)-len(b)]})
	}
	if len(b) != 0 {
		return nil, errors.New("trailing bytes")
	}
	return exps, nil
}

// withoutExport returns a copy of wasm without the named export.
func withoutExport(wasm []byte, name string) ([]byte, error) {
	exps, start, end, err := parseExports(wasm)
	if err != nil {
		return nil, err
	}
	var content []byte
	kept := 0
	for _, e := range exps {
		if e.name != name {
			content = append(content, e.raw...)
			kept++
		}
	}
	if kept == len(exps) {
		return nil, fmt.Errorf("no export %q", name)
	}
	content = append(appendUleb(nil, uint64(kept)), content...)
	out := make([]byte, 0, len(wasm))
	out = append(out, wasm[:start]...)
	out = append(out, exportSection)
	out = appendUleb(out, uint64(len(content)))
	out = append(out, content...)
	out = append(out, wasm[end:]...)
	return out, nil
}

// uleb decodes an unsigned LEB128 number of at most 32 bits.
func uleb(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, 0, errors.New("truncated number")
		}
		v |= uint32(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("number too long")
}

func appendUleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}
