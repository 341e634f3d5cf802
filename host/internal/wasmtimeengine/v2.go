//go:build wasmtime

package wasmtimeengine

import (
	"context"
	"fmt"
	"sync"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
)

// ABI version 2 on Wasmtime (abi/SPEC-v2.md), as on wazero: what the
// imports mean, the event source, the pool, the watchdog are package
// fluid's; this file only registers them. A version 2 guest is linked
// with a linker of its own: module wfn_v2 (fluid.Table), the poll of the
// interrupt checks, and WASI with the functions that touch the event
// source (descriptor abi.EventFD) answered by package fluid. For every
// other descriptor those go to Wasmtime's WASI through wasiV2WAT, as
// Wasmtime's WASI functions read their caller's memory.

var _ fluid.Compiler = (*Engine)(nil)

// v2Linker is the linker of version 2 guests and the signatures it
// provides, for the load check.
type v2Linker struct {
	linker   *wasmtime.Linker
	wasiW    *wasmtime.Module // wasiV2WAT
	provided map[string]engine.Sig
	err      error
}

// wasiFuncs are WASI's own functions over a version 2 guest's memory
// (wasiV2WAT), for the descriptors that are not its event source.
type wasiFuncs struct {
	read, fdstat, setFlags, close *wasmtime.Func
}

// wasiV2WAT calls WASI's functions that a version 2 guest's are answered
// by for a descriptor other than the event source, with the guest's
// memory as its own (see fileWriteWAT).
const wasiV2WAT = `(module
  (import "guest" "memory" (memory 0))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $s (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $f (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $c (param i32) (result i32)))
  (export "memory" (memory 0))
  (func (export "fd_write") (param i32 i32 i32 i32) (result i32)
    (call $w (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "fd_read") (param i32 i32 i32 i32) (result i32)
    (call $r (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "fd_fdstat_get") (param i32 i32) (result i32)
    (call $s (local.get 0) (local.get 1)))
  (func (export "fd_fdstat_set_flags") (param i32 i32) (result i32)
    (call $f (local.get 0) (local.get 1)))
  (func (export "fd_close") (param i32) (result i32)
    (call $c (local.get 0))))`

