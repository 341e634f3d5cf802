package wasmbin

import (
	"fmt"
	"math"
)

// StackBudgetExport is the name under which [LimitStack] exports the
// global that holds what is left of the stack budget: the budget between
// calls, less the frames of the calls in progress, and negative after the
// budget ran out (the guest trapped on a stack overflow).
const StackBudgetExport = "wfn:stack:budget"

// Frame costs, in bytes, that LimitStack charges: a model of the frame an
// optimising compiler (wazero's) makes for a function: a return address,
// a frame pointer and saved registers, and a spill slot for each parameter
// and local, 16 bytes at most (v128). Measured on wazero 1.12 (amd64), a
// frame takes 40 bytes for a function of one parameter and 150 for one of
// 17 locals, against 80 and 336 charged. It is a model, not a bound: a
// function can keep more values alive across a call than it has locals
// (on its operand stack, or as successive values of one local), and the
// compiler gives each its own slot. An upper bound would have to charge
// every instruction, which a Go guest's large function bodies cannot
// afford (a median of 3.7 KiB a frame instead of 96 bytes).
const (
	frameBase     = 64
	frameSlotSize = 16
)

// FrameCost is the stack LimitStack charges a call of a function with
// params parameters and locals declared locals, in bytes.
func FrameCost(params, locals uint64) uint64 {
	return frameBase + frameSlotSize*(params+locals)
}

// MaxStackBudget is the largest budget LimitStack takes.
const MaxStackBudget = math.MaxInt32

// LimitStack returns a copy of wasm in which calls cannot nest past budget
// bytes of stack frames, as [FrameCost] counts them: the call that would
// pass it traps (unreachable) instead, leaving the global exported as
// [StackBudgetExport] negative. budget is at most MaxStackBudget.
//
// The copy has one more mutable i32 global (the budget left, initially
// budget), and every defined function one more i32 local: its own budget
// left, computed at its entry and trapping when negative. Before each call
// the function stores that value in the global, so that the callee starts
// from it; a return, a branch out of the function or a trap needs no
// bookkeeping, as nothing is counted down until the next call. Every
// exported function and the start function are reached through a new
// function that starts the count afresh (the host may call an export from
// within a host function on a separate stack) and restores the global
// when it returns. Calls to imported functions are left alone.
//
// A later pass can add its own checks at function entries and loop headers
// in the same walk over each body.
//
// Tables are supported; exception handling and the instructions of later
// proposals are not (an error says which). Malformed input returns an
// error wrapping [ErrMalformed].
func LimitStack(wasm []byte, budget uint32) ([]byte, error) {
	if budget > MaxStackBudget {
		return nil, fmt.Errorf("wfn: cannot limit the call stack: budget %d is over %d", budget, MaxStackBudget)
	}
	m, err := parseForStack(wasm)
	if err != nil {
		return nil, fmt.Errorf("wfn: cannot limit the call stack: %w", err)
	}
	if m.exportNames[StackBudgetExport] {
		return nil, fmt.Errorf("wfn: cannot limit the call stack: the module already exports %q", StackBudgetExport)
	}
	return m.rewrite(wasm, budget)
}

// stackModule is what LimitStack reads of a module.
type stackModule struct {
	sections      []section
	types         [][2]uint32 // parameter and result counts
	importedFuncs uint32
	importedGlobs uint32
	funcTypes     []uint32 // type of each defined function
	globals       uint32   // defined globals
	exports       []export
	exportNames   map[string]bool
	start         int64 // -1: none
}

type export struct {
	name string
	kind byte
	idx  uint32
}

