package wasmbin_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// TestPrepareData checks that Prepare's image is the memory the data
// segments write, that the prepared module writes none of it itself, and
// that it exports the mutable globals.
func TestPrepareData(t *testing.T) {
	src := `(module
	  (memory (export "memory") 2)
	  (global $a (mut i32) (i32.const 5))
	  (global $b i64 (i64.const 6))
	  (global $c (mut f64) (f64.const 7))
	  (data (i32.const 10) "hello")
	  (data (i32.const 70000) "world")
	  (data (i32.const 12) "LL"))`
	for _, passive := range []bool{false, true} {
		wasm := src
		if passive {
			wasm = src[:len(src)-1] + ` (data "passive") (func (export "f") (memory.init 3 (i32.const 0) (i32.const 0) (i32.const 7))))`
		}
		bin := wat(t, wasm)
		p, err := wasmbin.Prepare(bin)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Globals) != 2 || p.Globals[0] != wasmbin.GlobalExportName(0) || p.Globals[1] != wasmbin.GlobalExportName(2) {
			t.Errorf("Globals = %q, want the two mutable ones", p.Globals)
		}
		ctx := context.Background()
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		orig, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := orig.Memory().Read(0, 70005)
		if !bytes.Equal(p.Data, want) {
			t.Errorf("passive=%t: Data (%d bytes) is not the memory the segments write (%d bytes)", passive, len(p.Data), len(want))
		}
		prep, err := rt.InstantiateWithConfig(ctx, p.Wasm, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := prep.Memory().Read(0, prep.Memory().Size())
		if !bytes.Equal(got, make([]byte, len(got))) {
			t.Errorf("passive=%t: the prepared module still writes its data segments", passive)
		}
		if g := prep.ExportedGlobal(p.Globals[1]); g == nil || g.Get() != 0x401c000000000000 {
			t.Errorf("passive=%t: global export %s missing or wrong", passive, p.Globals[1])
		}
		if passive {
			if _, err := prep.ExportedFunction("f").Call(ctx); err != nil {
				t.Errorf("memory.init of the passive segment: %v", err)
			}
			if b, _ := prep.Memory().Read(0, 7); string(b) != "passive" {
				t.Errorf("passive segment = %q", b)
			}
		}
	}
}

func TestPrepareRefuses(t *testing.T) {
	for name, src := range map[string]string{
		"segment past the minimum": `(module (memory 1) (data (i32.const 65530) "too long"))`,
		"offset from a global":     `(module (import "m" "g" (global i32)) (memory 1) (data (global.get 0) "x"))`,
	} {
		if _, err := wasmbin.Prepare(wat(t, src)); !errors.Is(err, wasmbin.ErrNotSnapshottable) {
			t.Errorf("%s: Prepare = %v, want ErrNotSnapshottable", name, err)
		}
	}
}
