package wasmbin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// recursion has an export that recurses n frames deep through $down (one
// parameter, no locals: FrameCost(1, 0) = 80 bytes a frame) and the same
// through a table (call_indirect), and calls an import on the way down.
const recursion = `(module
  (import "env" "tick" (func $tick))
  (memory (export "memory") 1)
  (table 1 funcref)
  (elem (i32.const 0) $down_indirect)
  (type $t (func (param i32) (result i32)))
  (func $down (param $n i32) (result i32)
    (call $tick)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (call $down (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))))
  (func $down_indirect (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (call_indirect (type $t) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0)) (i32.const 1)))))
  (func (export "down") (param $n i32) (result i32) (call $down (local.get $n)))
  (func (export "indirect") (param $n i32) (result i32) (call $down_indirect (local.get $n))))`

func TestLimitStack(t *testing.T) {
	ctx := t.Context()
	frame := wasmbin.FrameCost(1, 0)
	// The exported function's frame, then 10 frames of $down: n = 9 fits,
	// n = 10 does not.
	budget := uint32(frame + 10*frame)
	out, err := wasmbin.LimitStack(wat(t, recursion), budget)
	if err != nil {
		t.Fatalf("LimitStack: %v", err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(context.Background())
	ticks := 0
	if _, err := rt.NewHostModuleBuilder("env").NewFunctionBuilder().WithFunc(func() { ticks++ }).Export("tick").Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateWithConfig(ctx, out, wazero.NewModuleConfig())
	if err != nil {
		t.Fatalf("wazero refuses the result: %v", err)
	}
	left := mod.ExportedGlobal(wasmbin.StackBudgetExport)
	if left == nil {
		t.Fatalf("no export %s", wasmbin.StackBudgetExport)
	}
	for _, export := range []string{"down", "indirect"} {
		call := func(n uint64) ([]uint64, error) { return mod.ExportedFunction(export).Call(ctx, n) }
		// Again and again: the budget is whole at every call from the host.
		for range 3 {
			res, err := call(9)
			if err != nil || res[0] != 9 {
				t.Fatalf("%s(9) = %v, %v; want 9 within a budget of %d", export, res, err, budget)
			}
			if got := uint32(left.Get()); got != budget {
				t.Fatalf("after %s(9) the budget is %d, want %d restored", export, got, budget)
			}
		}
		if _, err := call(10); err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("%s(10) = %v, want a trap past the budget", export, err)
		}
		if got := int32(left.Get()); got >= 0 {
			t.Errorf("after the overflow the budget is %d, want it negative", got)
		}
		// A trap leaves the count behind; the next call from the host
		// starts afresh.
		if res, err := call(9); err != nil || res[0] != 9 {
			t.Errorf("%s(9) after an overflow = %v, %v", export, res, err)
		}
	}
	if ticks == 0 {
		t.Error("the import was never called")
	}
}

// TestLimitStackShapes checks that modules of every shape stay valid and
// behave the same: without globals or exports, with a start function,
// with imported globals and table instructions.
func TestLimitStackShapes(t *testing.T) {
	tests := []struct {
		name, wat string
		check     func(t *testing.T, mod api.Module)
	}{
		{
			name: "no global or export section",
			wat:  `(module (memory 1) (func $f (local i64) (local.set 0 (i64.const 1))))`,
		},
		{
			name: "start function and imported global",
			wat: `(module (import "env" "base" (global $base i32)) (memory (export "memory") 1)
			  (global $g (export "g") (mut i32) (i32.const 0))
			  (func $init (global.set $g (call $twice (global.get $base))))
			  (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
			  (start $init))`,
			check: func(t *testing.T, mod api.Module) {
				if got := mod.ExportedGlobal("g").Get(); got != 18 {
					t.Errorf("g = %d after the start function, want 18", got)
				}
			},
		},
		{
			name: "table instructions and multiple results",
			wat: `(module (memory (export "memory") 1) (table $t 2 funcref)
			  (func $pair (result i32 i32) (i32.const 1) (i32.const 2))
			  (func (export "run") (result i32)
			    (table.set $t (i32.const 1) (ref.func $pair))
			    (drop (table.grow $t (ref.null func) (i32.const 1)))
			    (i32.add (call $pair)))
			  (elem declare func $pair))`,
			check: func(t *testing.T, mod api.Module) {
				res, err := mod.ExportedFunction("run").Call(t.Context())
				if err != nil || res[0] != 3 {
					t.Errorf("run() = %v, %v; want 3", res, err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := wasmbin.LimitStack(wat(t, tc.wat), 1<<20)
			if err != nil {
				t.Fatalf("LimitStack: %v", err)
			}
			rt := newRuntime(t)
			mod, err := rt.InstantiateWithConfig(t.Context(), out, wazero.NewModuleConfig())
			if err != nil {
				t.Fatalf("wazero refuses the result: %v", err)
			}
			if got := mod.ExportedGlobal(wasmbin.StackBudgetExport).Get(); got != 1<<20 {
				t.Errorf("budget between calls = %d, want %d", got, 1<<20)
			}
			if tc.check != nil {
				tc.check(t, mod)
			}
		})
	}
}

func TestLimitStackRefuses(t *testing.T) {
	tests := []struct {
		name  string
		wasm  []byte
		flags []string
		want  string
	}{
		{name: "malformed", wasm: []byte("\x00asm\x01\x00\x00\x00\x01\xff"), want: "malformed"},
		{name: "exception handling", wasm: nil, want: "exception handling"},
		{name: "name taken", wasm: nil, want: "already exports"},
	}
	tests[1].wasm = wat(t, `(module (tag $e) (func (throw $e)))`, "--enable-exceptions")
	tests[2].wasm = wat(t, `(module (global (export "`+wasmbin.StackBudgetExport+`") i32 (i32.const 0)))`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasmbin.LimitStack(tc.wasm, 1<<20)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LimitStack = %v, want an error saying %q", err, tc.want)
			}
			if tc.name == "malformed" && !errors.Is(err, wasmbin.ErrMalformed) {
				t.Errorf("%v does not match ErrMalformed", err)
			}
		})
	}
}

