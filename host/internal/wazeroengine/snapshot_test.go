package wazeroengine

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/tetratelabs/wazero/api"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/enginetest"
)

// lockedBuffer is a stdout the test can read while instances write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func compileFile(t *testing.T, e *Engine, path string) *module {
	t.Helper()
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Compile(context.Background(), path, wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m.(*module)
}

func newEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// state is everything an instance is: its memory and the values of its
// globals.
func state(t *testing.T, inst engine.Instance, globals []string) ([]byte, []uint64) {
	t.Helper()
	mod := inst.(*instance).mod
	mem, ok := mod.Memory().Read(0, mod.Memory().Size())
	if !ok {
		t.Fatal("cannot read memory")
	}
	var vals []uint64
	for _, g := range globals {
		vals = append(vals, mod.ExportedGlobal(g).Get())
	}
	return bytes.Clone(mem), vals
}

func TestSnapshotStartsLikeInit(t *testing.T) {
	ctx := context.Background()
	m := compileFile(t, newEngine(t), "../../../testdata/wat/snapinit.wasm")
	if !m.snapshottable {
		t.Fatalf("snapinit cannot be snapshotted: %v", m.whyNot)
	}
	var out lockedBuffer
	cfg := engine.InstanceConfig{Stdout: &out, MemoryLimit: 64 << 20}
	fresh, err := m.Instantiate(ctx, cfg) // initialises
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close(ctx)
	cfg.Snapshot = true
	first, err := m.Instantiate(ctx, cfg) // initialises, then snapshots
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(ctx)
	var snapped []engine.Instance
	for range 3 {
		inst, err := m.Instantiate(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Close(ctx)
		snapped = append(snapped, inst)
	}
	if n := strings.Count(out.String(), "init\n"); n != 2 {
		t.Errorf("_initialize ran %d times for 5 instances, want 2 (3 started from the snapshot)", n)
	}
	wantMem, wantGlobals := state(t, fresh, m.prep.Globals)
	if len(wantMem) != 3*wasmPage {
		t.Fatalf("fresh instance has %d bytes of memory, want 3 pages (grown during init)", len(wantMem))
	}
	if string(wantMem[:6]) != "after!" {
		t.Fatalf("fresh instance memory starts %q, want the data segment overwritten by init", wantMem[:6])
	}
	for i, inst := range snapped {
		mem, globals := state(t, inst, m.prep.Globals)
		if !bytes.Equal(mem, wantMem) {
			t.Errorf("snapshot instance %d: memory differs from a fresh instance's (%d against %d bytes)", i, len(mem), len(wantMem))
		}
		if !slicesEqual(globals, wantGlobals) {
			t.Errorf("snapshot instance %d: globals %x, want %x", i, globals, wantGlobals)
		}
	}

	// Instances are independent: a write to one shows in no other, nor in
	// later ones.
	mod0 := snapped[0].(*instance).mod
	mod0.Memory().WriteUint32Le(0, 0xdeadbeef)
	mod0.Memory().WriteUint32Le(2*wasmPage+100, 1)
	mod0.ExportedGlobal(m.prep.Globals[0]).(api.MutableGlobal).Set(7)
	later, err := m.Instantiate(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close(ctx)
	for _, inst := range []engine.Instance{snapped[1], later} {
		mem, globals := state(t, inst, m.prep.Globals)
		if !bytes.Equal(mem, wantMem) || !slicesEqual(globals, wantGlobals) {
			t.Error("a write to one snapshot instance showed in another")
		}
	}
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSnapshotPerConfiguration(t *testing.T) {
	ctx := context.Background()
	m := compileFile(t, newEngine(t), "../../../testdata/wat/snapinit.wasm")
	var out lockedBuffer
	for _, env := range [][][2]string{{{"A", "1"}}, {{"A", "2"}}, {{"A", "1"}}} {
		inst, err := m.Instantiate(ctx, engine.InstanceConfig{Stdout: &out, Env: env, Snapshot: true})
		if err != nil {
			t.Fatal(err)
		}
		inst.Close(ctx)
	}
	// A=1 initialises, A=2 initialises (its environment could change what
	// init does), A=1 again initialises: only the latest snapshot is kept.
	if n := strings.Count(out.String(), "init\n"); n != 3 {
		t.Errorf("_initialize ran %d times, want 3", n)
	}
	inst, err := m.Instantiate(ctx, engine.InstanceConfig{Stdout: &out, Env: [][2]string{{"A", "1"}}, Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	inst.Close(ctx)
	if n := strings.Count(out.String(), "init\n"); n != 3 {
		t.Errorf("_initialize ran again with the same environment (%d times)", n)
	}
}

func TestSnapshotGoGuest(t *testing.T) {
	ctx := context.Background()
	wasm, ok := enginetest.Hellos(t, "../../..")["go"]
	if !ok {
		t.Skip("go not found: cannot build the Go guest")
	}
	e := newEngine(t)
	mm, err := e.Compile(ctx, "go", wasm)
	if err != nil {
		t.Fatal(err)
	}
	defer mm.Close(ctx)
	m := mm.(*module)
	if !m.snapshottable {
		t.Fatalf("the Go guest cannot be snapshotted: %v", m.whyNot)
	}
	cfg := engine.InstanceConfig{MemoryLimit: 256 << 20}
	fresh, err := m.Instantiate(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close(ctx)
	cfg.Snapshot = true
	for range 2 {
		inst, err := m.Instantiate(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Close(ctx)
		_, globals := state(t, inst, m.prep.Globals)
		_, want := state(t, fresh, m.prep.Globals)
		if !slicesEqual(globals, want) {
			t.Errorf("globals %x, want %x as after a fresh start", globals, want)
		}
	}
}

func TestNotSnapshottableStartsNormally(t *testing.T) {
	ctx := context.Background()
	// tasks.wasm and friends are fine; a module with a start function is
	// not: it would run again.
	e := newEngine(t)
	wasm := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type: () -> ()
		"\x03\x03\x02\x00\x00" + // two functions
		"\x05\x03\x01\x00\x01" + // memory 1
		"\x07\x24\x03\x06memory\x02\x00\x0awfn_abi_v1\x00\x00\x0awfn_handle\x00\x01" +
		"\x08\x01\x00" + // start: function 0
		"\x0a\x07\x02\x02\x00\x0b\x02\x00\x0b")
	mm, err := e.Compile(ctx, "start", wasm)
	if err != nil {
		t.Fatal(err)
	}
	defer mm.Close(ctx)
	m := mm.(*module)
	if m.snapshottable {
		t.Fatal("a module with a start function was taken as snapshottable")
	}
	for range 2 {
		inst, err := m.Instantiate(ctx, engine.InstanceConfig{Snapshot: true})
		if err != nil {
			t.Fatal(err)
		}
		inst.Close(ctx)
	}
	if m.snap != nil {
		t.Error("a snapshot was taken of a module with a start function")
	}
}

func TestMemoryGrowsInPlaceWithinLimit(t *testing.T) {
	ctx := context.Background()
	m := compileFile(t, newEngine(t), "../../../testdata/wat/snapinit.wasm")
	inst, err := m.Instantiate(ctx, engine.InstanceConfig{MemoryLimit: 5 * wasmPage})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)
	mem := inst.(*instance).mod.Memory()
	before, _ := mem.Read(0, 1)
	if _, ok := mem.Grow(2); !ok {
		t.Fatal("growing to the limit failed")
	}
	after, _ := mem.Read(0, 1)
	if _, isMmap := inst.(*instance).mem.lin.(*mmapMemory); isMmap && unsafe.SliceData(before) != unsafe.SliceData(after) {
		t.Error("memory moved when it grew")
	}
	if _, ok := mem.Grow(1); ok {
		t.Error("memory grew past its limit")
	}
}

func TestReusedMemoryIsZeroed(t *testing.T) {
	ctx := context.Background()
	m := compileFile(t, newEngine(t), "../../../testdata/wat/snapinit.wasm")
	cfg := engine.InstanceConfig{MemoryLimit: 8 * wasmPage}
	for i := range 20 {
		inst, err := m.Instantiate(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		mem := inst.(*instance).mod.Memory()
		// What an earlier instance wrote must never be seen by a later one.
		for _, off := range []uint32{2000, wasmPage + 8, 2*wasmPage + 4000} {
			if v, _ := mem.ReadUint32Le(off); v != 0 {
				t.Fatalf("instance %d sees %#x at %d, written by an earlier instance", i, v, off)
			}
			mem.WriteUint32Le(off, 0x5ec12e7)
		}
		if _, ok := mem.Grow(3); !ok {
			t.Fatal("grow failed")
		}
		if v, _ := mem.ReadUint32Le(4*wasmPage + 16); v != 0 {
			t.Fatalf("instance %d sees %#x in a grown page", i, v)
		}
		mem.WriteUint32Le(4*wasmPage+16, 0x5ec12e7)
		inst.Close(ctx)
	}
}

// countingMemory records whether it was freed.
type countingMemory struct{ freed int }

func (c *countingMemory) Reallocate(size uint64) []byte { return make([]byte, size) }
func (c *countingMemory) Free()                         { c.freed++ }

func TestFreeWaitsForRunningCall(t *testing.T) {
	lin := &countingMemory{}
	m := &memory{lin: lin}
	m.enter()
	m.Free() // the engine closing while the guest runs
	if lin.freed != 0 {
		t.Fatal("memory released under a running call")
	}
	m.leave()
	if lin.freed != 1 {
		t.Fatal("memory not released when the call returned")
	}
	m.Free()
	if lin.freed != 1 {
		t.Fatal("memory released twice")
	}
}
