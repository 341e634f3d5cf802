package wasmbin_test

import (
	"bytes"
	"context"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// snapshotWAT imports a global, so defined globals start at index 1. Its
// init function changes every mutable global, overwrites the bytes of an
// active data segment and grows the memory; its start function counts how
// often it ran.
const snapshotWAT = `(module
  (import "env" "base" (global $base i32))
  (memory (export "memory") 1 4)
  (global $a (mut i32) (i32.const 1))
  (global $b (mut i64) (i64.const 2))
  (global $c (mut f32) (f32.const 3.5))
  (global $d (mut f64) (f64.const 4.25))
  (global $k i32 (i32.const 77))
  (global $starts (mut i32) (i32.const 0))
  (data (i32.const 16) "original")
  (data $p "passive!")
  (data (i32.const 32) "kept")
  (start $start)
  (func $start (global.set $starts (i32.add (global.get $starts) (i32.const 1))))
  (func (export "init")
    (global.set $a (i32.add (global.get $base) (i32.const -100)))
    (global.set $b (i64.const 0x123456789abcdef0))
    (global.set $c (f32.const -1.25))
    (global.set $d (f64.const -0x1.8p+1000))
    (i64.store (i32.const 16) (i64.const 0x4847464544434241))
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 65540) (i32.const 0xdeadbeef)))
  (func (export "a") (result i32) (global.get $a))
  (func (export "b") (result i64) (global.get $b))
  (func (export "c") (result f32) (global.get $c))
  (func (export "d") (result f64) (global.get $d))
  (func (export "k") (result i32) (global.get $k))
  (func (export "starts") (result i32) (global.get $starts))
  (func (export "pages") (result i32) (memory.size))
  (func (export "load") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "copy_passive") (memory.init $p (i32.const 100) (i32.const 0) (i32.const 8)))
)`

func TestSnapshotRoundTrip(t *testing.T) {
	ctx := t.Context()
	wasm := wat(t, snapshotWAT)
	info, err := wasmbin.Inspect(wasm)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if info.ImportedGlobals != 1 || len(info.Globals) != 6 || !info.HasStart || info.DataSegments != 3 || info.ActiveDataSegments != 2 {
		t.Fatalf("Inspect: got %+v", info)
	}

	// Instantiate with exported globals, initialise, capture.
	exported, err := wasmbin.ExportGlobals(wasm)
	if err != nil {
		t.Fatalf("ExportGlobals: %v", err)
	}
	rt := newRuntime(t)
	mod := instantiate(t, ctx, rt, exported, "first")
	call(t, ctx, mod, "init")
	values := make([]uint64, len(info.Globals))
	for i := range info.Globals {
		name := wasmbin.GlobalExportName(info.ImportedGlobals + i)
		g := mod.ExportedGlobal(name)
		if g == nil {
			t.Fatalf("global %s not exported", name)
		}
		values[i] = g.Get()
	}
	size := mod.Memory().Size()
	image, _ := mod.Memory().Read(0, size)
	image = bytes.Clone(image)
	pages := size / 65536
	if pages != 2 {
		t.Fatalf("memory after init: got %d pages, want 2", pages)
	}
	want := results(t, ctx, mod)

	restored, err := wasmbin.Restore(wasm, values, pages)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	rinfo, err := wasmbin.Inspect(restored)
	if err != nil {
		t.Fatalf("Inspect(restored): %v", err)
	}
	if rinfo.HasStart || rinfo.MemoryMin != 2 || rinfo.MemoryMax != 4 || rinfo.DataSegments != 3 || rinfo.ActiveDataBytes != 0 {
		t.Errorf("Inspect(restored): got %+v", rinfo)
	}

	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"pre-filled memory", experimental.WithMemoryAllocator(ctx, imageAllocator(image))},
		{"fresh memory", ctx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mod := instantiate(t, tc.ctx, rt, restored, "restored")
			got := results(t, ctx, mod)
			for name, w := range want {
				if strings.HasPrefix(name, "load ") && tc.ctx == ctx {
					w = 0 // the data segments are empty: memory is all zeros
				}
				if got[name] != w {
					t.Errorf("%s: got %#x, want %#x", name, got[name], w)
				}
			}
			if tc.ctx != ctx {
				mem, _ := mod.Memory().Read(0, mod.Memory().Size())
				if !bytes.Equal(mem, image) {
					t.Error("memory of the restored instance differs from the captured image")
				}
			}
			// The passive segment was kept: memory.init still copies it.
			call(t, ctx, mod, "copy_passive")
			if b, _ := mod.Memory().Read(100, 8); string(b) != "passive!" {
				t.Errorf("memory.init of the passive segment: got %q", b)
			}
		})
	}
}

