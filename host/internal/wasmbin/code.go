package wasmbin

// Immediates of one-byte opcodes.
const (
	opUnknown  = iota // not decoded: the module is not snapshottable
	opNone            // no immediates
	opBlock           // block type; opens a block
	opElse            // else
	opEnd             // end; closes a block or the function
	opIdx             // one u32 index
	opIdx2            // two u32 indices
	opBrTable         // vec(label) label
	opMemarg          // memarg
	opI32             // signed LEB 32
	opI64             // signed LEB 64
	opF32             // 4 bytes
	opF64             // 8 bytes
	opSelectT         // vec(valtype)
	opRefNull         // reftype
	opPrefixFC        // 0xFC u32 subopcode
	opPrefixFD        // 0xFD u32 subopcode
	opPrefixFE        // 0xFE u32 subopcode
	opRejected        // known, and makes the module not snapshottable
)

var opcodes [256]uint8

// rejected names the known instructions that are not decoded: a module
// with them can neither be snapshotted nor rewritten.
var rejected = map[byte]string{
	0x06: "try (exception handling)",
	0x07: "catch (exception handling)",
	0x08: "throw (exception handling)",
	0x09: "rethrow (exception handling)",
	0x0A: "throw_ref (exception handling)",
	0x18: "delegate (exception handling)",
	0x19: "catch_all (exception handling)",
	0x1F: "try_table (exception handling)",
}

// opTableSet is table.set, which changes a table: decoded, but it makes a
// module not snapshottable (tables are not part of a snapshot).
const opTableSet = 0x26

func init() {
	set := func(kind uint8, ops ...byte) {
		for _, op := range ops {
			opcodes[op] = kind
		}
	}
	setRange := func(kind uint8, from, to byte) {
		for op := int(from); op <= int(to); op++ {
			opcodes[op] = kind
		}
	}
	set(opNone, 0x00, 0x01, 0x0F, 0x1A, 0x1B, 0xD1) // unreachable nop return drop select ref.is_null
	set(opBlock, 0x02, 0x03, 0x04)                  // block loop if
	set(opElse, 0x05)
	set(opEnd, 0x0B)
	// br br_if call return_call local.get/set/tee global.get/set table.get
	// table.set memory.size memory.grow (memory index) ref.func
	set(opIdx, 0x0C, 0x0D, 0x10, 0x12, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, opTableSet, 0x3F, 0x40, 0xD2)
	set(opIdx2, 0x11, 0x13) // call_indirect return_call_indirect: type, table
	set(opBrTable, 0x0E)
	setRange(opMemarg, 0x28, 0x3E) // loads and stores
	set(opI32, 0x41)
	set(opI64, 0x42)
	set(opF32, 0x43)
	set(opF64, 0x44)
	setRange(opNone, 0x45, 0xC4) // numeric, and sign extension 0xC0..0xC4
	set(opSelectT, 0x1C)
	set(opRefNull, 0xD0)
	set(opPrefixFC, 0xFC)
	set(opPrefixFD, 0xFD)
	set(opPrefixFE, 0xFE)
	for op := range rejected {
		opcodes[op] = opRejected
	}
}

// Sub-opcodes of the 0xFC prefix.
var fcNames = [...]string{
	12: "table.init", 13: "elem.drop", 14: "table.copy", 15: "table.grow", 17: "table.fill",
}

// Immediates of SIMD (0xFD) sub-opcodes.
const (
	simdUnknown = iota
	simdNone
	simdMemarg
	simdMemargLane
	simdBytes16
	simdLane
)

var simdOps [0x100]uint8

