package wasmbin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

func TestInspectRejects(t *testing.T) {
	tests := []struct {
		name   string
		wat    string
		flags  []string
		reason string // part of the error message
	}{
		{
			name:   "table.set",
			wat:    `(module (memory 1) (table 1 funcref) (func (table.set 0 (i32.const 0) (ref.null func))))`,
			reason: "table.set in function 0",
		},
		{
			name:   "table.grow",
			wat:    `(module (memory 1) (table 1 funcref) (func (drop (table.grow 0 (ref.null func) (i32.const 1)))))`,
			reason: "table.grow",
		},
		{
			name:   "table.fill",
			wat:    `(module (memory 1) (table 1 funcref) (func (table.fill 0 (i32.const 0) (ref.null func) (i32.const 1))))`,
			reason: "table.fill",
		},
		{
			name:   "table.copy",
			wat:    `(module (memory 1) (table 2 funcref) (func (table.copy (i32.const 0) (i32.const 1) (i32.const 1))))`,
			reason: "table.copy",
		},
		{
			name:   "table.init",
			wat:    `(module (memory 1) (table 1 funcref) (elem $e func $f) (func $f (table.init $e (i32.const 0) (i32.const 0) (i32.const 1))))`,
			reason: "table.init",
		},
		{
			name:   "elem.drop",
			wat:    `(module (memory 1) (table 1 funcref) (elem $e func $f) (func $f (elem.drop $e)))`,
			reason: "elem.drop",
		},
		{
			name:   "table.set in a later function, after every kind of immediate",
			wat:    strings.Replace(everyInstruction, ";;more", "(func (table.set 0 (i32.const 0) (ref.null func)))", 1),
			flags:  []string{"--enable-threads", "--enable-tail-call"},
			reason: "table.set in function 2",
		},
		{
			name:   "try/catch",
			wat:    `(module (memory 1) (tag $t) (func (try (do (throw $t)) (catch $t))))`,
			flags:  []string{"--enable-exceptions"},
			reason: "tag section",
		},
		{
			name:   "throw without a tag section",
			wat:    `(module (import "env" "t" (tag $t)) (memory 1) (func (throw $t)))`,
			flags:  []string{"--enable-exceptions"},
			reason: "imported tag",
		},
		{
			name:   "v128 global",
			wat:    `(module (memory 1) (global (mut v128) (v128.const i32x4 1 2 3 4)))`,
			reason: "v128 global 0",
		},
		{
			name:   "funcref global",
			wat:    `(module (memory 1) (global (mut funcref) (ref.null func)))`,
			reason: "reference-typed global 0",
		},
		{
			name:   "imported memory",
			wat:    `(module (import "env" "memory" (memory 1)))`,
			reason: "imported memory env.memory",
		},
		{
			name:   "no memory",
			wat:    `(module (func))`,
			reason: "no defined memory",
		},
		{
			name:   "two memories",
			wat:    `(module (memory 1) (memory 1))`,
			flags:  []string{"--enable-multi-memory"},
			reason: "2 memories",
		},
		{
			name:   "shared memory",
			wat:    `(module (memory 1 1 shared))`,
			flags:  []string{"--enable-threads"},
			reason: "shared memory",
		},
		{
			name:   "64-bit memory",
			wat:    `(module (memory i64 1))`,
			flags:  []string{"--enable-memory64"},
			reason: "64-bit memory",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasmbin.Inspect(wat(t, tc.wat, tc.flags...))
			if !errors.Is(err, wasmbin.ErrNotSnapshottable) {
				t.Fatalf("Inspect: got %v, want ErrNotSnapshottable", err)
			}
			if errors.Is(err, wasmbin.ErrMalformed) {
				t.Errorf("Inspect: got %v, want not ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Inspect: got %q, want it to contain %q", err, tc.reason)
			}
			var e *wasmbin.Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Errorf("Inspect: got %#v, want an *Error with a reason", err)
			}
		})
	}
}

