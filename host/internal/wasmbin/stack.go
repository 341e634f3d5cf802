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
// Tables are supported; exception handling and the instructions of later
// proposals are not (an error says which). Malformed input returns an
// error wrapping [ErrMalformed].
func LimitStack(wasm []byte, budget uint32) ([]byte, error) {
	return Instrument(wasm, Checks{Stack: true, StackBudget: budget})
}

// InterruptExport is the name under which [Instrument] exports the global
// that stops a guest: a mutable i32, 0 while the guest may run. The host
// sets it to [InterruptValue] to stop the guest, which then traps
// (unreachable) at its next function entry or loop header.
const InterruptExport = "wfn:interrupt"

// InterruptValue is the value of the InterruptExport global that stops a
// guest. It is negative so that a function entry tests it together with
// its stack budget, in one branch.
const InterruptValue = math.MaxUint32 // -1 as an i32

// Checks says what [Instrument] compiles into a module.
type Checks struct {
	// Stack counts the stack as [LimitStack] does, within StackBudget
	// bytes (at most MaxStackBudget).
	Stack       bool
	StackBudget uint32
	// Interrupt adds a check of the [InterruptExport] global at the header
	// of every loop and at the entry of every defined function that calls
	// another (or may: call_indirect), so that the host can stop a guest
	// in any loop or any chain of calls by setting the global: a load and
	// a branch, not taken while the guest runs, instead of a call out of
	// compiled code. A function that calls none runs a bounded number of
	// instructions between the checks of its loops, and its caller's.
	Interrupt bool
}

// Instrument returns a copy of wasm with the checks c asks for; with none
// it returns wasm unchanged. What it adds (globals, their exports, a local
// per function, wrappers of the exports) has indices past the module's
// own, and a module that names indices past its own is refused, so the
// guest's code can neither read nor change any of it. Errors are those of
// LimitStack.
func Instrument(wasm []byte, c Checks) ([]byte, error) {
	if !c.Stack && !c.Interrupt {
		return wasm, nil
	}
	if c.Stack && c.StackBudget > MaxStackBudget {
		return nil, fmt.Errorf("wfn: cannot limit the call stack: budget %d is over %d", c.StackBudget, MaxStackBudget)
	}
	m, err := parseForStack(wasm)
	if err != nil {
		return nil, fmt.Errorf("wfn: cannot instrument the module: %w", err)
	}
	for _, name := range []string{StackBudgetExport, InterruptExport} {
		if m.exportNames[name] {
			return nil, fmt.Errorf("wfn: cannot instrument the module: it already exports %q", name)
		}
	}
	return m.rewrite(wasm, c)
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
	opCodeBlock              = 0x02
	opCodeLoop               = 0x03
	opCodeIf                 = 0x04
	opCodeEnd                = 0x0B
	opCodeBr                 = 0x0C
	opCodeBrIf               = 0x0D
	opCodeBrTable            = 0x0E
	opCodeReturn             = 0x0F
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
	opCodeI32Or              = 0x72
	opCodeRefFunc            = 0xD2
	blockTypeEmpty           = 0x40
)

// added is what the rewrite adds to a module: the checks, and the indices
// of their globals.
type added struct {
	Checks
	budget, flag uint32 // the globals of the budget (Stack) and of the interrupt flag (Interrupt)
}

// exports lists the globals the rewrite exports, by name.
func (a *added) exports() []export {
	var e []export
	if a.Stack {
		e = append(e, export{StackBudgetExport, 0x03, a.budget})
	}
	if a.Interrupt {
		e = append(e, export{InterruptExport, 0x03, a.flag})
	}
	return e
}

