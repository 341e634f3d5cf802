package wasmbin

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// GlobalExportPrefix is the prefix of the export names that ExportGlobals
// gives the defined globals: global i (in the global index space) is
// exported as GlobalExportPrefix+strconv.Itoa(i).
const GlobalExportPrefix = "wfn:snapshot:global:"

// GlobalExportName is the name under which ExportGlobals exports the
// global of index i (in the global index space, imported globals first).
func GlobalExportName(i int) string { return GlobalExportPrefix + strconv.Itoa(i) }

// ExportGlobals returns a copy of wasm that also exports every defined
// global under [GlobalExportName] of its index, so that the host can read
// their values after initialisation (wazero: api.Module.ExportedGlobal).
// Existing exports stay. It returns the errors of Inspect, and one
// wrapping ErrNotSnapshottable if one of the names is already exported.
func ExportGlobals(wasm []byte) ([]byte, error) {
	m, err := parse(wasm)
	if err != nil {
		return nil, err
	}
	return m.exportGlobals(wasm, nil)
}

// exportGlobals writes the module m parsed from wasm with its defined
// globals exported; rewrite, when not nil, may replace other sections
// (it returns the new section, or ok false to keep the section as is).
func (m *module) exportGlobals(wasm []byte, rewrite func(s section) (out []byte, ok bool)) ([]byte, error) {
	var entries []byte
	for i := range m.info.Globals {
		idx := m.info.ImportedGlobals + i
		name := GlobalExportName(idx)
		if m.exportNames[name] {
			return nil, unsupported(-1, "export %q already exists", name)
		}
		entries = appendU32(entries, uint32(len(name)))
		entries = append(entries, name...)
		entries = append(entries, 0x03) // global
		entries = appendU32(entries, uint32(idx))
	}
	out := make([]byte, 0, len(wasm)+len(entries)+16)
	out = append(out, header...)
	exportSection := func(old []byte) {
		payload := appendU32(nil, m.exportCount+uint32(len(m.info.Globals)))
		payload = append(payload, old...)
		payload = append(payload, entries...)
		out = appendSection(out, secExport, payload)
	}
	written := m.exportSec >= 0
	for i, s := range m.sections {
		if !written && s.id != secCustom && sectionOrder[s.id] > sectionOrder[secExport] {
			exportSection(nil)
			written = true
		}
		if i == m.exportSec {
			r := &reader{buf: wasm, pos: s.payloadStart, end: s.end}
			_, _ = r.u32("export count") // parsed before
			exportSection(wasm[r.pos:s.end])
			continue
		}
		if rewrite != nil {
			if b, ok := rewrite(s); ok {
				out = append(out, b...)
				continue
			}
		}
		out = append(out, wasm[s.start:s.end]...)
	}
	if !written {
		exportSection(nil)
	}
	return out, nil
}

// Restore returns a copy of wasm in which
//   - every defined global's initialiser is the constant values[i] (in the
//     order of Info.Globals), as wazero's api.Global.Get returns it: the
//     bits of the value, an i32 or f32 in the low 32 bits (the high bits
//     are ignored);
//   - the memory's minimum is memPages (the maximum is unchanged);
//   - every active data segment is empty, at offset 0, so that it does not
//     overwrite the memory image the host supplies; passive segments and
//     the number of segments are unchanged, so data indices stay valid;
//   - there is no start section.
//
// Everything else is unchanged, custom sections included. It returns the
// errors of Inspect, and an error if values or memPages do not fit the
// module.
func Restore(wasm []byte, values []uint64, memPages uint32) ([]byte, error) {
	m, err := parse(wasm)
	if err != nil {
		return nil, err
	}
	info := &m.info
	if len(values) != len(info.Globals) {
		return nil, fmt.Errorf("wfn: cannot restore module: %d global values for %d globals", len(values), len(info.Globals))
	}
	if memPages < info.MemoryMin || memPages > 65536 || info.HasMax && memPages > info.MemoryMax {
		return nil, fmt.Errorf("wfn: cannot restore module: memory of %d pages does not fit limits min %d, max %d (has max: %t)", memPages, info.MemoryMin, info.MemoryMax, info.HasMax)
	}
	out := make([]byte, 0, len(wasm))
	out = append(out, header...)
	for _, s := range m.sections {
		switch s.id {
		case secStart:
			continue
		case secGlobal:
			out = appendSection(out, secGlobal, restoreGlobals(info.Globals, values))
		case secMemory:
			var p []byte
			if info.HasMax {
				p = appendU32(appendU32([]byte{1, 0x01}, memPages), info.MemoryMax)
			} else {
				p = appendU32([]byte{1, 0x00}, memPages)
			}
			out = appendSection(out, secMemory, p)
		case secData:
			p := appendU32(nil, uint32(len(m.dataSegs)))
			for _, d := range m.dataSegs {
				if d.active {
					// flags 0 (active, memory 0), i32.const 0, end, no bytes
					p = append(p, 0x00, 0x41, 0x00, 0x0B, 0x00)
				} else {
					p = append(p, wasm[d.start:d.end]...)
				}
			}
			out = appendSection(out, secData, p)
		default:
			out = append(out, wasm[s.start:s.end]...)
		}
	}
	return out, nil
}

func restoreGlobals(globals []Global, values []uint64) []byte {
	p := appendU32(nil, uint32(len(globals)))
	for i, g := range globals {
		mut := byte(0)
		if g.Mutable {
			mut = 1
		}
		p = append(p, g.Type, mut)
		v := values[i]
		switch g.Type {
		case TypeI32:
			p = appendS64(append(p, 0x41), int64(int32(uint32(v))))
		case TypeI64:
			p = appendS64(append(p, 0x42), int64(v))
		case TypeF32:
			p = binary.LittleEndian.AppendUint32(append(p, 0x43), uint32(v))
		case TypeF64:
			p = binary.LittleEndian.AppendUint64(append(p, 0x44), v)
		}
		p = append(p, 0x0B)
	}
	return p
}

func appendSection(out []byte, id byte, payload []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(payload)))
	return append(out, payload...)
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