// everyInstruction is a module that uses an instruction of every immediate
// kind the decoder knows (MVP, sign extension, saturating conversions, bulk
// memory, reference types, tail calls, SIMD, atomics on an unshared
// memory), and no table mutation. Its first function is index 0.
const everyInstruction = `(module
  (type $v (func))
  (type $ii (func (param i32) (result i32)))
  (memory 1 2)
  (table $tab 2 funcref)
  (global $g (mut i32) (i32.const 0))
  (global $h i64 (i64.const -9223372036854775808))
  (data $d "abc")
  (elem $e func $f)
  (func $f (type $v)
    (local i32 i64 f32 f64 v128 funcref externref)
    (block $b (block $c (br_table $b $c $b (i32.const 1))))
    (loop $l (result i32)
      (if (result i32) (i32.const 1)
        (then (i32.const -1))
        (else (i32.const 2147483647)))
      (br_if $l (i32.const 0)))
    (drop)
    i32.const 1 (block (param i32) (result i32) (i32.const 3) (i32.add)) (drop)
    (local.set 0 (i32.load offset=65535 align=1 (i32.const 0)))
    (i64.store8 offset=4 (i32.const 0) (i64.const 0x7fffffffffffffff))
    (local.set 2 (f32.const -nan:0x200000))
    (local.set 3 (f64.const 0x1.fffffffffffffp+1023))
    (local.set 0 (i32.extend8_s (local.get 0)))
    (local.set 0 (i32.trunc_sat_f64_u (local.get 3)))
    (local.set 1 (i64.trunc_sat_f32_s (local.get 2)))
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 3))
    (data.drop $d)
    (memory.copy (i32.const 0) (i32.const 8) (i32.const 4))
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 4))
    (drop (memory.grow (i32.const 0)))
    (drop (memory.size))
    (drop (table.size $tab))
    (drop (table.get $tab (i32.const 0)))
    (drop (ref.is_null (ref.func $f)))
    (drop (select (result funcref) (ref.null func) (ref.null func) (i32.const 1)))
    (drop (select (i32.const 1) (i32.const 2) (i32.const 0)))
    (local.set 6 (ref.null extern))
    (call_indirect $tab (type $v) (i32.const 0))
    (local.set 4 (v128.const i64x2 -1 1))
    (local.set 4 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get 4) (local.get 4)))
    (local.set 4 (v128.load8_lane offset=3 15 (i32.const 0) (local.get 4)))
    (v128.store64_lane 1 (i32.const 0) (local.get 4))
    (local.set 4 (i32x4.replace_lane 3 (local.get 4) (i32x4.extract_lane 2 (local.get 4))))
    (local.set 4 (i32x4.add (local.get 4) (local.get 4)))
    (local.set 4 (f64x2.promote_low_f32x4 (local.get 4)))
    (local.set 4 (v128.load32_zero (i32.const 0)))
    (v128.store (i32.const 16) (local.get 4))
    (local.set 0 (i32.atomic.rmw.cmpxchg (i32.const 0) (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
    (atomic.fence)
    (global.set $g (i32.wrap_i64 (global.get $h)))
    (return_call $f))
  (func (type $ii) (return_call_indirect $tab (type $ii) (local.get 0) (i32.const 0)))
  ;;more
)`

func TestInspectAccepts(t *testing.T) {
	flags := []string{"--enable-threads", "--enable-tail-call"}
	src := strings.Replace(everyInstruction, "(global $h i64", "(global $x (mut f64) (f64.const 1.5))\n  (global $h i64", 1)
	info, err := wasmbin.Inspect(wat(t, src, flags...))
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	want := []wasmbin.Global{{Type: wasmbin.TypeI32, Mutable: true}, {Type: wasmbin.TypeF64, Mutable: true}, {Type: wasmbin.TypeI64}}
	if len(info.Globals) != len(want) {
		t.Fatalf("Globals: got %+v, want %+v", info.Globals, want)
	}
	for i := range want {
		if info.Globals[i] != want[i] {
			t.Errorf("Globals[%d]: got %+v, want %+v", i, info.Globals[i], want[i])
		}
	}
	if info.MemoryMin != 1 || info.MemoryMax != 2 || !info.HasMax || info.HasStart {
		t.Errorf("Info: got %+v, want memory 1..2 and no start", info)
	}
	if info.DataSegments != 1 || info.ActiveDataSegments != 0 {
		t.Errorf("Info: got %+v, want 1 passive data segment", info)
	}
}

func TestInspectImportedGlobals(t *testing.T) {
	info, err := wasmbin.Inspect(wat(t, `(module
		(import "env" "a" (global i32)) (import "env" "f" (func)) (import "env" "b" (global (mut i64)))
		(memory 3) (start 0)
		(global f32 (f32.const 1)) (global (mut i32) (i32.add (global.get 0) (i32.const 1))))`, "--enable-extended-const"))
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if info.ImportedGlobals != 2 || len(info.Globals) != 2 || !info.HasStart || info.MemoryMin != 3 || info.HasMax {
		t.Errorf("Inspect: got %+v", info)
	}
}

