package wasmbin_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wfn-dev/wfn/host/internal/cbuild"
	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// everyCheck is each combination of checks Instrument adds.
var everyCheck = []struct {
	name   string
	checks wasmbin.Checks
}{
	{"stack", wasmbin.Checks{Stack: true, StackBudget: 1 << 20}},
	{"interrupt", wasmbin.Checks{Interrupt: true}},
	{"both", wasmbin.Checks{Stack: true, StackBudget: 1 << 20, Interrupt: true}},
}

// shapes has a function of each control shape the checks go into, each
// exported with no parameters and an i64 result: nested loops with
// branches to the outer one, a br_table in a loop, loops and blocks with
// several parameters and results (multi-value), a loop in unreachable
// code, a loop in a function that returns early, recursion, and branches
// (br_if, br_table) to the function's own label from within loops, and
// calls through a table filled by element segments of both kinds.
const shapes = `(module
  (memory (export "memory") 1)
  (type $pair (func (param i32 i32) (result i32 i32)))
  (func (export "nested") (result i64)
    (local $i i32) (local $j i32) (local $sum i64)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (i32.mul (local.get $i) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $outer (i32.and (i32.eq (local.get $j) (i32.const 7)) (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 50))))
        (br_if $inner (i32.lt_u (local.get $j) (i32.const 7)))))
    (local.get $sum))
  (func (export "brtable") (result i64)
    (local $i i32) (local $acc i64)
    (loop $l
      (block $c (block $b (block $a
        (br_table $a $b $c (i32.rem_u (local.get $i) (i32.const 3))))
        (local.set $acc (i64.add (local.get $acc) (i64.const 1))) (br $c))
        (local.set $acc (i64.mul (local.get $acc) (i64.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 30))))
    (local.get $acc))
  (func $fibpair (type $pair)
    ;; (a, b) -> (b, a+b), n times through a loop that takes and gives
    ;; two values, within a block that does too.
    (local $n i32)
    (local.set $n (i32.const 20))
    (local.get 0) (local.get 1)
    (block (param i32 i32) (result i32 i32)
      (loop $l (param i32 i32) (result i32 i32)
        (local.set 1) (local.set 0)
        (local.get 1) (i32.add (local.get 0) (local.get 1))
        (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
        (br_if $l))))
  (func (export "multivalue") (result i64) (local $a i32) (local $b i32)
    (call $fibpair (i32.const 0) (i32.const 1))
    (local.set $b) (local.set $a)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $a)) (i64.const 32)) (i64.extend_i32_u (local.get $b))))
  (func (export "unreachable_loop") (result i64)
    (block $out (result i64)
      (br $out (i64.const 7))
      (loop $dead (br $dead))
      (i64.const 0)))
  (func (export "early") (result i64)
    (local $i i64)
    (loop $l
      (if (i64.eq (local.get $i) (i64.const 12)) (then (return (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l))
    (i64.const -1))
  (func $fact (param $n i64) (result i64)
    (if (result i64) (i64.le_u (local.get $n) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get $n) (call $fact (i64.sub (local.get $n) (i64.const 1)))))))
  (func (export "recursion") (result i64) (call $fact (i64.const 20)))
  (func (export "brfunc") (result i64)
    (local $i i64)
    (loop $l
      (local.set $i (i64.add (local.get $i) (i64.const 3)))
      (br_if 1 (local.get $i) (i64.gt_u (local.get $i) (i64.const 100)))
      (br $l))
    (i64.const -1))
  (func $bt
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (i32.store (i32.const 8) (local.get $i))
      (block $next
        ;; label 2, the function's: a return from within the loop
        (br_table $next 2 (i32.ge_u (local.get $i) (i32.const 17))))
      (br $l)))
  (func (export "brtablefunc") (result i64) (call $bt) (i64.load32_u (i32.const 8)))
  (type $i64i64 (func (param i64) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) func $fact)
  (elem (i32.const 1) funcref (ref.func $fact))
  (func (export "indirect") (result i64)
    (i64.add (call_indirect (type $i64i64) (i64.const 10) (i32.const 0))
             (call_indirect (type $i64i64) (i64.const 5) (i32.const 1)))))`

