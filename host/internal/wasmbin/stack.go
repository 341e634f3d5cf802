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

// PollModule and PollName name the host function that [Instrument]'s
// interrupt checks import, of type (func (result i32)). The rewritten
// guest calls it every so many steps (see [Checks]); it returns how many
// steps the guest may run before it calls again, or a negative number to
// stop the guest, which then traps (unreachable). The module name is the
// host's own: Instrument refuses a module that imports anything from it,
// and the guest's code cannot name the import (its index is one the
// rewrite gives, past every index the module had).
const (
	PollModule = "wfn:interrupt"
	PollName   = "poll"
)

// MaxCheckWeight is the most steps one check counts: the instructions of
// a loop's body (its nested loops' excepted, which have their own check)
// or of a function's code outside its loops, capped so that a large body
// of which a run takes one branch does not make the guest poll at every
// check.
const MaxCheckWeight = 256

// Checks says what [Instrument] compiles into a module.
type Checks struct {
	// Stack counts the stack as [LimitStack] does, within StackBudget
	// bytes (at most MaxStackBudget).
	Stack       bool
	StackBudget uint32
	// Interrupt makes the guest call the host's poll function (PollModule,
	// PollName) every so many steps, so that the host can stop a guest in
	// any loop or chain of calls, and so that a guest spinning in compiled
	// code still calls into the host (for a Go host, a safe point for the
	// garbage collector). At the header of every loop and at the entry of
	// every defined function that calls another (or may: call_indirect),
	// a countdown held in a local is lowered by the check's weight (the
	// instructions the loop's body or the function's code outside loops
	// holds, at most MaxCheckWeight), and when it goes below zero the
	// guest calls poll, which returns the next countdown. The hot path is
	// a subtraction in a register and a branch not taken; the countdown
	// goes from function to function through a mutable i32 global, read at
	// a function's entry and after each call that may change it, written
	// before such a call and when the function returns. It starts at 0:
	// the first check polls.
	Interrupt bool
}

