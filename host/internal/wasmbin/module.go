package wasmbin

import "bytes"

// Value types of globals, as encoded in the binary format.
const (
	TypeI32       byte = 0x7F
	TypeI64       byte = 0x7E
	TypeF32       byte = 0x7D
	TypeF64       byte = 0x7C
	TypeV128      byte = 0x7B
	TypeFuncref   byte = 0x70
	TypeExternref byte = 0x6F
)

// Info is what the host needs to know about a module to snapshot it.
type Info struct {
	// ImportedGlobals is the number of imported globals; they come first in
	// the global index space, so defined global i has index
	// ImportedGlobals+i.
	ImportedGlobals int
	// Globals are the module's own (defined) globals, in index order.
	Globals []Global
	// HasStart is whether the module has a start function.
	HasStart bool
	// MemoryMin and MemoryMax are the limits of the one defined memory, in
	// 64 KiB pages; MemoryMax is meaningful only if HasMax.
	MemoryMin uint32
	MemoryMax uint32
	HasMax    bool
	// DataSegments is the number of data segments, ActiveDataSegments the
	// number of them that are active (copied into memory at
	// instantiation), ActiveDataBytes their total length.
	DataSegments       int
	ActiveDataSegments int
	ActiveDataBytes    int
}

// Global is the type of a defined global.
type Global struct {
	Type    byte // TypeI32, TypeI64, TypeF32 or TypeF64 in a snapshottable module
	Mutable bool
}

// Section IDs.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// sectionOrder is the position of each non-custom section in a module.
var sectionOrder = [...]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10,
	secDataCount: 11, secCode: 12, secData: 13,
}

var sectionNames = [...]string{
	"custom", "type", "import", "function", "table", "memory", "global",
	"export", "start", "element", "code", "data", "data count", "tag",
}

type section struct {
	id           byte
	start        int // offset of the section ID
	payloadStart int
	end          int
}

type span struct{ start, end int }

// module is a parsed module: where its parts are, for rewriting.
type module struct {
	info     Info
	sections []section
	// index into sections, -1 if absent
	exportSec, globalSec, memorySec, dataSec int
	exportNames                              map[string]bool
	exportCount                              uint32
	globalInits                              []span // init expressions, end included
	dataSegs                                 []dataSeg
	importedFuncs                            uint32
	// polls is whether the module imports PollModule's PollName: it was
	// instrumented with Checks.Interrupt, whose countdown is its last
	// global.
	polls bool
}

type dataSeg struct {
	span
	active bool
}

var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// Inspect parses wasm and returns what the host needs to snapshot it, or an
// error wrapping ErrNotSnapshottable that says why it cannot be
// snapshotted (also wrapping ErrMalformed if wasm is malformed).
func Inspect(wasm []byte) (*Info, error) {
	m, err := parse(wasm)
	if err != nil {
		return nil, err
	}
	info := m.info
	return &info, nil
}

