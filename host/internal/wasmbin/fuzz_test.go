package wasmbin_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// FuzzInspect checks that no input makes the package panic, that every
// error wraps ErrNotSnapshottable, and that a snapshottable module stays
// snapshottable, with the same globals and data segments, through
// ExportGlobals and Restore.
func FuzzInspect(f *testing.F) {
	for _, wasm := range fixtures(f) {
		f.Add(wasm)
	}
	f.Add(wat(f, snapshotWAT))
	f.Add(wat(f, strings.Replace(everyInstruction, "(global $h", "(global $x (mut f32) (f32.const 1))\n  (global $h", 1), "--enable-threads", "--enable-tail-call"))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		info, err := wasmbin.Inspect(wasm)
		if err != nil {
			if !errors.Is(err, wasmbin.ErrNotSnapshottable) {
				t.Fatalf("Inspect: %v does not wrap ErrNotSnapshottable", err)
			}
			if _, err2 := wasmbin.ExportGlobals(wasm); err2 == nil {
				t.Fatalf("ExportGlobals accepts what Inspect rejects: %v", err)
			}
			return
		}
		exported, err := wasmbin.ExportGlobals(wasm)
		if err != nil {
			t.Fatalf("ExportGlobals: %v", err)
		}
		einfo, err := wasmbin.Inspect(exported)
		if err != nil {
			t.Fatalf("Inspect(ExportGlobals): %v", err)
		}
		if !slices.Equal(einfo.Globals, info.Globals) || einfo.DataSegments != info.DataSegments {
			t.Fatalf("ExportGlobals changed the module: %+v, was %+v", einfo, info)
		}
		restored, err := wasmbin.Restore(wasm, make([]uint64, len(info.Globals)), info.MemoryMin)
		if err != nil {
			t.Fatalf("Restore: %v", err)
		}
		rinfo, err := wasmbin.Inspect(restored)
		if err != nil {
			t.Fatalf("Inspect(Restore): %v", err)
		}
		if !slices.Equal(rinfo.Globals, info.Globals) || rinfo.DataSegments != info.DataSegments ||
			rinfo.ActiveDataSegments != info.ActiveDataSegments || rinfo.ActiveDataBytes != 0 || rinfo.HasStart ||
			rinfo.MemoryMin != info.MemoryMin || rinfo.MemoryMax != info.MemoryMax || rinfo.HasMax != info.HasMax {
			t.Fatalf("Restore: got %+v from %+v", rinfo, info)
		}
	})
}