// Instrument returns a copy of wasm with the checks c asks for; with none
// it returns wasm unchanged. What it adds (globals, their exports, an
// import, a type, locals, wrappers of the exports) has indices past the
// module's own, and a module that names indices past its own is refused,
// so the guest's code can neither read nor change any of it. The import
// of Checks.Interrupt comes after the module's imported functions, so its
// defined functions' indices move up by one everywhere they appear
// (calls, ref.func, exports, the start function, element segments, global
// initialisers, the "name" section). Errors are those of LimitStack.
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
	if m.exportNames[StackBudgetExport] {
		return nil, fmt.Errorf("wfn: cannot instrument the module: it already exports %q", StackBudgetExport)
	}
	if c.Interrupt && m.importsPoll {
		return nil, fmt.Errorf("wfn: cannot instrument the module: it imports from %q, the host's own module", PollModule)
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
	importsPoll   bool  // imports something from PollModule
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
	check := func(op byte, idx uint32, _ int) error { return m.inRange(op, idx) }
	sections, err := walkSections(wasm, func(s section, sr *reader, _ int) error {
		var err error
		switch s.id {
		case secType:
			m.types, err = parseTypes(sr)
		case secImport:
			err = parseImports(sr, func(kind byte, _ int, mod, _ string) error {
				m.importsPoll = m.importsPoll || mod == PollModule
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
					err = m.inRange(opCodeCall, e.idx)
				case e.kind == 0x03:
					err = m.inRange(opCodeGlobalGet, e.idx)
				}
			}
		case secStart:
			var f uint32
			if f, err = sr.u32("start function index"); err == nil {
				err = m.inRange(opCodeCall, f)
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
// of what they add.
type added struct {
	Checks
	budget, count uint32 // the globals of the budget (Stack) and of the countdown (Interrupt)
	poll          uint32 // the poll import's function index (Interrupt)
	pollType      uint32 // its type's index
	imported      uint32 // the module's own imported functions
	shift         uint32 // how far the module's defined functions move: 1 with Interrupt
	// counts[i] is whether defined function i keeps the countdown (it
	// loops or calls): a call to it may change the global.
	counts []bool
}

// fn is the index in the rewritten module of the module's function idx.
func (a *added) fn(idx uint32) uint32 {
	if idx >= a.imported {
		return idx + a.shift
	}
	return idx
}

// exports lists the globals the rewrite exports, by name.
func (a *added) exports() []export {
	if a.Stack {
		return []export{{StackBudgetExport, 0x03, a.budget}}
	}
	return nil
}

func (m *stackModule) rewrite(wasm []byte, c Checks) ([]byte, error) {
	defined := uint32(len(m.funcTypes))
	if uint64(m.importedFuncs)+2*uint64(defined)+1 > math.MaxUint32 {
		return nil, fmt.Errorf("wfn: cannot instrument the module: too many functions")
	}
	a := &added{Checks: c, imported: m.importedFuncs}
	next := m.importedGlobs + m.globals
	if c.Stack {
		a.budget, next = next, next+1
	}
	if c.Interrupt {
		a.count = next
		a.poll, a.pollType, a.shift = m.importedFuncs, uint32(len(m.types)), 1
		var err error
		if a.counts, err = m.countingFuncs(wasm); err != nil {
			return nil, fmt.Errorf("wfn: cannot instrument the module: %w", err)
		}
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
			m.exports[i].idx = a.fn(wrap(e.idx))
		}
	}
	if m.start >= 0 {
		m.start = int64(a.fn(wrap(uint32(m.start))))
	}

	out := make([]byte, 0, len(wasm)+len(wasm)/8+256)
	out = append(out, header...)
	has := map[byte]bool{}
	// insert writes the sections the rewrite adds to a module that lacks
	// them, before the first section that comes after them.
	insert := func(before int) {
		for _, id := range []byte{secType, secImport, secGlobal, secExport} {
			if has[id] || before <= sectionOrder[id] || (id == secType || id == secImport) && !c.Interrupt {
				continue
			}
			has[id] = true
			switch id {
			case secType:
				out = appendSection(out, secType, a.typeSection(nil, 0))
			case secImport:
				out = appendSection(out, secImport, a.importSection(nil, 0))
			case secGlobal:
				out = appendSection(out, secGlobal, a.globalSection(nil, 0))
			case secExport:
				out = appendSection(out, secExport, m.exportSection(a))
			}
		}
	}
	for _, s := range m.sections {
		if s.id != secCustom {
			insert(sectionOrder[s.id])
			has[s.id] = true
		}
		r := &reader{buf: wasm, pos: s.payloadStart, end: s.end}
		var n uint32
		if s.id != secCustom && s.id != secStart {
			n, _ = r.u32("count") // read before
		}
		switch {
		case s.id == secType && c.Interrupt:
			out = appendSection(out, secType, a.typeSection(wasm[r.pos:s.end], n))
		case s.id == secImport && c.Interrupt:
			out = appendSection(out, secImport, a.importSection(wasm[r.pos:s.end], n))
		case s.id == secFunction:
			p := appendU32(nil, defined+uint32(len(wrapped)))
			p = append(p, wasm[r.pos:s.end]...)
			for _, f := range wrapped {
				p = appendU32(p, m.funcTypes[f-m.importedFuncs])
			}
			out = appendSection(out, secFunction, p)
		case s.id == secGlobal:
			from, entries := r.pos, wasm[r.pos:s.end]
			if a.shift > 0 {
				var at []int
				_ = forGlobals(r, n, func(op byte, _ uint32, pos int) error {
					if op == opCodeRefFunc {
						at = append(at, pos)
					}
					return nil
				})
				entries = a.renumbered(nil, wasm, from, s.end, at)
			}
			out = appendSection(out, secGlobal, a.globalSection(entries, n))
		case s.id == secExport:
			out = appendSection(out, secExport, m.exportSection(a))
		case s.id == secStart:
			out = appendSection(out, secStart, appendU32(nil, uint32(m.start)))
		case s.id == secElement:
			if a.shift == 0 {
				out = append(out, wasm[s.start:s.end]...)
				break
			}
			var at []int
			r.pos = s.payloadStart
			_ = parseElementsIdx(r, func(op byte, _ uint32, pos int) error {
				if op == opCodeRefFunc {
					at = append(at, pos)
				}
				return nil
			})
			out = appendSection(out, secElement, a.renumbered(nil, wasm, s.payloadStart, s.end, at))
		case s.id == secCode:
			p, err := m.codeSection(wasm, r, n, a, wrapped)
			if err != nil {
				return nil, fmt.Errorf("wfn: cannot instrument the module: %w", err)
			}
			out = appendSection(out, secCode, p)
		case s.id == secCustom:
			if a.shift > 0 {
				out = append(out, a.customSection(wasm, s)...)
				break
			}
			fallthrough
		default:
			out = append(out, wasm[s.start:s.end]...)
		}
	}
	insert(math.MaxInt)
	return out, nil
}

// countingFuncs reports for each defined function whether it keeps the
// countdown of Checks.Interrupt: whether it has a loop or calls a
// function of the module (or may: call_indirect).
func (m *stackModule) countingFuncs(wasm []byte) ([]bool, error) {
	counts := make([]bool, len(m.funcTypes))
	for _, s := range m.sections {
		if s.id != secCode {
			continue
		}
		r := &reader{buf: wasm, pos: s.payloadStart, end: s.end}
		n, err := r.u32("function body count")
		if err != nil {
			return nil, err
		}
		if n != uint32(len(m.funcTypes)) {
			return nil, malformed(r.pos, "%d functions declared but %d function bodies", len(m.funcTypes), n)
		}
		for i := range n {
			body, err := r.body(i)
			if err != nil {
				return nil, err
			}
			_, err = function(body, m.importedFuncs+i, true, func(_, _ int, op byte, idx uint32) {
				switch op {
				case opCodeLoop, opCodeCallIndirect, opCodeReturnCall, opCodeReturnCallIndirect:
					counts[i] = true
				case opCodeCall:
					counts[i] = counts[i] || idx >= m.importedFuncs
				}
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return counts, nil
}

// forGlobals reads n global entries from r, calling check with the
// indices of their initialisers.
func forGlobals(r *reader, n uint32, check func(op byte, idx uint32, at int) error) error {
	for range n {
		if _, err := valType(r, "global type"); err != nil {
			return err
		}
		if _, err := mutability(r); err != nil {
			return err
		}
		if err := constExprIdx(r, check); err != nil {
			return err
		}
	}
	return nil
}

// renumbered appends wasm[start:end] to b with the function index encoded
// at each offset in at (in order) renumbered by a.fn.
func (a *added) renumbered(b, wasm []byte, start, end int, at []int) []byte {
	last := start
	for _, pos := range at {
		r := &reader{buf: wasm, pos: pos, end: end}
		idx, _ := r.u32("function index") // read before
		b = append(b, wasm[last:pos]...)
		b = appendU32(b, a.fn(idx))
		last = r.pos
	}
	return append(b, wasm[last:end]...)
}

// typeSection is a type section with the given entries and the poll
// import's type, (func (result i32)).
func (a *added) typeSection(entries []byte, count uint32) []byte {
	p := appendU32(nil, count+1)
	p = append(p, entries...)
	return append(p, 0x60, 0x00, 0x01, TypeI32)
}

// importSection is an import section with the given entries and the poll
// import after them.
func (a *added) importSection(entries []byte, count uint32) []byte {
	p := appendU32(nil, count+1)
	p = append(p, entries...)
	p = appendU32(p, uint32(len(PollModule)))
	p = append(p, PollModule...)
	p = appendU32(p, uint32(len(PollName)))
	p = append(p, PollName...)
	return appendIdx(p, 0x00, a.pollType) // a function of that type
}

// globalSection is a global section with the given entries and the
// rewrite's: the budget, a mutable i32 starting at the whole budget, and
// the countdown, a mutable i32 starting at 0.
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

// customSection is custom section s, with its function indices
// renumbered if it is the "name" section (its function, local and label
// names: subsections 1 to 3, each entry of which starts with a function
// index). A "name" section that cannot be read is left out: it only
// names things for debuggers and stack traces.
func (a *added) customSection(wasm []byte, s section) []byte {
	r := &reader{buf: wasm, pos: s.payloadStart, end: s.end}
	if name, err := r.name("custom section name"); err != nil || name != "name" {
		return wasm[s.start:s.end]
	}
	p := append([]byte(nil), wasm[s.payloadStart:r.pos]...)
	for !r.eof() {
		id, _ := r.byte("name subsection id")
		size, err := r.u32("name subsection size")
		if err != nil || uint64(size) > uint64(r.end-r.pos) {
			return nil
		}
		sub := &reader{buf: wasm, pos: r.pos, end: r.pos + int(size)}
		r.pos = sub.end
		if id < 1 || id > 3 {
			p = append(p, id)
			p = appendU32(p, size)
			p = append(p, wasm[sub.pos:sub.end]...)
			continue
		}
		n, err := sub.u32("name count")
		if err != nil {
			return nil
		}
		q := appendU32(nil, n)
		for range n {
			f, err := sub.u32("function index")
			if err != nil {
				return nil
			}
			q = appendU32(q, a.fn(f))
			from := sub.pos
			if id == 1 {
				_, err = sub.name("function name")
			} else {
				var k uint32
				k, err = sub.u32("name count")
				for j := uint32(0); err == nil && j < k; j++ {
					if _, err = sub.u32("index"); err == nil {
						_, err = sub.name("name")
					}
				}
			}
			if err != nil {
				return nil
			}
			q = append(q, wasm[from:sub.pos]...)
		}
		if !sub.eof() {
			return nil
		}
		p = append(p, id)
		p = appendU32(p, uint32(len(q)))
		p = append(p, q...)
	}
	return appendSection(nil, secCustom, p)
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

// codeSection rewrites the n function bodies r holds and appends the
// wrappers'.
func (m *stackModule) codeSection(wasm []byte, r *reader, n uint32, a *added, wrapped []uint32) ([]byte, error) {
	if n != uint32(len(m.funcTypes)) {
		return nil, malformed(r.pos, "%d functions declared but %d function bodies", len(m.funcTypes), n)
	}
	p := appendU32(nil, n+uint32(len(wrapped)))
	var body []byte
	for i := range n {
		in, err := r.body(i)
		if err != nil {
			return nil, err
		}
		params := uint64(m.types[m.funcTypes[i]][0])
		body, err = m.instrumentBody(body[:0], wasm, in.pos, in.end, m.importedFuncs+i, params, a)
		if err != nil {
			return nil, err
		}
		p = appendU32(p, uint32(len(body)))
		p = append(p, body...)
	}
	for _, f := range wrapped {
		body = wrapperBody(body[:0], a.fn(f), m.types[m.funcTypes[f-m.importedFuncs]][0], a.budget, a.StackBudget)
		p = appendU32(p, uint32(len(body)))
		p = append(p, body...)
	}
	return p, nil
}

// edit is a place in a body where the rewrite inserts or changes code:
// after a loop instruction (the interrupt check), around a call (the
// budget's store; the countdown's store and load; its index renumbered),
// at a ref.func (renumbered), or before a way out of the function (the
// countdown's store).
type edit struct {
	at, next int // the instruction's offset and the next one's
	op       byte
	idx      uint32 // a call's or ref.func's function
	weight   uint32 // a loop's check: the instructions of its body
}

// instrumentBody appends to b the body of function fn, wasm[start:end],
// with the checks at its entry and loop headers, the budget stored
// before each call and the countdown kept (Checks.Interrupt).
//
// A check is a subtraction from the countdown local and an "if" around
// the call to poll, which the guest takes once in many thousand checks.
// Keeping the countdown in a local, not the global, is what makes it
// cheap: the global's load, subtraction and store at every loop header
// cost 10% to 40% on a tight loop (a store and a load of the same word in
// a loop-carried chain), the local's nothing measurable (RATIONALE.md,
// "Stopping a guest").
func (m *stackModule) instrumentBody(b, wasm []byte, start, end int, fn uint32, params uint64, a *added) ([]byte, error) {
	var edits []edit
	var bad error // the first index out of range
	maxLocal := int64(-1)
	calls := false // calls a function of the module, or may (call_indirect)
	loops := false
	depth := uint32(0) // blocks open in the body
	// loopOf holds, for each open block, the edit of the innermost loop
	// around it (-1: none), whose check counts its instructions.
	loopOf := []int{-1}
	entryWeight := uint32(0)
	exit := func(at int, op byte) {
		if a.Interrupt {
			edits = append(edits, edit{at: at, next: at, op: op})
		}
	}
	r := &reader{buf: wasm, pos: start, end: end}
	locals, err := function(r, fn, true, func(at, next int, op byte, idx uint32) {
		if bad == nil {
			if err := m.inRange(op, idx); err != nil {
				bad = fmt.Errorf("function %d at offset %d: %w", fn, at, err)
			}
		}
		if l := loopOf[len(loopOf)-1]; l < 0 {
			entryWeight++
		} else {
			edits[l].weight++
		}
		switch op {
		case opCodeLocalGet, opCodeLocalSet, opCodeLocalTee:
			maxLocal = max(maxLocal, int64(idx))
		case opCodeBlock, opCodeIf:
			depth++
			loopOf = append(loopOf, loopOf[len(loopOf)-1])
		case opCodeLoop:
			depth++
			loops = true
			if a.Interrupt {
				// The check goes first in the loop's body: every
				// iteration, whichever branch starts it, runs it.
				edits = append(edits, edit{at: next, next: next, op: op})
				loopOf = append(loopOf, len(edits)-1)
			} else {
				loopOf = append(loopOf, -1)
			}
		case opCodeEnd:
			if depth == 0 {
				exit(at, op) // the function's own end
				return
			}
			depth--
			loopOf = loopOf[:len(loopOf)-1]
		case opCodeReturn:
			exit(at, op)
		case opCodeBr, opCodeBrIf:
			if idx == depth {
				exit(at, op)
			}
		case opCodeBrTable:
			if brTableTargets(wasm[at:next], depth) {
				exit(at, op)
			}
		case opCodeRefFunc:
			if a.shift > 0 && idx >= m.importedFuncs {
				edits = append(edits, edit{at: at, next: next, op: op, idx: idx})
			}
		case opCodeCall:
			if idx < m.importedFuncs {
				return // a host function: it uses neither the stack budget nor the countdown
			}
			fallthrough
		case opCodeCallIndirect, opCodeReturnCall, opCodeReturnCallIndirect:
			calls = true
			if a.Stack || a.Interrupt {
				edits = append(edits, edit{at: at, next: next, op: op, idx: idx})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if bad != nil {
		return nil, bad
	}
	// The new locals come after the parameters and the declared locals.
	own := params + locals
	if maxLocal >= 0 && uint64(maxLocal) >= own {
		return nil, malformed(start, "function %d uses local %d of %d", fn, maxLocal, own)
	}
	if own+1 >= math.MaxUint32 {
		return nil, unsupported(start, "function %d has too many locals", fn)
	}
	cost := FrameCost(params, locals)
	if cost > MaxStackBudget {
		cost = MaxStackBudget
	}
	// A function that calls none of the module's functions ends after a
	// bounded number of instructions but for its loops, which have their
	// own checks: it needs none at its entry. The others do, since calls
	// alone can spin (recursion, tail calls). A function with neither
	// loops nor calls does not touch the countdown.
	entryCheck := a.Interrupt && calls
	counts := a.Interrupt && (calls || loops)
	lc := own // the countdown's local
	var extra byte
	if a.Stack {
		extra++
		lc++
	}
	if counts {
		extra++
	}
	r = &reader{buf: wasm, pos: start, end: end}
	groups, _ := r.u32("local count")
	declStart := r.pos
	for range groups {
		_, _ = r.u32("local count")
		_, _ = r.byte("local type")
	}
	if extra > 0 {
		// The local declarations, and one more group of i32s.
		b = appendU32(b, groups+1)
		b = append(b, wasm[declStart:r.pos]...)
		b = append(b, extra, TypeI32)
	} else {
		b = append(b, wasm[start:r.pos]...)
	}
	if a.Stack {
		// own = budget - cost
		b = appendIdx(b, opCodeGlobalGet, a.budget)
		b = appendS64(append(b, opCodeI32Const), int64(cost))
		b = append(b, opCodeI32Sub)
		b = appendIdx(b, opCodeLocalSet, uint32(own))
	}
	if counts {
		// lc = countdown [- weight]
		b = appendIdx(b, opCodeGlobalGet, a.count)
		if entryCheck {
			b = appendS64(append(b, opCodeI32Const), int64(min(entryWeight, MaxCheckWeight)))
			b = append(b, opCodeI32Sub)
		}
		b = appendIdx(b, opCodeLocalSet, uint32(lc))
	}
	switch {
	case a.Stack && entryCheck:
		// Both negative when the guest must stop or poll: one test.
		b = appendIdx(b, opCodeLocalGet, uint32(own))
		b = appendIdx(b, opCodeLocalGet, uint32(lc))
		b = append(b, opCodeI32Or, opCodeI32Const, 0, opCodeI32LtS, opCodeIf, blockTypeEmpty)
		b = a.stackCheck(b, uint32(own))
		b = append(a.pollCall(b, uint32(lc)), opCodeEnd)
	case a.Stack:
		b = a.stackCheck(b, uint32(own))
	case entryCheck:
		b = appendIdx(b, opCodeLocalGet, uint32(lc))
		b = append(b, opCodeI32Const, 0, opCodeI32LtS, opCodeIf, blockTypeEmpty)
		b = append(a.pollCall(b, uint32(lc)), opCodeEnd)
	}
	last := r.pos
	for _, e := range edits {
		b = append(b, wasm[last:e.at]...)
		last = e.at
		switch e.op {
		case opCodeLoop:
			// lc -= weight; if lc < 0 { poll }
			b = appendIdx(b, opCodeLocalGet, uint32(lc))
			b = appendS64(append(b, opCodeI32Const), int64(min(max(e.weight, 1), MaxCheckWeight)))
			b = append(b, opCodeI32Sub)
			b = appendIdx(b, opCodeLocalTee, uint32(lc))
			b = append(b, opCodeI32Const, 0, opCodeI32LtS, opCodeIf, blockTypeEmpty)
			b = append(a.pollCall(b, uint32(lc)), opCodeEnd)
		case opCodeRefFunc:
			b = appendIdx(b, opCodeRefFunc, a.fn(e.idx))
			last = e.next
		case opCodeReturn, opCodeBr, opCodeBrIf, opCodeBrTable, opCodeEnd:
			// On the way out, the countdown goes back to the global
			// for the caller.
			if counts {
				b = appendIdx(b, opCodeLocalGet, uint32(lc))
				b = appendIdx(b, opCodeGlobalSet, a.count)
			}
		default: // a call
			tail := e.op == opCodeReturnCall || e.op == opCodeReturnCallIndirect
			if a.Stack {
				b = appendIdx(b, opCodeLocalGet, uint32(own))
				if tail {
					// A tail call replaces this frame: the callee starts
					// from what this function started from.
					b = appendS64(append(b, opCodeI32Const), int64(cost))
					b = append(b, opCodeI32Add)
				}
				b = appendIdx(b, opCodeGlobalSet, a.budget)
			}
			// The callee takes the countdown on, and gives back what it
			// left, if it counts at all.
			pass := counts && (tail || e.op == opCodeCallIndirect || a.counts[e.idx-m.importedFuncs])
			if pass {
				b = appendIdx(b, opCodeLocalGet, uint32(lc))
				b = appendIdx(b, opCodeGlobalSet, a.count)
			}
			if (e.op == opCodeCall || e.op == opCodeReturnCall) && a.shift > 0 && e.idx >= m.importedFuncs {
				b = appendIdx(b, e.op, a.fn(e.idx))
				last = e.next
			}
			if pass && !tail {
				b = append(b, wasm[last:e.next]...)
				last = e.next
				b = appendIdx(b, opCodeGlobalGet, a.count)
				b = appendIdx(b, opCodeLocalSet, uint32(lc))
			}
		}
	}
	return append(b, wasm[last:end]...), nil
}

// stackCheck appends the trap of a stack overflow: if own < 0 { budget =
// own; unreachable }, which leaves the budget negative for the host to
// see.
func (a *added) stackCheck(b []byte, own uint32) []byte {
	b = appendIdx(b, opCodeLocalGet, own)
	b = append(b, opCodeI32Const, 0, opCodeI32LtS, opCodeIf, blockTypeEmpty)
	b = appendIdx(b, opCodeLocalGet, own)
	b = appendIdx(b, opCodeGlobalSet, a.budget)
	return append(b, opCodeUnreachable, opCodeEnd)
}

// pollCall appends the call to poll: lc = poll(); if lc < 0 { unreachable }.
func (a *added) pollCall(b []byte, lc uint32) []byte {
	b = appendIdx(b, opCodeCall, a.poll)
	b = appendIdx(b, opCodeLocalTee, lc)
	return append(b, opCodeI32Const, 0, opCodeI32LtS, opCodeIf, blockTypeEmpty, opCodeUnreachable, opCodeEnd)
}

// brTableTargets reports whether the br_table instruction ins has depth
// among its labels.
func brTableTargets(ins []byte, depth uint32) bool {
	found := false
	forBrTable(ins, func(label uint32) { found = found || label == depth })
	return found
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