// results calls every getter of snapshotWAT.
func results(t *testing.T, ctx context.Context, mod api.Module) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	for _, name := range []string{"a", "b", "c", "d", "k", "starts", "pages"} {
		m[name] = call(t, ctx, mod, name)
	}
	for _, addr := range []uint64{16, 32, 65540} {
		r, err := mod.ExportedFunction("load").Call(ctx, addr)
		if err != nil {
			t.Fatalf("load %d: %v", addr, err)
		}
		m["load "+strconv.FormatUint(addr, 10)] = r[0]
	}
	return m
}

func TestSnapshotValues(t *testing.T) {
	// The values init stores, as checked against the original instance.
	ctx := t.Context()
	rt := newRuntime(t)
	exported, err := wasmbin.ExportGlobals(wat(t, snapshotWAT))
	if err != nil {
		t.Fatal(err)
	}
	mod := instantiate(t, ctx, rt, exported, "values")
	call(t, ctx, mod, "init")
	got := results(t, ctx, mod)
	want := map[string]uint64{
		"a":          0xFFFFFFA5, // int32(9-100) zero-extended
		"b":          0x123456789abcdef0,
		"c":          uint64(math.Float32bits(-1.25)),
		"d":          math.Float64bits(-0x1.8p+1000),
		"k":          77,
		"starts":     1,
		"pages":      2,
		"load 16":    0x4847464544434241,
		"load 32":    uint64(0x7470656b), // "kept"
		"load 65540": 0xdeadbeef,
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %#x, want %#x", name, got[name], w)
		}
	}
}

func newRuntime(t *testing.T) wazero.Runtime {
	t.Helper()
	ctx := t.Context()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	env := wat(t, `(module (global (export "base") i32 (i32.const 9)))`)
	if _, err := rt.InstantiateWithConfig(ctx, env, wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatalf("instantiate env: %v", err)
	}
	return rt
}

func instantiate(t *testing.T, ctx context.Context, rt wazero.Runtime, wasm []byte, name string) api.Module {
	t.Helper()
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(name))
	if err != nil {
		t.Fatalf("instantiate %s: %v", name, err)
	}
	t.Cleanup(func() { _ = mod.Close(context.Background()) })
	return mod
}

func call(t *testing.T, ctx context.Context, mod api.Module, name string) uint64 {
	t.Helper()
	f := mod.ExportedFunction(name)
	if f == nil {
		t.Fatalf("no export %s", name)
	}
	r, err := f.Call(ctx)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	if len(r) == 0 {
		return 0
	}
	return r[0]
}

// imageAllocator returns linear memories that start with a copy of image.
func imageAllocator(image []byte) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
		return &imageMemory{image: image, capacity: capacity}
	})
}

type imageMemory struct {
	image    []byte
	capacity uint64
	buf      []byte
}

func (m *imageMemory) Reallocate(size uint64) []byte {
	if m.buf == nil {
		m.buf = make([]byte, size, max(size, m.capacity))
		copy(m.buf, m.image)
		return m.buf
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	buf := make([]byte, size)
	copy(buf, m.buf)
	m.buf = buf
	return buf
}

func (m *imageMemory) Free() { m.buf = nil }