func init() {
	setRange := func(kind uint8, from, to int) {
		for op := from; op <= to; op++ {
			simdOps[op] = kind
		}
	}
	setRange(simdMemarg, 0x00, 0x0B) // v128.load*, v128.store
	setRange(simdBytes16, 0x0C, 0x0D)
	setRange(simdNone, 0x0E, 0x14) // swizzle, splats
	setRange(simdLane, 0x15, 0x22) // extract_lane, replace_lane
	setRange(simdNone, 0x23, 0x53) // comparisons, bitwise, any_true
	setRange(simdMemargLane, 0x54, 0x5B)
	setRange(simdMemarg, 0x5C, 0x5D) // v128.load32_zero, v128.load64_zero
	setRange(simdNone, 0x5E, 0xFF)
	// Unassigned opcodes in 0x5E..0xFF.
	for _, op := range []int{0x9A, 0xA2, 0xA5, 0xA6, 0xAF, 0xB0, 0xB2, 0xB3, 0xB4, 0xBB, 0xC2, 0xC5, 0xC6, 0xCF, 0xD0, 0xD2, 0xD3, 0xD4, 0xE2, 0xEE} {
		simdOps[op] = simdUnknown
	}
}

// parseCode decodes every function body and returns the number of bodies.
func (m *module) parseCode(r *reader) (uint32, error) {
	n, err := r.u32("function body count")
	if err != nil {
		return 0, err
	}
	for i := range n {
		body, err := r.body(i)
		if err != nil {
			return 0, err
		}
		if _, err := function(body, m.importedFuncs+i, false, nil); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// function decodes the body of function fn, from its locals to its end,
// and returns the number of locals it declares. An instruction that
// changes a table is an error unless tables is true. visit, when not nil,
// is called for every instruction after its immediates are read, with its
// offset, the offset of the next instruction, its opcode and its first
// index immediate (0 for none).
func function(r *reader, fn uint32, tables bool, visit func(at, next int, op byte, idx uint32)) (locals uint64, err error) {
	groups, err := r.u32("local count")
	if err != nil {
		return 0, err
	}
	for range groups {
		n, err := r.u32("local count")
		if err != nil {
			return 0, err
		}
		locals += uint64(n)
		if _, err := valType(r, "local type"); err != nil {
			return 0, err
		}
	}
	depth := 0
	for {
		at := r.pos
		op, err := r.byte("instruction")
		if err != nil {
			return 0, err
		}
		var idx uint32
		switch opcodes[op] {
		case opNone, opElse:
		case opBlock:
			depth++
			err = blockType(r)
		case opEnd:
			if depth == 0 {
				if r.pos != r.end {
					return 0, malformed(r.pos, "function %d has %d bytes after its end", fn, r.end-r.pos)
				}
				if visit != nil {
					visit(at, r.pos, op, 0)
				}
				return locals, nil
			}
			depth--
		case opIdx:
			if op == opTableSet && !tables {
				return 0, unsupported(at, "table.set in function %d", fn)
			}
			idx, err = r.u32("index")
		case opIdx2:
			if idx, err = r.u32("index"); err == nil {
				_, err = r.u32("index")
			}
		case opBrTable:
			var k uint32
			k, err = r.u32("br_table size")
			for i := uint32(0); err == nil && i <= k; i++ { // k labels and the default
				_, err = r.u32("br_table label")
			}
		case opMemarg:
			err = memarg(r)
		case opI32:
			_, err = r.signed(32, "i32.const")
		case opI64:
			_, err = r.signed(64, "i64.const")
		case opF32:
			err = r.skip(4, "f32.const")
		case opF64:
			err = r.skip(8, "f64.const")
		case opSelectT:
			var k uint32
			k, err = r.u32("select type count")
			for i := uint32(0); err == nil && i < k; i++ {
				_, err = valType(r, "select type")
			}
		case opRefNull:
			err = refNull(r)
		case opPrefixFC:
			err = prefixFC(r, at, fn, tables)
		case opPrefixFD:
			err = prefixFD(r, at, fn)
		case opPrefixFE:
			err = prefixFE(r, at, fn)
		case opRejected:
			return 0, unsupported(at, "%s in function %d", rejected[op], fn)
		default:
			return 0, unsupported(at, "unknown instruction 0x%02x in function %d", op, fn)
		}
		if err != nil {
			return 0, err
		}
		if visit != nil {
			visit(at, r.pos, op, idx)
		}
	}
}

// blockType reads a block type: 0x40, a value type, or a type index as a
// non-negative s33.
func blockType(r *reader) error {
	at := r.pos
	if r.pos < r.end {
		b := r.buf[r.pos]
		if b == 0x40 || isNumType(b) || isRefType(b) {
			r.pos++
			return nil
		}
	}
	v, err := r.signed(33, "block type")
	if err != nil {
		return err
	}
	if v < 0 {
		return unsupported(at, "block type %d", v)
	}
	return nil
}

// memarg reads alignment, an optional memory index (multi-memory: bit 6
// of the alignment) and an offset.
func memarg(r *reader) error {
	at := r.pos
	align, err := r.u32("memarg alignment")
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		mem, err := r.u32("memarg memory index")
		if err != nil {
			return err
		}
		if mem != 0 {
			return malformed(at, "memory index %d in a module with one memory", mem)
		}
		align &^= 0x40
	}
	if align >= 64 {
		return malformed(at, "memarg alignment %d", align)
	}
	_, err = r.u32("memarg offset")
	return err
}

func prefixFC(r *reader, at int, fn uint32, tables bool) error {
	sub, err := r.u32("0xFC sub-opcode")
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // trunc_sat
		return nil
	case sub == 8: // memory.init data memory
		if _, err := r.u32("data index"); err != nil {
			return err
		}
		_, err = r.u32("memory index")
	case sub == 9: // data.drop data
		_, err = r.u32("data index")
	case sub == 10: // memory.copy memory memory
		if _, err := r.u32("memory index"); err != nil {
			return err
		}
		_, err = r.u32("memory index")
	case sub == 11: // memory.fill memory
		_, err = r.u32("memory index")
	case sub == 16: // table.size table
		_, err = r.u32("table index")
	case sub < uint32(len(fcNames)) && fcNames[sub] != "" && !tables:
		return unsupported(at, "%s in function %d", fcNames[sub], fn)
	case sub == 12 || sub == 14: // table.init elem table, table.copy table table
		if _, err := r.u32("index"); err != nil {
			return err
		}
		_, err = r.u32("table index")
	case sub == 13 || sub == 15 || sub == 17: // elem.drop elem, table.grow table, table.fill table
		_, err = r.u32("index")
	default:
		return unsupported(at, "unknown instruction 0xFC %d in function %d", sub, fn)
	}
	return err
}