// TestLimitStackGoGuest checks that a Go guest, rewritten, still compiles.
// (The host's tests run Go guests rewritten, on every request.)
func TestLimitStackGoGuest(t *testing.T) {
	out, err := wasmbin.LimitStack(goGuest(t), 1<<20)
	if err != nil {
		t.Fatalf("LimitStack: %v", err)
	}
	if _, err := newRuntime(t).CompileModule(t.Context(), out); err != nil {
		t.Fatalf("wazero refuses the rewritten Go guest: %v", err)
	}
}

// TestLimitStackRefusesForeignIndices checks that a module naming what the
// rewrite adds (the wrappers after its functions, the budget global after
// its globals, a local after its own) is refused: invalid as it stands, it
// would be valid once rewritten and could reset or raise its own budget.
func TestLimitStackRefusesForeignIndices(t *testing.T) {
	section := func(id byte, payload ...byte) []byte {
		return append([]byte{id, byte(len(payload))}, payload...)
	}
	// module: one function () -> () exported as "f", with body, plus extra
	// sections (table, element) between export and code.
	module := func(exportIdx byte, body []byte, tableAndElem ...[]byte) []byte {
		b := []byte("\x00asm\x01\x00\x00\x00")
		b = append(b, section(1, 1, 0x60, 0, 0)...) // type: () -> ()
		b = append(b, section(3, 1, 0)...)          // one function of type 0
		if len(tableAndElem) > 0 {
			b = append(b, tableAndElem[0]...)
		}
		b = append(b, section(7, 1, 1, 'f', 0, exportIdx)...) // export "f" func
		if len(tableAndElem) > 1 {
			b = append(b, tableAndElem[1]...)
		}
		code := append([]byte{1, byte(len(body))}, body...)
		return append(b, section(10, code...)...)
	}
	maxI32 := []byte{0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x07}
	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		{"call a wrapper", module(0, []byte{0, 0x10, 1, 0x0B}), "function index 1"},
		{"tail call a wrapper", module(0, []byte{0, 0x12, 1, 0x0B}), "function index 1"},
		{"ref.func a wrapper", module(0, []byte{0, 0xD2, 1, 0x1A, 0x0B}), "function index 1"},
		{"set the hidden local", module(0, append(append([]byte{0}, maxI32...), 0x21, 0, 0x0B)), "local 0"},
		{"set the budget global", module(0, append(append([]byte{0}, maxI32...), 0x24, 0, 0x0B)), "global index 0"},
		{"export a wrapper", module(1, []byte{0, 0x0B}), "function index 1"},
		{"a wrapper in a table", module(0, []byte{0, 0x0B},
			section(4, 1, 0x70, 0, 1),                                   // table funcref, min 1
			section(9, 1, 0, 0x41, 0, 0x0B, 1, 1)), "function index 1"}, // elem: [1] at 0
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasmbin.LimitStack(tc.wasm, 1<<20)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LimitStack = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	// The same module with valid indices is rewritten.
	if _, err := wasmbin.LimitStack(module(0, []byte{0, 0x10, 0, 0x0B}), 1<<20); err != nil {
		t.Fatalf("a valid module: %v", err)
	}
}
