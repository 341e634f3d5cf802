package fluid

import (
	"slices"

	"github.com/wfn-dev/wfn/abi"
)

// Marked reports whether wasm exports the function abi.ExportMarkerV2:
// the guest is built for ABI version 2, and the host compiles it with
// Compiler.CompileV2. It reads only the export section (WebAssembly Core
// Specification, sections 5.5.2 and 5.5.10); a malformed module is not
// marked, and the compiler then says what is wrong with it.
func Marked(wasm []byte) bool {
	return slices.Contains(funcExports(wasm), abi.ExportMarkerV2)
}

// HandlerExports returns the handler exports of a version 2 guest: its
// method exports (abi.Methods) in abi.Methods order, then
// abi.ExportHandle when it exports it. The host calls each once per
// instance for the guest to register its handler (Pool.Exports), and
// answers 405 for a method with no export when there is no wfn_handle, as
// for version 1. It reads only the export section, as Marked; the
// signatures are checked at compile time (Check).
func HandlerExports(wasm []byte) []string {
	funcs := funcExports(wasm)
	var out []string
	for _, m := range append(slices.Clone(abi.Methods), abi.ExportHandle) {
		if slices.Contains(funcs, m) {
			out = append(out, m)
		}
	}
	return out
}

// funcExports returns the names of the functions wasm exports, nil for a
// malformed module.
func funcExports(wasm []byte) []string {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil
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
			return nil
		}
		end := p + int(size)
		if id != 7 { // not the export section
			p = end
			continue
		}
		count, ok := uleb()
		var names []string
		for i := uint32(0); ok && i < count; i++ {
			var n uint32
			if n, ok = uleb(); !ok || int(n) > end-p {
				return nil
			}
			name := string(wasm[p : p+int(n)])
			p += int(n)
			if p >= end {
				return nil
			}
			kind := wasm[p]
			p++
			if _, ok = uleb(); ok && kind == 0 {
				names = append(names, name)
			}
		}
		if !ok {
			return nil
		}
		return names
	}
	return nil
}