func parse(wasm []byte) (*module, error) {
	m := &module{exportSec: -1, globalSec: -1, memorySec: -1, dataSec: -1, exportNames: map[string]bool{}}
	var funcs, codes uint32
	dataCount := int64(-1)
	memories := 0
	sections, err := walkSections(wasm, func(s section, sr *reader, i int) error {
		var err error
		switch s.id {
		case secCustom:
			_, err = sr.name("custom section name")
			sr.pos = sr.end
		case secType:
			_, err = parseTypes(sr)
		case secImport:
			err = m.parseImports(sr, &memories)
		case secFunction:
			funcs, err = sr.u32("function count")
			for i := uint32(0); err == nil && i < funcs; i++ {
				_, err = sr.u32("function type index")
			}
		case secTable:
			err = parseTables(sr)
		case secMemory:
			m.memorySec = i
			err = m.parseMemories(sr, &memories)
		case secGlobal:
			m.globalSec = i
			err = m.parseGlobals(sr)
		case secExport:
			m.exportSec = i
			err = m.parseExports(sr)
		case secStart:
			m.info.HasStart = true
			_, err = sr.u32("start function index")
		case secElement:
			err = parseElements(sr)
		case secCode:
			codes, err = m.parseCode(sr)
		case secData:
			m.dataSec = i
			err = m.parseData(sr)
		case secDataCount:
			var n uint32
			n, err = sr.u32("data count")
			dataCount = int64(n)
		case secTag:
			err = unsupported(s.start, "tag section (exception handling)")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	m.sections = sections
	if funcs != codes {
		return nil, malformed(-1, "%d functions declared but %d function bodies", funcs, codes)
	}
	if dataCount >= 0 && dataCount != int64(m.info.DataSegments) {
		return nil, malformed(-1, "data count section says %d segments, data section has %d", dataCount, m.info.DataSegments)
	}
	if memories == 0 {
		return nil, unsupported(-1, "no defined memory")
	}
	return m, nil
}

// walkSections checks the header of wasm and the order and sizes of its
// sections, and calls visit with each section, a reader of its payload
// (which visit must read to its end) and its index in the list it
// returns.
func walkSections(wasm []byte, visit func(s section, r *reader, i int) error) ([]section, error) {
	if len(wasm) < len(header) {
		return nil, malformed(0, "too short for a module header")
	}
	if !bytes.Equal(wasm[:4], header[:4]) {
		return nil, malformed(0, "no \\0asm magic number")
	}
	if !bytes.Equal(wasm[4:8], header[4:]) {
		return nil, malformed(4, "unsupported binary version % x (not a core module of version 1)", wasm[4:8])
	}
	var sections []section
	r := &reader{buf: wasm, pos: len(header), end: len(wasm)}
	last := 0
	for !r.eof() {
		start := r.pos
		id, _ := r.byte("section ID")
		size, err := r.u32("section size")
		if err != nil {
			return nil, err
		}
		if id >= byte(len(sectionOrder)) {
			return nil, malformed(start, "unknown section ID %d", id)
		}
		if uint64(size) > uint64(r.end-r.pos) {
			return nil, malformed(start, "%s section of %d bytes past the end of the module", sectionNames[id], size)
		}
		s := section{id: id, start: start, payloadStart: r.pos, end: r.pos + int(size)}
		if id != secCustom {
			if sectionOrder[id] <= last {
				return nil, malformed(start, "%s section out of order or repeated", sectionNames[id])
			}
			last = sectionOrder[id]
		}
		sections = append(sections, s)
		sr := &reader{buf: wasm, pos: s.payloadStart, end: s.end}
		if err := visit(s, sr, len(sections)-1); err != nil {
			return nil, err
		}
		if sr.pos != sr.end {
			return nil, malformed(sr.pos, "%s section has %d bytes left over", sectionNames[id], sr.end-sr.pos)
		}
		r.pos = s.end
	}
	return sections, nil
}

func isNumType(t byte) bool { return t >= TypeV128 && t <= TypeI32 }
func isRefType(t byte) bool { return t == TypeFuncref || t == TypeExternref }

// valType reads a value type; types of later proposals (GC, typed function
// references) are not supported.
func valType(r *reader, what string) (byte, error) {
	t, err := r.byte(what)
	if err != nil {
		return 0, err
	}
	if !isNumType(t) && !isRefType(t) {
		return 0, unsupported(r.pos-1, "unknown value type 0x%02x in %s", t, what)
	}
	return t, nil
}

// parseTypes reads the type section: the parameter and result counts of
// each function type.
func parseTypes(r *reader) ([][2]uint32, error) {
	n, err := r.u32("type count")
	if err != nil {
		return nil, err
	}
	var types [][2]uint32
	for i := uint32(0); i < n; i++ {
		form, err := r.byte("type form")
		if err != nil {
			return nil, err
		}
		if form != 0x60 {
			return nil, unsupported(r.pos-1, "type %d has form 0x%02x, not a function type (GC proposal?)", i, form)
		}
		var arity [2]uint32 // parameters, results
		for j := range arity {
			if arity[j], err = r.u32("function type arity"); err != nil {
				return nil, err
			}
			for range arity[j] {
				if _, err := valType(r, "function type"); err != nil {
					return nil, err
				}
			}
		}
		types = append(types, arity)
	}
	return types, nil
}

// limits reads memory or table limits; memory64 and shared memories are
// not supported.
func limits(r *reader, what string) (min, max uint32, hasMax bool, err error) {
	at := r.pos
	flags, err := r.byte(what + " limits")
	if err != nil {
		return 0, 0, false, err
	}
	switch {
	case flags == 0x02 || flags == 0x03:
		return 0, 0, false, unsupported(at, "shared %s", what)
	case flags >= 0x04 && flags <= 0x07:
		return 0, 0, false, unsupported(at, "64-bit %s", what)
	case flags > 0x07:
		return 0, 0, false, malformed(at, "%s limits flags 0x%02x", what, flags)
	}
	if min, err = r.u32(what + " minimum"); err != nil {
		return 0, 0, false, err
	}
	if flags == 0x01 {
		hasMax = true
		if max, err = r.u32(what + " maximum"); err != nil {
			return 0, 0, false, err
		}
	}
	return min, max, hasMax, nil
}

func tableType(r *reader) error {
	at := r.pos
	t, err := r.byte("table element type")
	if err != nil {
		return err
	}
	if !isRefType(t) {
		return unsupported(at, "table element type 0x%02x", t)
	}
	_, _, _, err = limits(r, "table")
	return err
}

func (m *module) parseImports(r *reader, memories *int) error {
	return parseImports(r, func(kind byte, at int, mod, name string) error {
		switch kind {
		case 0x00:
			m.importedFuncs++
			m.polls = m.polls || mod == PollModule && name == PollName
		case 0x02:
			return unsupported(at, "imported memory %s.%s", mod, name)
		case 0x03:
			m.info.ImportedGlobals++
		}
		return nil
	})
}

// parseImports reads the import section and calls visit for each import
// with its kind, the offset of its kind and its names, before its type.
// Imported tags (exception handling) are not supported.
func parseImports(r *reader, visit func(kind byte, at int, mod, name string) error) error {
	n, err := r.u32("import count")
	if err != nil {
		return err
	}
	for range n {
		mod, err := r.name("import module name")
		if err != nil {
			return err
		}
		name, err := r.name("import name")
		if err != nil {
			return err
		}
		at := r.pos
		kind, err := r.byte("import kind")
		if err != nil {
			return err
		}
		if kind > 0x04 {
			return malformed(at, "import kind 0x%02x", kind)
		}
		if kind == 0x04 {
			return unsupported(at, "imported tag %s.%s (exception handling)", mod, name)
		}
		if err := visit(kind, at, mod, name); err != nil {
			return err
		}
		switch kind {
		case 0x00:
			_, err = r.u32("imported function type")
		case 0x01:
			err = tableType(r)
		case 0x02:
			_, _, _, err = limits(r, "memory")
		case 0x03:
			if _, err = valType(r, "imported global type"); err == nil {
				_, err = mutability(r)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func mutability(r *reader) (bool, error) {
	at := r.pos
	b, err := r.byte("global mutability")
	if err != nil {
		return false, err
	}
	if b > 1 {
		return false, malformed(at, "global mutability 0x%02x", b)
	}
	return b == 1, nil
}

func parseTables(r *reader) error {
	n, err := r.u32("table count")
	if err != nil {
		return err
	}
	for range n {
		if err := tableType(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *module) parseMemories(r *reader, memories *int) error {
	n, err := r.u32("memory count")
	if err != nil {
		return err
	}
	if n > 1 {
		return unsupported(r.pos, "%d memories (multi-memory)", n)
	}
	for range n {
		min, max, hasMax, err := limits(r, "memory")
		if err != nil {
			return err
		}
		if min > 65536 || hasMax && (max > 65536 || max < min) {
			return malformed(r.pos, "memory limits min %d max %d", min, max)
		}
		m.info.MemoryMin, m.info.MemoryMax, m.info.HasMax = min, max, hasMax
		*memories++
	}
	return nil
}

func (m *module) parseGlobals(r *reader) error {
	n, err := r.u32("global count")
	if err != nil {
		return err
	}
	for i := range n {
		at := r.pos
		t, err := valType(r, "global type")
		if err != nil {
			return err
		}
		mut, err := mutability(r)
		if err != nil {
			return err
		}
		if t == TypeV128 {
			return unsupported(at, "v128 global %d", m.info.ImportedGlobals+int(i))
		}
		if isRefType(t) {
			return unsupported(at, "reference-typed global %d", m.info.ImportedGlobals+int(i))
		}
		start := r.pos
		if err := constExpr(r); err != nil {
			return err
		}
		m.info.Globals = append(m.info.Globals, Global{Type: t, Mutable: mut})
		m.globalInits = append(m.globalInits, span{start, r.pos})
	}
	return nil
}

func (m *module) parseExports(r *reader) error {
	n, err := parseExports(r, m.exportNames, nil)
	m.exportCount = n
	return err
}

// parseExports reads the export section, records the names in names and
// calls visit, when not nil, for each export. Exported tags (exception
// handling) are not supported.
func parseExports(r *reader, names map[string]bool, visit func(name string, kind byte, idx uint32)) (uint32, error) {
	n, err := r.u32("export count")
	if err != nil {
		return 0, err
	}
	for range n {
		at := r.pos
		name, err := r.name("export name")
		if err != nil {
			return 0, err
		}
		if names[name] {
			return 0, malformed(at, "duplicate export %q", name)
		}
		names[name] = true
		at = r.pos
		kind, err := r.byte("export kind")
		if err != nil {
			return 0, err
		}
		if kind == 0x04 {
			return 0, unsupported(at, "exported tag %q (exception handling)", name)
		}
		if kind > 0x04 {
			return 0, malformed(at, "export kind 0x%02x", kind)
		}
		idx, err := r.u32("export index")
		if err != nil {
			return 0, err
		}
		if visit != nil {
			visit(name, kind, idx)
		}
	}
	return n, nil
}

// parseElements checks the element section's structure. Element segments
// are applied again by the restored module, which is right because no
// instruction can change a table in a snapshottable module.
func parseElements(r *reader) error { return parseElementsIdx(r, nil) }

// parseElementsIdx is parseElements calling check, when not nil, with
// every function index the segments name (0xD2, as ref.func) and every
// index of the constant expressions in them, and the offset of the
// index's encoding.
func parseElementsIdx(r *reader, check func(op byte, idx uint32, at int) error) error {
	n, err := r.u32("element segment count")
	if err != nil {
		return err
	}
	for i := range n {
		at := r.pos
		flags, err := r.u32("element segment flags")
		if err != nil {
			return err
		}
		if flags > 7 {
			return malformed(at, "element segment %d flags %d", i, flags)
		}
		if flags&0b011 == 0b010 { // active with an explicit table index
			if _, err := r.u32("element table index"); err != nil {
				return err
			}
		}
		if flags&0b001 == 0 { // active: offset
			if err := constExprIdx(r, check); err != nil {
				return err
			}
		}
		if flags&0b011 != 0 { // kind (elemkind or reftype) unless flags 0 or 4
			at := r.pos
			k, err := r.byte("element kind")
			if err != nil {
				return err
			}
			if flags&0b100 == 0 && k != 0x00 || flags&0b100 != 0 && !isRefType(k) {
				return unsupported(at, "element kind 0x%02x", k)
			}
		}
		count, err := r.u32("element count")
		if err != nil {
			return err
		}
		for range count {
			if flags&0b100 == 0 {
				var f uint32
				at := r.pos
				if f, err = r.u32("element function index"); err == nil && check != nil {
					err = check(0xD2, f, at)
				}
			} else {
				err = constExprIdx(r, check)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *module) parseData(r *reader) error {
	n, err := r.u32("data segment count")
	if err != nil {
		return err
	}
	for i := range n {
		start := r.pos
		flags, err := r.u32("data segment flags")
		if err != nil {
			return err
		}
		switch flags {
		case 0, 2:
			if flags == 2 {
				at := r.pos
				mem, err := r.u32("data segment memory index")
				if err != nil {
					return err
				}
				if mem != 0 {
					return unsupported(at, "data segment %d for memory %d (multi-memory)", i, mem)
				}
			}
			if err := constExpr(r); err != nil {
				return err
			}
		case 1:
		default:
			return malformed(start, "data segment %d flags %d", i, flags)
		}
		size, err := r.u32("data segment size")
		if err != nil {
			return err
		}
		if err := r.skip(int(size), "data segment bytes"); err != nil {
			return err
		}
		active := flags != 1
		m.dataSegs = append(m.dataSegs, dataSeg{span: span{start, r.pos}, active: active})
		m.info.DataSegments++
		if active {
			m.info.ActiveDataSegments++
			m.info.ActiveDataBytes += int(size)
		}
	}
	return nil
}

// constExpr skips a constant expression, including its end. It accepts the
// instructions of the core specification's constant expressions and of the
// extended-const proposal.
func constExpr(r *reader) error { return constExprIdx(r, nil) }

// constExprIdx is constExpr calling check, when not nil, with the opcode
// and index of every global.get and ref.func, and the offset of the
// index's encoding.
func constExprIdx(r *reader, check func(op byte, idx uint32, at int) error) error {
	for {
		at := r.pos
		op, err := r.byte("constant expression")
		if err != nil {
			return err
		}
		switch op {
		case 0x0B: // end
			return nil
		case 0x41: // i32.const
			_, err = r.signed(32, "i32.const")
		case 0x42: // i64.const
			_, err = r.signed(64, "i64.const")
		case 0x43: // f32.const
			err = r.skip(4, "f32.const")
		case 0x44: // f64.const
			err = r.skip(8, "f64.const")
		case 0x23: // global.get
			var g uint32
			if g, err = r.u32("global.get index"); err == nil && check != nil {
				err = check(op, g, at+1)
			}
		case 0xD0: // ref.null
			err = refNull(r)
		case 0xD2: // ref.func
			var f uint32
			if f, err = r.u32("ref.func index"); err == nil && check != nil {
				err = check(op, f, at+1)
			}
		case 0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E: // i32/i64 add, sub, mul
		case 0xFD: // v128.const
			var sub uint32
			if sub, err = r.u32("SIMD opcode"); err == nil {
				if sub != 0x0C {
					return unsupported(at, "instruction 0xFD %d in a constant expression", sub)
				}
				err = r.skip(16, "v128.const")
			}
		default:
			return unsupported(at, "instruction 0x%02x in a constant expression", op)
		}
		if err != nil {
			return err
		}
	}
}

func refNull(r *reader) error {
	at := r.pos
	t, err := r.byte("ref.null type")
	if err != nil {
		return err
	}
	if !isRefType(t) {
		return unsupported(at, "ref.null heap type 0x%02x", t)
	}
	return nil
}