// TestInstrumentBehavesTheSame checks that every shape of control flow
// gives the same results with every combination of checks as without.
func TestInstrumentBehavesTheSame(t *testing.T) {
	ctx := t.Context()
	wasm := wat(t, shapes)
	want := map[string]uint64{}
	orig, err := newRuntime(t).Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	for name := range orig.ExportedFunctionDefinitions() {
		res, err := orig.ExportedFunction(name).Call(ctx)
		if err != nil {
			t.Fatalf("%s, not instrumented: %v", name, err)
		}
		want[name] = res[0]
	}
	if len(want) != 9 {
		t.Fatalf("%d exports, want 9", len(want))
	}
	for _, c := range everyCheck {
		t.Run(c.name, func(t *testing.T) {
			out, err := wasmbin.Instrument(wasm, c.checks)
			if err != nil {
				t.Fatalf("Instrument: %v", err)
			}
			rt := newRuntime(t)
			// A countdown of 3: the guest polls often, and runs on after
			// each poll.
			var polls atomic.Int64
			provide(t, rt, func() int32 { polls.Add(1); return 3 })
			mod, err := rt.Instantiate(ctx, out)
			if err != nil {
				t.Fatalf("wazero refuses the result: %v", err)
			}
			for name, w := range want {
				res, err := mod.ExportedFunction(name).Call(ctx)
				if err != nil || res[0] != w {
					t.Errorf("%s = %v, %v; want %d as without the checks", name, res, err, w)
				}
			}
			if got := polls.Load() > 0; got != c.checks.Interrupt {
				t.Errorf("polled %d times; want some: %t", polls.Load(), c.checks.Interrupt)
			}
		})
	}
	if out, err := wasmbin.Instrument(wasm, wasmbin.Checks{}); err != nil || &out[0] != &wasm[0] {
		t.Errorf("Instrument with no checks: %v; want the module itself", err)
	}
}

// spinners spin forever in each way only an interrupt can end: a tight
// loop, a loop that calls a function, and recursion without a loop (which
// only the checks at function entries reach), and a loop nested in blocks.
// None calls the host: the poll of the checks is the Go runtime's only
// safe point on the guest's goroutine, without which a collection would
// wait for the guest forever (no goroutine, the test's included, runs
// during its stop-the-world).
const spinners = `(module
  (memory (export "memory") 1)
  (func (export "tight") (loop $l (br $l)))
  (func $step (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "calls") (local $x i32) (loop $l (local.set $x (call $step (local.get $x))) (br $l)))
  (func $fib (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (local.get $n))
      (else (i64.add (call $fib (i64.sub (local.get $n) (i64.const 1)))
                     (call $fib (i64.sub (local.get $n) (i64.const 2)))))))
  (func (export "recursion") (drop (call $fib (i64.const 90))))
  (func (export "nested") (block (if (i32.const 1) (then (loop $l (br $l))))))
  (func (export "quick") (result i32) (call $step (i32.const 41))))`

// TestInterruptStopsASpinningGuest has the host's poll stop a guest
// spinning in each way, once it has polled many times (and this goroutine,
// which allocates, ran meanwhile: the polls are safe points), and checks
// that the guest traps, and runs again once poll lets it.
func TestInterruptStopsASpinningGuest(t *testing.T) {
	for _, c := range everyCheck[1:] {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			out, err := wasmbin.Instrument(wat(t, spinners), c.checks)
			if err != nil {
				t.Fatal(err)
			}
			rt := newRuntime(t)
			var polls atomic.Int64
			var stop atomic.Bool
			provide(t, rt, func() int32 {
				polls.Add(1)
				if stop.Load() {
					return -1
				}
				return 1000
			})
			mod, err := rt.Instantiate(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"tight", "calls", "recursion", "nested"} {
				polls.Store(0)
				stop.Store(false)
				done := make(chan error, 1)
				go func() {
					_, err := mod.ExportedFunction(name).Call(ctx)
					done <- err
				}()
				// Wait until it spins, past the check at its entry.
				for start := time.Now(); polls.Load() < 100; time.Sleep(time.Millisecond) {
					runtime.GC()
					if time.Since(start) > time.Minute {
						t.Fatalf("%s does not spin", name)
					}
				}
				stop.Store(true)
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), "unreachable") {
						t.Errorf("%s after poll said stop: %v, want an unreachable trap", name, err)
					}
				case <-time.After(time.Minute):
					t.Fatalf("%s still runs a minute after poll said stop", name)
				}
				stop.Store(false)
				if res, err := mod.ExportedFunction("quick").Call(ctx); err != nil || res[0] != 42 {
					t.Fatalf("quick after poll let it run again = %v, %v", res, err)
				}
			}
		})
	}
}

