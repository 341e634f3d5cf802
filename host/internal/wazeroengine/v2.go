package wazeroengine

import (
	"context"
	"fmt"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// ABI version 2 on wazero (abi/SPEC-v2.md). A version 2 guest imports
// module wfn_v2 (fluid.Table) and sees WASI through a module of its own,
// wasiV2Name, which is wazero's WASI with the functions that touch the
// event source (descriptor abi.EventFD) answered by package fluid: an
// import resolver gives it to the guest under the name
// wasi_snapshot_preview1, which names version 1's WASI in this runtime.

const wasiV2Name = "wfn:wasi_v2"

var (
	_ fluid.Compiler = (*Engine)(nil)
	_ fluid.Caller   = (*instanceV2)(nil)
)

// v2Modules instantiates the host modules of version 2 once per engine.
func (e *Engine) v2Modules(ctx context.Context) (api.Module, error) {
	e.v2Once.Do(func() {
		e.v2WASI, e.v2Err = instantiateWASIV2(ctx, e.rt)
		if e.v2Err == nil {
			_, e.v2Err = instantiateHostModuleV2(ctx, e.rt)
		}
	})
	return e.v2WASI, e.v2Err
}

// instantiateHostModuleV2 registers fluid.Table under module wfn_v2, each
// with the signature abi.FuncsV2 declares.
func instantiateHostModuleV2(ctx context.Context, rt wazero.Runtime) (api.Module, error) {
	b := rt.NewHostModuleBuilder(abi.ModuleV2)
	for _, imp := range fluid.Table {
		call, name, i64 := imp.Call, imp.Name, imp.Result.Type == abi.I64
		fn := api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			r := fluid.Dispatch(fluid.LoopFrom(ctx), call, hostcall.Call{Mem: m.Memory(), Import: name, Args: s})
			if i64 {
				s[0] = api.EncodeI64(r)
			} else {
				s[0] = api.EncodeI32(int32(r))
			}
		})
		b.NewFunctionBuilder().
			WithGoModuleFunction(fn, valueTypes(imp.ParamTypes()), valueTypes([]abi.Type{imp.Result.Type})).
			WithParameterNames(imp.ParamNames()...).
			Export(imp.Name)
	}
	return b.Instantiate(ctx)
}

// instantiateWASIV2 builds wazero's WASI under wasiV2Name with fd_read,
// fd_fdstat_get, fd_fdstat_set_flags and poll_oneoff answered for the
// event source, and wazero's own answering every other descriptor.
func instantiateWASIV2(ctx context.Context, rt wazero.Runtime) (api.Module, error) {
	orig := rt.Module(wasi_snapshot_preview1.ModuleName)
	if orig == nil {
		return nil, fmt.Errorf("wfn: WASI is not instantiated")
	}
	defs := orig.ExportedFunctionDefinitions()
	original := func(name string) (api.GoModuleFunction, error) {
		def, ok := defs[name]
		if !ok {
			return nil, fmt.Errorf("wfn: WASI has no %s", name)
		}
		f, ok := def.GoFunction().(api.GoModuleFunction)
		if !ok {
			return nil, fmt.Errorf("wfn: WASI's %s is not a Go module function", name)
		}
		return f, nil
	}
	b := rt.NewHostModuleBuilder(wasiV2Name)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	i32 := api.ValueTypeI32
	override := func(name string, n int, f func(ctx context.Context, m api.Module, s []uint64) (handled bool, errno uint32)) error {
		o, err := original(name)
		if err != nil {
			return err
		}
		params := make([]api.ValueType, n)
		for i := range params {
			params[i] = i32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			if ok, errno := f(ctx, m, s); ok {
				s[0] = uint64(errno)
				return
			}
			o.Call(ctx, m, s)
		}), params, []api.ValueType{i32}).Export(name)
		return nil
	}
	isEvents := func(s []uint64) bool { return uint32(s[0]) == abi.EventFD }
	for _, o := range []struct {
		name string
		n    int
		f    func(ctx context.Context, m api.Module, s []uint64) (bool, uint32)
	}{
		{"fd_read", 4, func(ctx context.Context, m api.Module, s []uint64) (bool, uint32) {
			if !isEvents(s) {
				return false, 0
			}
			return true, fluid.ReadEvents(fluid.LoopFrom(ctx), m.Memory(), uint32(s[1]), uint32(s[2]), uint32(s[3]))
		}},
		{"fd_fdstat_get", 2, func(ctx context.Context, m api.Module, s []uint64) (bool, uint32) {
			if !isEvents(s) {
				return false, 0
			}
			buf, ok := m.Memory().Read(uint32(s[1]), 24)
			if !ok {
				return true, 21 // EFAULT
			}
			fluid.Fdstat(buf)
			return true, 0
		}},
		{"fd_fdstat_set_flags", 2, func(ctx context.Context, m api.Module, s []uint64) (bool, uint32) {
			// The event source is non-blocking, whatever is asked.
			return isEvents(s), 0
		}},
		{"fd_close", 1, func(ctx context.Context, m api.Module, s []uint64) (bool, uint32) {
			if !isEvents(s) {
				return false, 0
			}
			return true, 58 // ENOTSUP: the event source stays open
		}},
		{"poll_oneoff", 4, func(ctx context.Context, m api.Module, s []uint64) (bool, uint32) {
			return true, fluid.PollOneoff(ctx, fluid.LoopFrom(ctx), m.Memory(), uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3]))
		}},
	} {
		if err := override(o.name, o.n, o.f); err != nil {
			return nil, err
		}
	}
	// Compiled and instantiated rather than b.Instantiate, whose result
	// an import resolver cannot return (wazero wraps it).
	cm, err := b.Compile(ctx)
	if err != nil {
		return nil, err
	}
	return rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(wasiV2Name))
}