func parseForStack(wasm []byte) (*stackModule, error) {
	m := &stackModule{start: -1, exportNames: map[string]bool{}}
	// Every index the module uses must be within its own index spaces:
	// the rewrite appends a global, a local per function and the wrappers
	// right after them, and a module that named those (invalid as it
	// stands, valid once rewritten) could reset or raise its own budget.
	check := m.inRange
	sections, err := walkSections(wasm, func(s section, sr *reader, _ int) error {
		var err error
		switch s.id {
		case secType:
			m.types, err = parseTypes(sr)
		case secImport:
			err = parseImports(sr, func(kind byte, _ int, _, _ string) error {
				switch kind {
				case 0x00:
					m.importedFuncs++
				case 0x03:
					m.importedGlobs++
				}
				return nil
			})
		case secFunction:
			var n uint32
			n, err = sr.u32("function count")
			for i := uint32(0); err == nil && i < n; i++ {
				var t uint32
				if t, err = sr.u32("function type index"); err == nil {
					if t >= uint32(len(m.types)) {
						err = malformed(sr.pos, "function type index %d of %d types", t, len(m.types))
					}
					m.funcTypes = append(m.funcTypes, t)
				}
			}
		case secGlobal:
			m.globals, err = sr.u32("global count")
			for i := uint32(0); err == nil && i < m.globals; i++ {
				if _, err = valType(sr, "global type"); err == nil {
					if _, err = mutability(sr); err == nil {
						err = constExprIdx(sr, check)
					}
				}
			}
		case secExport:
			_, err = parseExports(sr, m.exportNames, func(name string, kind byte, idx uint32) {
				m.exports = append(m.exports, export{name, kind, idx})
			})
			for _, e := range m.exports {
				switch {
				case err != nil:
				case e.kind == 0x00:
					err = check(opCodeCall, e.idx)
				case e.kind == 0x03:
					err = check(opCodeGlobalGet, e.idx)
				}
			}
		case secStart:
			var f uint32
			if f, err = sr.u32("start function index"); err == nil {
				err = check(opCodeCall, f)
			}
			m.start = int64(f)
		case secElement:
			err = parseElementsIdx(sr, check)
		case secTag:
			err = unsupported(s.start, "tag section (exception handling)")
		default: // custom, table, memory, code, data, data count
			sr.pos = sr.end
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	m.sections = sections
	return m, nil
}

// inRange returns an error when idx, the index of a call, return_call
// or ref.func (a function) or of a global.get or global.set (a global),
// is past the module's own functions or globals.
func (m *stackModule) inRange(op byte, idx uint32) error {
	switch op {
	case opCodeCall, opCodeReturnCall, opCodeRefFunc:
		if n := uint64(m.importedFuncs) + uint64(len(m.funcTypes)); uint64(idx) >= n {
			return malformed(0, "function index %d of %d functions", idx, n)
		}
	case opCodeGlobalGet, opCodeGlobalSet:
		if n := uint64(m.importedGlobs) + uint64(m.globals); uint64(idx) >= n {
			return malformed(0, "global index %d of %d globals", idx, n)
		}
	}
	return nil
}

// Opcodes the rewriting emits or looks for.
const (
	opCodeUnreachable        = 0x00
	opCodeIf                 = 0x04
	opCodeEnd                = 0x0B
	opCodeCall               = 0x10
	opCodeCallIndirect       = 0x11
	opCodeReturnCall         = 0x12
	opCodeReturnCallIndirect = 0x13
	opCodeSelect             = 0x1B
	opCodeLocalGet           = 0x20
	opCodeLocalSet           = 0x21
	opCodeLocalTee           = 0x22
	opCodeGlobalGet          = 0x23
	opCodeGlobalSet          = 0x24
	opCodeI32Const           = 0x41
	opCodeI32LtS             = 0x48
	opCodeI32Add             = 0x6A
	opCodeI32Sub             = 0x6B
	opCodeRefFunc            = 0xD2
	blockTypeEmpty           = 0x40
)

func (m *stackModule) rewrite(wasm []byte, budget uint32) ([]byte, error) {
	defined := uint32(len(m.funcTypes))
	if uint64(m.importedFuncs)+2*uint64(defined) > math.MaxUint32 {
		return nil, fmt.Errorf("wfn: cannot limit the call stack: too many functions")
	}
	global := m.importedGlobs + m.globals
	// One wrapper per defined function the host can call, after the
	// module's own functions, so that no index changes.
	wrapperOf := map[uint32]uint32{}
	var wrapped []uint32
	wrap := func(f uint32) uint32 {
		if f < m.importedFuncs || f-m.importedFuncs >= defined {
			return f // an imported function, or an index the engine will refuse
		}
		w, ok := wrapperOf[f]
		if !ok {
			w = m.importedFuncs + defined + uint32(len(wrapped))
			wrapperOf[f] = w
			wrapped = append(wrapped, f)
		}
		return w
	}
	for i, e := range m.exports {
		if e.kind == 0x00 {
			m.exports[i].idx = wrap(e.idx)
		}
	}
	if m.start >= 0 {
		m.start = int64(wrap(uint32(m.start)))
	}

	out := make([]byte, 0, len(wasm)+len(wasm)/8+256)
	out = append(out, header...)
	has := map[byte]bool{}
	// insert writes the sections LimitStack adds to a module that lacks
	// them, before the first section that comes after them.
	insert := func(before int) {
		if !has[secGlobal] && before > sectionOrder[secGlobal] {
			has[secGlobal] = true
			out = appendSection(out, secGlobal, m.globalSection(nil, 0, budget))
		}
		if !has[secExport] && before > sectionOrder[secExport] {
			has[secExport] = true
			out = appendSection(out, secExport, m.exportSection(global))
		}
	}
	for _, s := range m.sections {
		if s.id != secCustom {
			insert(sectionOrder[s.id])
			has[s.id] = true
		}
		payload := func() *reader {
			return &reader{buf: wasm, pos: s.payloadStart, end: s.end}
		}
		switch s.id {
		case secFunction:
			r := payload()
			_, _ = r.u32("function count") // read before
			p := appendU32(nil, defined+uint32(len(wrapped)))
			p = append(p, wasm[r.pos:s.end]...)
			for _, f := range wrapped {
				p = appendU32(p, m.funcTypes[f-m.importedFuncs])
			}
			out = appendSection(out, secFunction, p)
		case secGlobal:
			r := payload()
			_, _ = r.u32("global count") // read before
			out = appendSection(out, secGlobal, m.globalSection(wasm[r.pos:s.end], m.globals, budget))
		case secExport:
			out = appendSection(out, secExport, m.exportSection(global))
		case secStart:
			out = appendSection(out, secStart, appendU32(nil, uint32(m.start)))
		case secCode:
			p, err := m.codeSection(wasm, payload(), global, budget, wrapped)
			if err != nil {
				return nil, fmt.Errorf("wfn: cannot limit the call stack: %w", err)
			}
			out = appendSection(out, secCode, p)
		default:
			out = append(out, wasm[s.start:s.end]...)
		}
	}
	insert(math.MaxInt)
	return out, nil
}

// globalSection is a global section with the given entries and one more:
// the budget, a mutable i32.
func (m *stackModule) globalSection(entries []byte, count, budget uint32) []byte {
	p := appendU32(nil, count+1)
	p = append(p, entries...)
	p = append(p, TypeI32, 1, opCodeI32Const)
	p = appendS64(p, int64(budget))
	return append(p, opCodeEnd)
}

// exportSection is the module's exports, redirected, and the budget's.
func (m *stackModule) exportSection(global uint32) []byte {
	p := appendU32(nil, uint32(len(m.exports))+1)
	for _, e := range m.exports {
		p = appendU32(p, uint32(len(e.name)))
		p = append(p, e.name...)
		p = append(p, e.kind)
		p = appendU32(p, e.idx)
	}
	p = appendU32(p, uint32(len(StackBudgetExport)))
	p = append(p, StackBudgetExport...)
	p = append(p, 0x03)
	return appendU32(p, global)
}

// codeSection rewrites every function body and appends the wrappers'.
func (m *stackModule) codeSection(wasm []byte, r *reader, global, budget uint32, wrapped []uint32) ([]byte, error) {
	n, err := r.u32("function body count")
	if err != nil {
		return nil, err
	}
	if n != uint32(len(m.funcTypes)) {
		return nil, malformed(r.pos, "%d functions declared but %d function bodies", len(m.funcTypes), n)
	}
	p := appendU32(nil, n+uint32(len(wrapped)))
	var body []byte
	for i := range n {
		size, err := r.u32("function body size")
		if err != nil {
			return nil, err
		}
		if uint64(size) > uint64(r.end-r.pos) {
			return nil, malformed(r.pos, "function body %d size %d past the end of the code section", i, size)
		}
		params := uint64(m.types[m.funcTypes[i]][0])
		body, err = m.limitBody(body[:0], wasm, r.pos, r.pos+int(size), m.importedFuncs+i, params, global)
		if err != nil {
			return nil, err
		}
		p = appendU32(p, uint32(len(body)))
		p = append(p, body...)
		r.pos += int(size)
	}
	for _, f := range wrapped {
		body = wrapperBody(body[:0], f, m.types[m.funcTypes[f-m.importedFuncs]][0], global, budget)
		p = appendU32(p, uint32(len(body)))
		p = append(p, body...)
	}
	return p, nil
}

// call is a call instruction in a body.
type call struct {
	at  int
	op  byte
	idx uint32
}

// limitBody appends to b the body of function fn, wasm[start:end], with
// its budget check at entry and the budget stored before each call.
func (m *stackModule) limitBody(b, wasm []byte, start, end int, fn uint32, params uint64, global uint32) ([]byte, error) {
	var calls []call
	var bad error // the first index out of range
	maxLocal := int64(-1)
	r := &reader{buf: wasm, pos: start, end: end}
	locals, err := function(r, fn, true, func(at int, op byte, idx uint32) {
		if bad == nil {
			if err := m.inRange(op, idx); err != nil {
				bad = fmt.Errorf("function %d at offset %d: %w", fn, at, err)
			}
		}
		switch op {
		case opCodeLocalGet, opCodeLocalSet, opCodeLocalTee:
			maxLocal = max(maxLocal, int64(idx))
		case opCodeCall:
			if idx < m.importedFuncs {
				return // a host function: it does not use the guest's stack budget
			}
			fallthrough
		case opCodeCallIndirect, opCodeReturnCall, opCodeReturnCallIndirect:
			calls = append(calls, call{at, op, idx})
		}
	})
	if err != nil {
		return nil, err
	}
	if bad != nil {
		return nil, bad
	}
	// The new local comes after the parameters and the declared locals.
	own := params + locals
	if maxLocal >= 0 && uint64(maxLocal) >= own {
		return nil, malformed(start, "function %d uses local %d of %d", fn, maxLocal, own)
	}
	if own >= math.MaxUint32 {
		return nil, unsupported(start, "function %d has too many locals", fn)
	}
	cost := FrameCost(params, locals)
	if cost > MaxStackBudget {
		cost = MaxStackBudget
	}
	// The local declarations, and one more group: an i32.
	r = &reader{buf: wasm, pos: start, end: end}
	groups, _ := r.u32("local count")
	declStart := r.pos
	for range groups {
		_, _ = r.u32("local count")
		_, _ = r.byte("local type")
	}
	b = appendU32(b, groups+1)
	b = append(b, wasm[declStart:r.pos]...)
	b = append(b, 1, TypeI32)
	// own = budget - cost; if own < 0 { budget = own; unreachable }
	b = appendIdx(b, opCodeGlobalGet, global)
	b = appendS64(append(b, opCodeI32Const), int64(cost))
	b = append(b, opCodeI32Sub)
	b = appendIdx(b, opCodeLocalTee, uint32(own))
	b = append(b, opCodeI32Const, 0, opCodeI32LtS, opCodeIf, blockTypeEmpty)
	b = appendIdx(b, opCodeLocalGet, uint32(own))
	b = appendIdx(b, opCodeGlobalSet, global)
	b = append(b, opCodeUnreachable, opCodeEnd)
	last := r.pos
	for _, c := range calls {
		b = append(b, wasm[last:c.at]...)
		last = c.at
		b = appendIdx(b, opCodeLocalGet, uint32(own))
		if c.op == opCodeReturnCall || c.op == opCodeReturnCallIndirect {
			// A tail call replaces this frame: the callee starts from
			// what this function started from.
			b = appendS64(append(b, opCodeI32Const), int64(cost))
			b = append(b, opCodeI32Add)
		}
		b = appendIdx(b, opCodeGlobalSet, global)
	}
	return append(b, wasm[last:end]...), nil
}

// wrapperBody appends the body of the function through which the host
// calls f: it starts the budget afresh, calls f with its parameters, and
// restores the budget: what it was, or the whole budget if a trap left it
// negative.
func wrapperBody(b []byte, f, params, global, budget uint32) []byte {
	b = append(b, 1, 1, TypeI32) // one local: the budget saved
	// saved = select(budget, global, global < 0)
	b = appendS64(append(b, opCodeI32Const), int64(budget))
	b = appendIdx(b, opCodeGlobalGet, global)
	b = appendIdx(b, opCodeGlobalGet, global)
	b = append(b, opCodeI32Const, 0, opCodeI32LtS, opCodeSelect)
	b = appendIdx(b, opCodeLocalSet, params)
	b = appendS64(append(b, opCodeI32Const), int64(budget))
	b = appendIdx(b, opCodeGlobalSet, global)
	for i := range params {
		b = appendIdx(b, opCodeLocalGet, i)
	}
	b = appendIdx(b, opCodeCall, f)
	b = appendIdx(b, opCodeLocalGet, params)
	b = appendIdx(b, opCodeGlobalSet, global)
	return append(b, opCodeEnd)
}

func appendIdx(b []byte, op byte, idx uint32) []byte { return appendU32(append(b, op), idx) }