// provide instantiates the host module the interrupt checks import, with
// poll as its function.
func provide(t *testing.T, rt wazero.Runtime, poll func() int32) {
	t.Helper()
	if _, err := rt.NewHostModuleBuilder(wasmbin.PollModule).NewFunctionBuilder().WithFunc(poll).Export(wasmbin.PollName).Instantiate(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestInstrumentRealGuests instruments the Go guest, the C guest and the
// JS runtime with every check, and checks that wazero compiles each, that
// the result can still be prepared for snapshots, that it has the two
// globals of the checks and that it keeps every export.
func TestInstrumentRealGuests(t *testing.T) {
	guests := map[string]func(t *testing.T) []byte{
		"go":         func(t *testing.T) []byte { return goGuest(t) },
		"c":          cGuest,
		"js runtime": func(t *testing.T) []byte { return readFile(t, filepath.Join("..", "jsruntime", "wfnjs.wasm")) },
	}
	for name, build := range guests {
		t.Run(name, func(t *testing.T) {
			wasm := build(t)
			out, err := wasmbin.Instrument(wasm, everyCheck[2].checks)
			if err != nil {
				t.Fatalf("Instrument: %v", err)
			}
			prep, err := wasmbin.Prepare(out)
			if err != nil {
				t.Fatalf("Prepare after Instrument: %v", err)
			}
			// wazero's interpreter validates as its compiler does, faster.
			rt := wazero.NewRuntimeWithConfig(t.Context(), wazero.NewRuntimeConfigInterpreter())
			defer rt.Close(context.Background())
			cm, err := rt.CompileModule(t.Context(), prep.Wasm)
			if err != nil {
				t.Fatalf("wazero refuses the instrumented guest: %v", err)
			}
			// Two globals more: the budget and the countdown, mutable i32s.
			before, err := wasmbin.Inspect(wasm)
			if err != nil {
				t.Fatal(err)
			}
			after, err := wasmbin.Inspect(out)
			if err != nil {
				t.Fatal(err)
			}
			added := after.Globals[len(before.Globals):]
			if len(added) != 2 || !slices.Equal(added, []wasmbin.Global{{Type: wasmbin.TypeI32, Mutable: true}, {Type: wasmbin.TypeI32, Mutable: true}}) {
				t.Fatalf("globals added: %v, want two mutable i32s", added)
			}
			// The guest's own exports are all still there.
			orig, err := rt.CompileModule(t.Context(), wasm)
			if err != nil {
				t.Fatal(err)
			}
			for export := range orig.ExportedFunctions() {
				if _, ok := cm.ExportedFunctions()[export]; !ok {
					t.Errorf("export %s lost", export)
				}
			}
			// With the interrupt checks alone, an export is the guest's
			// own function, one index up, and keeps its name from the
			// "name" section.
			only, err := wasmbin.Instrument(wasm, wasmbin.Checks{Interrupt: true})
			if err != nil {
				t.Fatal(err)
			}
			ocm, err := rt.CompileModule(t.Context(), only)
			if err != nil {
				t.Fatalf("wazero refuses the guest with interrupt checks only: %v", err)
			}
			for export, def := range orig.ExportedFunctions() {
				if got := ocm.ExportedFunctions()[export]; got == nil || got.DebugName() != def.DebugName() {
					t.Errorf("export %s is %v, want %s", export, got, def.DebugName())
				}
			}
		})
	}
}

// cGuest builds the C guest guests/c/api/hello.
func cGuest(t *testing.T) []byte {
	b := &cbuild.Builder{CacheDir: t.TempDir()}
	if err := b.Check(t.Context()); errors.Is(err, cbuild.ErrNoClang) {
		t.Skipf("cannot build C guests: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	path, _, err := b.Build(t.Context(), "api/hello", filepath.Join("..", "..", "..", "guests", "c", "api", "hello"), nil)
	if err != nil {
		t.Fatalf("build the C guest: %v", err)
	}
	return readFile(t, path)
}

// TestInstrumentRefusesItsOwnNames checks that a module already exporting
// a name the rewrite adds, or importing from the host's own module, is
// refused.
func TestInstrumentRefusesItsOwnNames(t *testing.T) {
	wasm := wat(t, `(module (memory 1) (global (export "`+wasmbin.StackBudgetExport+`") i32 (i32.const 0)))`)
	if _, err := wasmbin.Instrument(wasm, wasmbin.Checks{Stack: true, StackBudget: 1 << 20}); err == nil || !strings.Contains(err.Error(), "already exports") {
		t.Fatalf("Instrument = %v, want an error saying the name is taken", err)
	}
	wasm = wat(t, `(module (import "`+wasmbin.PollModule+`" "other" (func)) (memory 1))`)
	if _, err := wasmbin.Instrument(wasm, wasmbin.Checks{Interrupt: true}); err == nil || !strings.Contains(err.Error(), "host's own") {
		t.Fatalf("Instrument = %v, want an error saying the module is the host's", err)
	}
}

// FuzzInstrument checks that no input makes Instrument panic, and that
// whatever wazero accepts it still accepts instrumented, with every
// combination of checks.
func FuzzInstrument(f *testing.F) {
	for _, wasm := range fixtures(f) {
		f.Add(wasm)
	}
	f.Add(wat(f, shapes))
	f.Add(wat(f, spinners))
	f.Add(wat(f, recursion))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		ctx := t.Context()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
		defer rt.Close(context.Background())
		_, verr := rt.CompileModule(ctx, wasm)
		for _, c := range everyCheck {
			out, err := wasmbin.Instrument(wasm, c.checks)
			if err != nil || verr != nil {
				continue // refused, or invalid to begin with
			}
			if _, err := rt.CompileModule(ctx, out); err != nil {
				t.Fatalf("%s: wazero accepts the module but not its instrumented copy: %v", c.name, err)
			}
		}
	})
}