// TestInspectMultiMemoryMemarg checks a memarg whose alignment has bit 6 set
// and names memory 0 explicitly; wat2wasm does not emit that form for a
// module with one memory, so the module is written in binary.
func TestInspectMultiMemoryMemarg(t *testing.T) {
	code := []byte{
		0x00,       // no locals
		0x41, 0x00, // i32.const 0
		0x28, 0x42, 0x00, 0x04, // i32.load align=2|0x40 memory 0 offset 4
		0x1A, 0x0B, // drop end
	}
	mod := binaryModule(code)
	if _, err := wasmbin.Inspect(mod); err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	code[5] = 1 // memory 1 does not exist
	if _, err := wasmbin.Inspect(binaryModule(code)); !errors.Is(err, wasmbin.ErrMalformed) {
		t.Fatalf("Inspect with memory index 1: got %v, want ErrMalformed", err)
	}
}

// binaryModule returns a module with one memory and one function of type
// [] -> [] whose body is code.
func binaryModule(code []byte) []byte {
	m := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00,
		0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: func [] -> []
		0x03, 0x02, 0x01, 0x00, // function section: type 0
		0x05, 0x03, 0x01, 0x00, 0x01, // memory section: min 1
	}
	body := append([]byte{byte(len(code))}, code...)
	m = append(m, 0x0A, byte(len(body)+1), 0x01)
	return append(m, body...)
}

func TestInspectUnknownInstructions(t *testing.T) {
	tests := []struct {
		name string
		code []byte
	}{
		{"call_ref", []byte{0x00, 0x14, 0x00, 0x0B}},
		{"GC prefix", []byte{0x00, 0xFB, 0x00, 0x00, 0x0B}},
		{"unassigned SIMD opcode", []byte{0x00, 0xFD, 0x9A, 0x01, 0x0B}},
		{"relaxed SIMD", []byte{0x00, 0xFD, 0x80, 0x02, 0x0B}},
		{"0xFC 18", []byte{0x00, 0xFC, 0x12, 0x0B}},
		{"0xFE 4", []byte{0x00, 0xFE, 0x04, 0x0B}},
		{"reserved opcode 0x27", []byte{0x00, 0x27, 0x0B}},
		{"typed block", []byte{0x00, 0x02, 0x63, 0x6F, 0x0B, 0x0B}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasmbin.Inspect(binaryModule(tc.code))
			if !errors.Is(err, wasmbin.ErrNotSnapshottable) || errors.Is(err, wasmbin.ErrMalformed) {
				t.Fatalf("Inspect: got %v, want ErrNotSnapshottable only", err)
			}
		})
	}
}

func TestInspectMalformed(t *testing.T) {
	valid := wat(t, `(module (memory 1) (func (export "f") (result i32) (i32.const 7))
		(data (i32.const 0) "0123456789012345678901234567890123456789"))`)
	tests := []struct {
		name string
		wasm []byte
	}{
		{"empty", nil},
		{"header only magic", valid[:4]},
		{"text", []byte("(module (memory 1))")},
		{"version 2", append([]byte{0, 'a', 's', 'm', 2, 0, 0, 0}, valid[8:]...)},
		{"component", append([]byte{0, 'a', 's', 'm', 0x0d, 0, 1, 0}, valid[8:]...)},
		{"unknown section", append(append([]byte{}, valid...), 14, 0)},
		{"section past the end", append(append([]byte{}, valid...), 0, 5, 1, 'x')},
		{"repeated section", append(append([]byte{}, valid...), 11, 1, 0)},
		{"LEB too long", append(append([]byte{}, valid[:8]...), 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00)},
		{"function body without end", binaryModule([]byte{0x00, 0x01})},
		{"bytes after the function's end", binaryModule([]byte{0x00, 0x0B, 0x01})},
		{"truncated i64.const", binaryModule([]byte{0x00, 0x42, 0x80})},
	}
	// Every cut inside the last (data) section.
	for n := len(valid) - 1; n > len(valid)-40; n-- {
		tests = append(tests, struct {
			name string
			wasm []byte
		}{"truncated", valid[:n]})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasmbin.Inspect(tc.wasm)
			if !errors.Is(err, wasmbin.ErrMalformed) || !errors.Is(err, wasmbin.ErrNotSnapshottable) {
				t.Fatalf("Inspect: got %v, want ErrMalformed and ErrNotSnapshottable", err)
			}
			if _, err := wasmbin.ExportGlobals(tc.wasm); !errors.Is(err, wasmbin.ErrMalformed) {
				t.Errorf("ExportGlobals: got %v, want ErrMalformed", err)
			}
			if _, err := wasmbin.Restore(tc.wasm, nil, 1); !errors.Is(err, wasmbin.ErrMalformed) {
				t.Errorf("Restore: got %v, want ErrMalformed", err)
			}
		})
	}
}
