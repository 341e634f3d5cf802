package wasmbin

// Prepared is a module rewritten so that the host owns its initial state:
// the host writes the memory image (Data, or a snapshot) itself and reads
// and sets the globals through exports. The same compiled module then
// serves both a normal start and a start from a snapshot.
type Prepared struct {
	// Wasm is the module with every defined global exported under
	// GlobalExportName of its index and every active data segment emptied
	// (as Restore does; passive segments unchanged).
	Wasm []byte
	// Data is the memory the active data segments wrote: the image a
	// normal start begins with, from address 0. It is never larger than
	// the memory's minimum.
	Data []byte
	// Globals are the export names of the mutable defined globals, in
	// index order: the state a snapshot records besides memory.
	// (Immutable globals cannot change during initialisation. The
	// countdown of Checks.Interrupt is left out too: it is the host's,
	// and how much of it initialisation used depends on timing.)
	Globals []string
	// HasStart is whether the module has a start function, which runs at
	// every instantiation: such a module cannot start from a snapshot.
	HasStart bool
}

// maxPreparedData bounds the memory image of data segments.
const maxPreparedData = 256 << 20

// Prepare rewrites wasm for the host, or returns an error wrapping
// ErrNotSnapshottable that says why it cannot (also wrapping ErrMalformed
// for a malformed module). Besides Inspect's reasons, every active data
// segment must be at a constant i32 offset in memory 0.
func Prepare(wasm []byte) (*Prepared, error) {
	m, err := parse(wasm)
	if err != nil {
		return nil, err
	}
	p := &Prepared{HasStart: m.info.HasStart}
	globals := m.info.Globals
	if n := len(globals); m.polls && n > 0 && globals[n-1] == (Global{Type: TypeI32, Mutable: true}) {
		globals = globals[:n-1] // the countdown
	}
	for i, g := range globals {
		if g.Mutable {
			p.Globals = append(p.Globals, GlobalExportName(m.info.ImportedGlobals+i))
		}
	}
	minBytes := uint64(m.info.MemoryMin) * 65536
	for _, d := range m.dataSegs {
		if !d.active {
			continue
		}
		off, data, err := activeSegment(wasm, d)
		if err != nil {
			return nil, err
		}
		end := uint64(off) + uint64(len(data))
		if end > minBytes || end > maxPreparedData {
			return nil, unsupported(d.start, "data segment [%d, %d) is past the memory's minimum of %d bytes", off, end, minBytes)
		}
		if len(data) == 0 {
			continue
		}
		if uint64(len(p.Data)) < end {
			p.Data = append(p.Data, make([]byte, end-uint64(len(p.Data)))...)
		}
		copy(p.Data[off:], data)
	}
	// Restore with the globals' present initialisers would rewrite them;
	// only the data segments must change, so rebuild that section alone.
	// When every segment is active and no code refers to segments (no
	// data count section), the section goes: an engine spends time on
	// every segment at each instantiation, even an empty one, and Go
	// guests have thousands.
	passive := false
	for _, d := range m.dataSegs {
		passive = passive || !d.active
	}
	hasDataCount := false
	for _, s := range m.sections {
		hasDataCount = hasDataCount || s.id == secDataCount
	}
	out, err := m.exportGlobals(wasm, func(s section) ([]byte, bool) {
		if s.id != secData {
			return nil, false
		}
		if !passive && !hasDataCount {
			return nil, true
		}
		pl := appendU32(nil, uint32(len(m.dataSegs)))
		for _, d := range m.dataSegs {
			if d.active {
				// flags 0 (active, memory 0), i32.const 0, end, no bytes
				pl = append(pl, 0x00, 0x41, 0x00, 0x0B, 0x00)
			} else {
				pl = append(pl, wasm[d.start:d.end]...)
			}
		}
		return appendSection(nil, secData, pl), true
	})
	if err != nil {
		return nil, err
	}
	p.Wasm = out
	return p, nil
}

// activeSegment reads the constant offset and the bytes of an active data
// segment.
func activeSegment(wasm []byte, d dataSeg) (uint32, []byte, error) {
	r := &reader{buf: wasm, pos: d.start, end: d.end}
	flags, err := r.u32("data segment flags")
	if err != nil {
		return 0, nil, err
	}
	if flags == 2 {
		mem, err := r.u32("data segment memory index")
		if err != nil {
			return 0, nil, err
		}
		if mem != 0 {
			return 0, nil, unsupported(d.start, "data segment for memory %d", mem)
		}
	} else if flags != 0 {
		return 0, nil, malformed(d.start, "active data segment with flags %d", flags)
	}
	op, err := r.byte("data segment offset")
	if err != nil {
		return 0, nil, err
	}
	if op != 0x41 {
		return 0, nil, unsupported(r.pos-1, "data segment offset is not an i32.const (opcode 0x%02x)", op)
	}
	off, err := r.signed(32, "data segment offset")
	if err != nil {
		return 0, nil, err
	}
	if end, err := r.byte("data segment offset end"); err != nil || end != 0x0B {
		return 0, nil, unsupported(r.pos-1, "data segment offset is not a single i32.const")
	}
	n, err := r.u32("data segment size")
	if err != nil {
		return 0, nil, err
	}
	if int(n) > r.end-r.pos {
		return 0, nil, malformed(r.pos, "data segment of %d bytes past its end", n)
	}
	return uint32(off), wasm[r.pos : r.pos+int(n)], nil
}