func (m *stackModule) rewrite(wasm []byte, c Checks) ([]byte, error) {
	defined := uint32(len(m.funcTypes))
	if uint64(m.importedFuncs)+2*uint64(defined) > math.MaxUint32 {
		return nil, fmt.Errorf("wfn: cannot instrument the module: too many functions")
	}
	a := &added{Checks: c}
	next := m.importedGlobs + m.globals
	if c.Stack {
		a.budget, next = next, next+1
	}
	if c.Interrupt {
		a.flag = next
	}
	// One wrapper per defined function the host can call, after the
	// module's own functions, so that no index changes. Only the stack
	// count needs them.
	wrapperOf := map[uint32]uint32{}
	var wrapped []uint32
	wrap := func(f uint32) uint32 {
		if !c.Stack || f < m.importedFuncs || f-m.importedFuncs >= defined {
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
	// insert writes the sections the rewrite adds to a module that lacks
	// them, before the first section that comes after them.
	insert := func(before int) {
		if !has[secGlobal] && before > sectionOrder[secGlobal] {
			has[secGlobal] = true
			out = appendSection(out, secGlobal, a.globalSection(nil, 0))
		}
		if !has[secExport] && before > sectionOrder[secExport] {
			has[secExport] = true
			out = appendSection(out, secExport, m.exportSection(a))
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
			out = appendSection(out, secGlobal, a.globalSection(wasm[r.pos:s.end], m.globals))
		case secExport:
			out = appendSection(out, secExport, m.exportSection(a))
		case secStart:
			out = appendSection(out, secStart, appendU32(nil, uint32(m.start)))
		case secCode:
			p, err := m.codeSection(wasm, payload(), a, wrapped)
			if err != nil {
				return nil, fmt.Errorf("wfn: cannot instrument the module: %w", err)
			}
			out = appendSection(out, secCode, p)
		default:
			out = append(out, wasm[s.start:s.end]...)
		}
	}
	insert(math.MaxInt)
	return out, nil
}

// globalSection is a global section with the given entries and the
// rewrite's: the budget, a mutable i32 starting at the whole budget, and
// the interrupt flag, a mutable i32 starting at 0.
func (a *added) globalSection(entries []byte, count uint32) []byte {
	n := count
	if a.Stack {
		n++
	}
	if a.Interrupt {
		n++
	}
	p := appendU32(nil, n)
	p = append(p, entries...)
	if a.Stack {
		p = append(p, TypeI32, 1, opCodeI32Const)
		p = append(appendS64(p, int64(a.StackBudget)), opCodeEnd)
	}
	if a.Interrupt {
		p = append(p, TypeI32, 1, opCodeI32Const, 0, opCodeEnd)
	}
	return p
}

// exportSection is the module's exports, redirected, and the rewrite's.
func (m *stackModule) exportSection(a *added) []byte {
	ours := a.exports()
	p := appendU32(nil, uint32(len(m.exports)+len(ours)))
	for _, e := range append(m.exports[:len(m.exports):len(m.exports)], ours...) {
		p = appendU32(p, uint32(len(e.name)))
		p = append(p, e.name...)
		p = append(p, e.kind)
		p = appendU32(p, e.idx)
	}
	return p
}

// codeSection rewrites every function body and appends the wrappers'.
func (m *stackModule) codeSection(wasm []byte, r *reader, a *added, wrapped []uint32) ([]byte, error) {
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
		body, err = m.instrumentBody(body[:0], wasm, r.pos, r.pos+int(size), m.importedFuncs+i, params, a)
		if err != nil {
			return nil, err
		}
		p = appendU32(p, uint32(len(body)))
		p = append(p, body...)
		r.pos += int(size)
	}
	for _, f := range wrapped {
		body = wrapperBody(body[:0], f, m.types[m.funcTypes[f-m.importedFuncs]][0], a.budget, a.StackBudget)
		p = appendU32(p, uint32(len(body)))
		p = append(p, body...)
	}
	return p, nil
}

// edit is a place in a body where the rewrite inserts code: before a call
// (the budget's store), after a loop instruction (the interrupt check), or
// in place of a branch to the function's own label (relabelled).
type edit struct {
	at, next int // the instruction's offset and the next one's
	op       byte
	idx      uint32 // a call's function; for a loop or a branch, the nesting depth
}

// instrumentBody appends to b the body of function fn, wasm[start:end],
// with the checks at its entry and loop headers and the budget stored
// before each call.
//
// A function with interrupt checks has its body wrapped in a block whose
// end leads to a trap, so that each check is a load and a conditional
// branch out to it ("global.get flag; br_if trap"), which compilers lay
// out as a jump to cold code: an "if" around an unreachable would merge
// back into the loop, and an optimising compiler (wazero's) then moves
// every local live in the loop through that merge, at every iteration.
// The branches of the body to the function's own label gain one level,
// to jump past the new block as they jumped past the body.
func (m *stackModule) instrumentBody(b, wasm []byte, start, end int, fn uint32, params uint64, a *added) ([]byte, error) {
	var edits []edit
	var bad error // the first index out of range
	maxLocal := int64(-1)
	calls := false // calls a function of the module, or may (call_indirect)
	loops := false
	depth := uint32(0) // blocks open in the body
	bodyEnd := end - 1 // the function's final end
	r := &reader{buf: wasm, pos: start, end: end}
	locals, err := function(r, fn, true, func(at, next int, op byte, idx uint32) {
		if bad == nil {
			if err := m.inRange(op, idx); err != nil {
				bad = fmt.Errorf("function %d at offset %d: %w", fn, at, err)
			}
		}
		switch op {
		case opCodeLocalGet, opCodeLocalSet, opCodeLocalTee:
			maxLocal = max(maxLocal, int64(idx))
		case opCodeBlock, opCodeIf:
			depth++
		case opCodeLoop:
			depth++
			loops = true
			if a.Interrupt {
				// The check goes first in the loop's body: every
				// iteration, whichever branch starts it, runs it.
				edits = append(edits, edit{next, next, op, depth})
			}
		case opCodeEnd:
			if depth == 0 {
				bodyEnd = at
			}
			depth--
		case opCodeBr, opCodeBrIf:
			if a.Interrupt && idx == depth {
				edits = append(edits, edit{at, next, op, depth})
			}
		case opCodeBrTable:
			if a.Interrupt && brTableTargets(wasm[at:next], depth) {
				edits = append(edits, edit{at, next, op, depth})
			}
		case opCodeCall:
			if idx < m.importedFuncs {
				return // a host function: it does not use the guest's stack budget
			}
			fallthrough
		case opCodeCallIndirect, opCodeReturnCall, opCodeReturnCallIndirect:
			calls = true
			if a.Stack {
				edits = append(edits, edit{at, next, op, idx})
			}
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
	// A function that calls none of the module's functions ends after a
	// bounded number of instructions but for its loops, which have their
	// own checks: it needs none at its entry. The others do, since calls
	// alone can spin (recursion, tail calls).
	entryCheck := a.Interrupt && calls
	wrap := a.Interrupt && (calls || loops)
	r = &reader{buf: wasm, pos: start, end: end}
	groups, _ := r.u32("local count")
	declStart := r.pos
	for range groups {
		_, _ = r.u32("local count")
		_, _ = r.byte("local type")
	}
	if a.Stack {
		// The local declarations, and one more group: an i32.
		b = appendU32(b, groups+1)
		b = append(b, wasm[declStart:r.pos]...)
		b = append(b, 1, TypeI32)
	} else {
		b = append(b, wasm[start:r.pos]...)
	}
	if wrap {
		b = append(b, opCodeBlock, blockTypeEmpty) // the trap's
	}
	switch {
	case a.Stack:
		// own = budget - cost
		b = appendIdx(b, opCodeGlobalGet, a.budget)
		b = appendS64(append(b, opCodeI32Const), int64(cost))
		b = append(b, opCodeI32Sub)
		b = appendIdx(b, opCodeLocalTee, uint32(own))
		if entryCheck {
			// Both negative when they stop the guest: one test.
			b = appendIdx(b, opCodeGlobalGet, a.flag)
			b = append(b, opCodeI32Or)
		}
		b = append(b, opCodeI32Const, 0, opCodeI32LtS)
		if wrap {
			b = append(b, opCodeBrIf, 0)
		} else {
			// if own < 0 { budget = own; unreachable }
			b = append(b, opCodeIf, blockTypeEmpty)
			b = appendIdx(b, opCodeLocalGet, uint32(own))
			b = appendIdx(b, opCodeGlobalSet, a.budget)
			b = append(b, opCodeUnreachable, opCodeEnd)
		}
	case entryCheck:
		b = appendIdx(b, opCodeGlobalGet, a.flag)
		b = append(b, opCodeBrIf, 0)
	}
	last := r.pos
	for _, e := range edits {
		b = append(b, wasm[last:e.at]...)
		last = e.at
		switch e.op {
		case opCodeLoop:
			// if flag { br trap }: the trap is one level out of the
			// loop's depth.
			b = appendIdx(b, opCodeGlobalGet, a.flag)
			b = appendIdx(b, opCodeBrIf, e.idx)
		case opCodeBr, opCodeBrIf:
			if wrap {
				b = appendIdx(b, e.op, e.idx+1)
				last = e.next
			}
		case opCodeBrTable:
			if wrap {
				b = relabelBrTable(b, wasm[e.at:e.next], e.idx)
				last = e.next
			}
		default: // a call
			b = appendIdx(b, opCodeLocalGet, uint32(own))
			if e.op == opCodeReturnCall || e.op == opCodeReturnCallIndirect {
				// A tail call replaces this frame: the callee starts from
				// what this function started from.
				b = appendS64(append(b, opCodeI32Const), int64(cost))
				b = append(b, opCodeI32Add)
			}
			b = appendIdx(b, opCodeGlobalSet, a.budget)
		}
	}
	if !wrap {
		return append(b, wasm[last:end]...), nil
	}
	b = append(b, wasm[last:bodyEnd]...)
	b = append(b, opCodeReturn, opCodeEnd)
	if a.Stack {
		// A stack overflow leaves the budget negative for the host to
		// see; an interrupt leaves it as it was at the entry.
		b = appendIdx(b, opCodeLocalGet, uint32(own))
		b = appendIdx(b, opCodeGlobalSet, a.budget)
	}
	return append(b, opCodeUnreachable, opCodeEnd), nil
}

// brTableTargets reports whether the br_table instruction ins has depth
// among its labels.
func brTableTargets(ins []byte, depth uint32) bool {
	found := false
	forBrTable(ins, func(label uint32) { found = found || label == depth })
	return found
}

// relabelBrTable appends the br_table instruction ins with its labels
// equal to depth one higher.
func relabelBrTable(b, ins []byte, depth uint32) []byte {
	r := &reader{buf: ins, pos: 1, end: len(ins)}
	n, _ := r.u32("br_table size") // read before
	b = appendU32(append(b, ins[0]), n)
	forBrTable(ins, func(label uint32) {
		if label == depth {
			label++
		}
		b = appendU32(b, label)
	})
	return b
}

// forBrTable calls f with each label of the br_table instruction ins (read
// before, so well formed), the default last.
func forBrTable(ins []byte, f func(label uint32)) {
	r := &reader{buf: ins, pos: 1, end: len(ins)}
	n, _ := r.u32("br_table size")
	for i := uint32(0); i <= n; i++ {
		label, _ := r.u32("br_table label")
		f(label)
	}
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
