package fluid

import "github.com/wfn-dev/wfn/abi"

// Marked reports whether wasm exports the function abi.ExportMarkerV2:
// the guest is built for ABI version 2, and the host compiles it with
// Compiler.CompileV2. It reads only the export section (WebAssembly Core
// Specification, sections 5.5.2 and 5.5.10); a malformed module is not
// marked, and the compiler then says what is wrong with it.
func Marked(wasm []byte) bool {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return false
	}
	p := 8
	uleb := func() (uint32, bool) {
		var v uint32
		for shift := 0; shift < 35; shift += 7 {
			if p >= len(wasm) {
				return 0, false
			}
			b := wasm[p]
			p++
			v |= uint32(b&0x7f) << shift
			if b&0x80 == 0 {
				return v, true
			}
		}
		return 0, false
	}
	for p < len(wasm) {
		id := wasm[p]
		p++
		size, ok := uleb()
		if !ok || int(size) > len(wasm)-p {
			return false
		}
		end := p + int(size)
		if id != 7 { // not the export section
			p = end
			continue
		}
		count, ok := uleb()
		for i := uint32(0); ok && i < count; i++ {
			var n uint32
			if n, ok = uleb(); !ok || int(n) > end-p {
				return false
			}
			name := string(wasm[p : p+int(n)])
			p += int(n)
			if p >= end {
				return false
			}
			kind := wasm[p]
			p++
			if _, ok = uleb(); ok && kind == 0 && name == abi.ExportMarkerV2 {
				return true
			}
		}
		return false
	}
	return false
}