// CompileV2 validates and compiles a version 2 guest: instrumented as
// version 1 guests are (stack bound, interrupt checks), with the load-time
// rules of SPEC-v2.md section 2. Version 2 guests are not snapshotted yet.
func (e *Engine) CompileV2(ctx context.Context, name string, wasm []byte) (fluid.Module, error) {
	wasi, err := e.v2Modules(ctx)
	if err != nil {
		return nil, err
	}
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, &engine.LoadError{Name: name, Reason: "not a WebAssembly module (no \\0asm header)"}
	}
	checks := wasmbin.Checks{Stack: !e.noStackLimit, StackBudget: engine.MaxStack, Interrupt: e.interrupt}
	if checks.Stack || checks.Interrupt {
		if wasm, err = wasmbin.Instrument(wasm, checks); err != nil {
			return nil, &engine.LoadError{Name: name, Reason: "cannot instrument it to bound its stack and stop it at its deadline", Err: err}
		}
	}
	cm, err := e.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, &engine.LoadError{Name: name, Reason: "invalid WebAssembly", Err: err}
	}
	var g engine.Guest
	for _, imp := range cm.ImportedFunctions() {
		mod, fn, _ := imp.Import()
		if mod == wasmbin.PollModule && e.interrupt {
			continue
		}
		g.Imports = append(g.Imports, engine.Import{Module: mod, Name: fn, Func: true, Sig: sigOf(imp)})
	}
	for _, imp := range cm.ImportedMemories() {
		mod, n, _ := imp.Import()
		g.Imports = append(g.Imports, engine.Import{Module: mod, Name: n})
	}
	_, g.Memory = cm.ExportedMemories()[abi.ExportMemory]
	for n, def := range cm.ExportedFunctions() {
		g.Funcs = append(g.Funcs, engine.Export{Name: n, Sig: sigOf(def)})
	}
	v2 := e.rt.Module(abi.ModuleV2)
	if err := fluid.Check(name, g, func(mod, fn string) (engine.Sig, bool) {
		var m api.Module
		switch mod {
		case wasi_snapshot_preview1.ModuleName:
			m = wasi
		case abi.ModuleV2:
			m = v2
		default:
			return engine.Sig{}, false
		}
		def, ok := m.ExportedFunctionDefinitions()[fn]
		if !ok {
			return engine.Sig{}, false
		}
		return sigOf(def), true
	}); err != nil {
		_ = cm.Close(ctx)
		return nil, err
	}
	m := &module{name: name, rt: e.rt, e: e, cm: cm, whyNot: fmt.Errorf("ABI v2 guests are not snapshotted")}
	return &moduleV2{m: m, wasi: wasi}, nil
}

type moduleV2 struct {
	m    *module
	wasi api.Module
}

func (m *moduleV2) Instantiate(ctx context.Context, cfg engine.InstanceConfig) (fluid.Instance, error) {
	ctx = experimental.WithImportResolver(ctx, func(name string) api.Module {
		if name == wasi_snapshot_preview1.ModuleName {
			return m.wasi
		}
		return nil
	})
	inst, err := m.m.instantiate(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	serve := inst.mod.ExportedFunction(abi.ExportServe)
	if serve == nil {
		_ = inst.Close(ctx)
		return nil, fmt.Errorf("wfn: %s: no export %s", m.m.name, abi.ExportServe)
	}
	return &instanceV2{inst: inst, serve: serve}, nil
}

func (m *moduleV2) Close(ctx context.Context) error { return m.m.Close(ctx) }

type instanceV2 struct {
	inst  *instance
	serve api.Function
	mu    sync.Mutex // one serving call at a time
}

func (i *instanceV2) Serve(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	_, err := i.inst.call(ctx, i.serve, nil)
	return err
}

// Call makes a registration call of a handler export (fluid.Caller),
// before the serving call.
func (i *instanceV2) Call(ctx context.Context, export string) error {
	fn := i.inst.mod.ExportedFunction(export)
	if fn == nil {
		return fmt.Errorf("wfn: no export %s", export)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	_, err := i.inst.call(ctx, fn, nil)
	return err
}

func (i *instanceV2) Close(ctx context.Context) error { return i.inst.Close(ctx) }