// wasiV2Imports are wasiV2WAT's imported functions, in order.
var wasiV2Imports = []string{"fd_write", "fd_read", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_close"}

// linkWASIV2 instantiates wasiV2WAT over the guest's memory.
func (i *instance) linkWASIV2() error {
	mem := i.inst.GetExport(i.store, abi.ExportMemory)
	if mem == nil || mem.Memory() == nil {
		return fmt.Errorf("no export %s", abi.ExportMemory) // refused by fluid.Check
	}
	externs := []wasmtime.AsExtern{mem.Memory()}
	for _, name := range wasiV2Imports {
		f := i.m.e.wasi.Get(i.store, "wasi_snapshot_preview1", name)
		if f == nil || f.Func() == nil {
			return fmt.Errorf("WASI has no %s", name)
		}
		externs = append(externs, f.Func())
	}
	w, err := wasmtime.NewInstance(i.store, i.m.e.v2.wasiW, externs)
	if err != nil {
		return fmt.Errorf("cannot link WASI: %w", err)
	}
	i.data.fileWrite = w.GetFunc(i.store, "fd_write")
	i.data.wasi = wasiFuncs{
		read:     w.GetFunc(i.store, "fd_read"),
		fdstat:   w.GetFunc(i.store, "fd_fdstat_get"),
		setFlags: w.GetFunc(i.store, "fd_fdstat_set_flags"),
		close:    w.GetFunc(i.store, "fd_close"),
	}
	return nil
}

// v2Linker makes the linker of version 2 guests once.
func (e *Engine) v2Linker() (*v2Linker, error) {
	e.v2Once.Do(func() { e.v2.err = e.makeV2Linker() })
	return &e.v2, e.v2.err
}

func (e *Engine) makeV2Linker() error {
	wat, err := wasmtime.Wat2Wasm(wasiV2WAT)
	if err != nil {
		return fmt.Errorf("wfn: %w", err)
	}
	if e.v2.wasiW, err = wasmtime.NewModule(e.eng, wat); err != nil {
		return fmt.Errorf("wfn: %w", err)
	}
	l := wasmtime.NewLinker(e.eng)
	e.v2.linker = l
	if err := l.DefineWasi(); err != nil {
		return fmt.Errorf("wfn: cannot define WASI: %w", err)
	}
	l.AllowShadowing(true)
	if err := defineFdWrite(l); err != nil {
		return err
	}
	if err := e.definePoll(l); err != nil {
		return err
	}
	provided := map[string]engine.Sig{}
	for _, name := range wasiNames {
		if s, ok := e.provided["wasi_snapshot_preview1\x00"+name]; ok {
			provided["wasi_snapshot_preview1\x00"+name] = s
		}
	}
	for _, imp := range fluid.Table {
		params := make([]*wasmtime.ValType, len(imp.Params))
		sig := engine.Sig{Params: make([]string, len(imp.Params)), Results: []string{imp.Result.Type.String()}}
		for i, p := range imp.Params {
			params[i] = valType(p.Type)
			sig.Params[i] = p.Type.String()
		}
		provided[abi.ModuleV2+"\x00"+imp.Name] = sig
		fn, i64 := imp.Call, imp.Result.Type == abi.I64
		call := func(_ *hostcall.Invocation, c hostcall.Call) int64 {
			return fluid.Dispatch(fluid.LoopFrom(c.Ctx), fn, c)
		}
		name := imp.Name
		err := l.FuncNew(abi.ModuleV2, imp.Name, wasmtime.NewFuncType(params, []*wasmtime.ValType{valType(imp.Result.Type)}), func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			r, err := caller.Data().(*storeData).call(caller, call, name, args)
			if err != nil {
				return nil, wasmtime.NewTrap(err.Error())
			}
			if i64 {
				return []wasmtime.Val{wasmtime.ValI64(r)}, nil
			}
			return []wasmtime.Val{wasmtime.ValI32(int32(r))}, nil
		})
		if err != nil {
			return fmt.Errorf("wfn: cannot define %s.%s: %w", abi.ModuleV2, imp.Name, err)
		}
	}
	if err := defineEventSource(l); err != nil {
		return fmt.Errorf("wfn: cannot define WASI for ABI v2: %w", err)
	}
	e.v2.provided = provided
	return nil
}

// defineEventSource replaces l's WASI fd_read, fd_fdstat_get,
// fd_fdstat_set_flags, fd_close and poll_oneoff with package fluid's
// answers for the event source, and WASI's own for every other
// descriptor (storeData.wasi), as the wazero engine does.
func defineEventSource(l *wasmtime.Linker) error {
	// withMem runs f with the caller's memory as a hostcall.Memory.
	withMem := func(caller *wasmtime.Caller, f func(d *storeData, mem hostcall.Memory) uint32) []wasmtime.Val {
		d := caller.Data().(*storeData)
		d.mem = guestMemory{caller: caller}
		defer func() { d.mem = guestMemory{} }()
		return ret(int32(f(d, &d.mem)))
	}
	// fallback calls WASI's own f with args.
	fallback := func(caller *wasmtime.Caller, f *wasmtime.Func, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
		if f == nil {
			return ret(wasiEBADF), nil
		}
		in := make([]interface{}, len(args))
		for i, a := range args {
			in[i] = a.I32()
		}
		res, err := f.Call(caller, in...)
		if err != nil {
			return nil, asTrap(err)
		}
		return ret(res.(int32)), nil
	}
	isEvents := func(args []wasmtime.Val) bool { return uint32(args[0].I32()) == abi.EventFD }
	u := func(v wasmtime.Val) uint32 { return uint32(v.I32()) }
	defs := []struct {
		name string
		n    int
		f    func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap)
	}{
		{"fd_read", 4, func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			if !isEvents(args) {
				return fallback(caller, caller.Data().(*storeData).wasi.read, args)
			}
			return withMem(caller, func(d *storeData, mem hostcall.Memory) uint32 {
				return fluid.ReadEvents(fluid.LoopFrom(d.ctx), mem, u(args[1]), u(args[2]), u(args[3]))
			}), nil
		}},
		{"fd_fdstat_get", 2, func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			if !isEvents(args) {
				return fallback(caller, caller.Data().(*storeData).wasi.fdstat, args)
			}
			return withMem(caller, func(d *storeData, mem hostcall.Memory) uint32 {
				buf, ok := mem.Read(u(args[1]), 24)
				if !ok {
					return wasiEFAULT
				}
				fluid.Fdstat(buf)
				return wasiESuccess
			}), nil
		}},
		{"fd_fdstat_set_flags", 2, func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			if !isEvents(args) {
				return fallback(caller, caller.Data().(*storeData).wasi.setFlags, args)
			}
			return ret(wasiESuccess), nil // the event source is non-blocking, whatever is asked
		}},
		{"fd_close", 1, func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			if !isEvents(args) {
				return fallback(caller, caller.Data().(*storeData).wasi.close, args)
			}
			return ret(wasiENOTSUP), nil // the event source stays open
		}},
		{"poll_oneoff", 4, func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			return withMem(caller, func(d *storeData, mem hostcall.Memory) uint32 {
				return fluid.PollOneoff(d.ctx, fluid.LoopFrom(d.ctx), mem, u(args[0]), u(args[1]), u(args[2]), u(args[3]))
			}), nil
		}},
	}
	for _, def := range defs {
		if err := l.FuncNew("wasi_snapshot_preview1", def.name, wasiType(def.n), def.f); err != nil {
			return err
		}
	}
	return nil
}

