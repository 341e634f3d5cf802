package wasmbin_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

func TestExportGlobals(t *testing.T) {
	tests := []struct {
		name  string
		wat   string
		names []string // exports expected afterwards, besides the globals
	}{
		{
			name: "no export section, custom section at the end",
			wat:  `(module (memory 1) (global $g (mut i32) (i32.const 1)) (func $f))`,
		},
		{
			name:  "existing exports, start and elements after",
			wat:   `(module (import "env" "base" (global i32)) (memory (export "memory") 1) (table 1 funcref) (global $g (mut i64) (i64.const 1)) (global f64 (f64.const 2)) (func $f (export "f")) (start $f) (elem (i32.const 0) $f))`,
			names: []string{"memory", "f"},
		},
		{
			name: "no globals",
			wat:  `(module (memory 1))`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			// $m puts the module's name in the name section.
			wasm := wat(t, strings.Replace(tc.wat, "(module", "(module $m", 1), "--debug-names")
			info, err := wasmbin.Inspect(wasm)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			out, err := wasmbin.ExportGlobals(wasm)
			if err != nil {
				t.Fatalf("ExportGlobals: %v", err)
			}
			if _, err := wasmbin.Inspect(out); err != nil {
				t.Fatalf("Inspect(ExportGlobals): %v", err)
			}
			rt := newRuntime(t)
			compiled, err := rt.CompileModule(ctx, out)
			if err != nil {
				t.Fatalf("wazero cannot compile the result: %v", err)
			}
			mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig())
			if err != nil {
				t.Fatalf("instantiate: %v", err)
			}
			defer mod.Close(ctx)
			for _, name := range tc.names {
				if mod.ExportedFunction(name) == nil && mod.ExportedMemory(name) == nil {
					t.Errorf("export %q lost", name)
				}
			}
			for i := range info.Globals {
				name := wasmbin.GlobalExportName(info.ImportedGlobals + i)
				if mod.ExportedGlobal(name) == nil {
					t.Errorf("global %d not exported as %q", info.ImportedGlobals+i, name)
				}
			}
			if n := len(compiled.ExportedFunctions()) + len(compiled.ExportedMemories()); n != len(tc.names) {
				t.Errorf("got %d function and memory exports, want %d", n, len(tc.names))
			}
			if compiled.Name() != "m" {
				t.Error("the name section was lost")
			}
		})
	}
}

func TestExportGlobalsNameTaken(t *testing.T) {
	wasm := wat(t, `(module (memory 1) (global (export "wfn:snapshot:global:0") i32 (i32.const 1)))`)
	_, err := wasmbin.ExportGlobals(wasm)
	if !errors.Is(err, wasmbin.ErrNotSnapshottable) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("ExportGlobals: got %v, want ErrNotSnapshottable for a name already exported", err)
	}
}

// TestRestoreUnchanged checks that Restore changes nothing else: with the
// initial values and size, a module without start or active data comes back
// byte for byte, custom sections included.
func TestRestoreUnchanged(t *testing.T) {
	wasm := wat(t, `(module (memory 2 3) (data "passive")
		(global i32 (i32.const -7)) (global (mut i64) (i64.const 1234567890123)) (global (mut f32) (f32.const -0.5)) (global f64 (f64.const 1e300))
		(func (export "f") (result i32) (i32.const 1)))`, "--debug-names")
	values := []uint64{0xFFFFFFF9, 1234567890123, 0xBF000000, 0x7E37E43C8800759C}
	out, err := wasmbin.Restore(wasm, values, 2)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if !bytes.Equal(out, wasm) {
		t.Errorf("Restore changed the module:\n got % x\nwant % x", out, wasm)
	}
}

func TestRestoreErrors(t *testing.T) {
	wasm := wat(t, `(module (memory 2 3) (global (mut i32) (i32.const 0)))`)
	tests := []struct {
		name   string
		values []uint64
		pages  uint32
	}{
		{"too few values", nil, 2},
		{"too many values", []uint64{1, 2}, 2},
		{"more pages than the maximum", []uint64{1}, 4},
		{"fewer pages than the minimum", []uint64{1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := wasmbin.Restore(wasm, tc.values, tc.pages); err == nil {
				t.Fatal("Restore: got no error")
			}
		})
	}
	if _, err := wasmbin.Restore(wasm, []uint64{1}, 3); err != nil {
		t.Fatalf("Restore at the maximum: %v", err)
	}
}