func prefixFD(r *reader, at int, fn uint32) error {
	sub, err := r.u32("0xFD sub-opcode")
	if err != nil {
		return err
	}
	kind := uint8(simdUnknown)
	if sub < uint32(len(simdOps)) {
		kind = simdOps[sub]
	}
	switch kind {
	case simdNone:
		return nil
	case simdMemarg:
		return memarg(r)
	case simdMemargLane:
		if err := memarg(r); err != nil {
			return err
		}
		return r.skip(1, "lane index")
	case simdBytes16:
		return r.skip(16, "v128 immediate")
	case simdLane:
		return r.skip(1, "lane index")
	}
	return unsupported(at, "unknown instruction 0xFD %d in function %d", sub, fn)
}

func prefixFE(r *reader, at int, fn uint32) error {
	sub, err := r.u32("0xFE sub-opcode")
	if err != nil {
		return err
	}
	switch {
	case sub == 0x03: // atomic.fence
		b, err := r.byte("atomic.fence")
		if err != nil {
			return err
		}
		if b != 0 {
			return malformed(at, "atomic.fence immediate 0x%02x", b)
		}
		return nil
	case sub <= 0x02 || sub >= 0x10 && sub <= 0x4E: // notify, wait, loads, stores, rmw
		return memarg(r)
	}
	return unsupported(at, "unknown instruction 0xFE %d in function %d", sub, fn)
}