// CompileV2 validates and compiles a version 2 guest, through the disk
// cache: instrumented with the interrupt checks as version 1 guests are,
// with the load-time rules of SPEC-v2.md section 2. Version 2 guests are
// not snapshotted.
func (e *Engine) CompileV2(ctx context.Context, name string, wasm []byte) (fluid.Module, error) {
	v2, err := e.v2Linker()
	if err != nil {
		return nil, err
	}
	mod, path, err := e.instrumentAndCompile(name, wasm)
	if err != nil {
		return nil, err
	}
	g := guestOf(mod)
	if err := fluid.Check(name, g, func(module, n string) (engine.Sig, bool) {
		s, ok := v2.provided[module+"\x00"+n]
		return s, ok
	}); err != nil {
		mod.Close()
		return nil, err
	}
	return &moduleV2{m: &module{e: e, linker: v2.linker, v2: true, name: name, mod: mod, path: path}}, nil
}

type moduleV2 struct{ m *module }

func (m *moduleV2) Instantiate(ctx context.Context, cfg engine.InstanceConfig) (fluid.Instance, error) {
	inst, err := m.m.instantiate(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if inst.fns[abi.ExportServe] == nil {
		_ = inst.Close(ctx)
		return nil, fmt.Errorf("wfn: %s: no export %s", m.m.name, abi.ExportServe)
	}
	return &instanceV2{inst: inst}, nil
}

var _ fluid.Caller = (*instanceV2)(nil)

func (m *moduleV2) Close(ctx context.Context) error { return m.m.Close(ctx) }

type instanceV2 struct {
	inst *instance
	mu   sync.Mutex // one serving call at a time
}

// Serve calls wfn_serve under ctx, which carries the instance's loop
// (fluid.WithLoop): the imports find it there, and the interrupt checks
// stop the guest once ctx ends.
func (i *instanceV2) Serve(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.inst.call(ctx, abi.ExportServe, nil)
}

// Call makes a registration call of a handler export (fluid.Caller),
// before the serving call; ctx carries the instance's loop.
func (i *instanceV2) Call(ctx context.Context, export string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.inst.fns[export] == nil {
		fn := i.inst.inst.GetFunc(i.inst.store, export)
		if fn == nil {
			return fmt.Errorf("wfn: no export %s", export)
		}
		i.inst.fns[export] = fn
	}
	return i.inst.call(ctx, export, nil)
}

func (i *instanceV2) Close(ctx context.Context) error { return i.inst.Close(ctx) }
