// Package wazeroengine runs guests on wazero, the default engine: pure Go,
// no cgo. It implements the interfaces of package engine.
package wazeroengine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
)

// Options configures the engine.
type Options struct {
	// CacheDir keeps compiled code on disk so that a restart does not
	// recompile. Empty: no disk cache.
	CacheDir string
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages.
	// Zero: wazero's default (4 GiB).
	MemoryLimitPages uint32
	// NoInterrupt compiles guests without the checks that let a deadline
	// stop a guest in a loop. Only for measuring what the checks cost: a
	// spinning guest can then never be stopped.
	NoInterrupt bool
}

// Engine is a wazero runtime with the wfn and WASI host modules.
type Engine struct {
	rt    wazero.Runtime
	cache wazero.CompilationCache
	// provided maps "module\x00name" to the signature of every function
	// the host provides, to check a guest's imports at load time.
	provided map[string]api.FunctionDefinition
}

var _ engine.Engine = (*Engine)(nil)

// New creates an engine.
func New(ctx context.Context, opts Options) (*Engine, error) {
	cfg := wazero.NewRuntimeConfig().
		// A guest in a tight loop must still stop at its deadline.
		WithCloseOnContextDone(!opts.NoInterrupt)
	if opts.MemoryLimitPages > 0 {
		cfg = cfg.WithMemoryLimitPages(opts.MemoryLimitPages)
	}
	e := &Engine{provided: map[string]api.FunctionDefinition{}}
	if opts.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wfn: cannot open compilation cache: %w", err)
		}
		e.cache = cache
		cfg = cfg.WithCompilationCache(cache)
	}
	e.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, e.rt); err != nil {
		_ = e.Close(ctx)
		return nil, fmt.Errorf("wfn: cannot instantiate WASI: %w", err)
	}
	wfn, err := instantiateHostModule(ctx, e.rt)
	if err != nil {
		_ = e.Close(ctx)
		return nil, fmt.Errorf("wfn: cannot instantiate host module: %w", err)
	}
	for _, m := range []api.Module{e.rt.Module(wasi_snapshot_preview1.ModuleName), wfn} {
		for name, def := range m.ExportedFunctionDefinitions() {
			e.provided[m.Name()+"\x00"+name] = def
		}
	}
	return e, nil
}

// Close releases the runtime and the compilation cache.
func (e *Engine) Close(ctx context.Context) error {
	err := e.rt.Close(ctx)
	if e.cache != nil {
		err = errors.Join(err, e.cache.Close(ctx))
	}
	return err
}

// Compile validates and compiles a guest.
func (e *Engine) Compile(ctx context.Context, name string, wasm []byte) (engine.Module, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, &engine.LoadError{Name: name, Reason: "not a WebAssembly module (no \\0asm header)"}
	}
	cm, err := e.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, &engine.LoadError{Name: name, Reason: "invalid WebAssembly", Err: err}
	}
	m := &module{name: name, rt: e.rt, cm: cm}
	if err := e.check(m); err != nil {
		_ = cm.Close(ctx)
		return nil, err
	}
	return m, nil
}

// check applies the ABI's load-time rules (engine.Check) to a compiled
// guest.
func (e *Engine) check(m *module) error {
	var g engine.Guest
	for _, imp := range m.cm.ImportedFunctions() {
		mod, fn, _ := imp.Import()
		g.Imports = append(g.Imports, engine.Import{Module: mod, Name: fn, Func: true, Sig: sigOf(imp)})
	}
	for _, imp := range m.cm.ImportedMemories() {
		mod, n, _ := imp.Import()
		g.Imports = append(g.Imports, engine.Import{Module: mod, Name: n})
	}
	_, g.Memory = m.cm.ExportedMemories()[abi.ExportMemory]
	for name, def := range m.cm.ExportedFunctions() {
		g.Funcs = append(g.Funcs, engine.Export{Name: name, Sig: sigOf(def)})
	}
	exports, err := engine.Check(m.name, g, func(mod, name string) (engine.Sig, bool) {
		def, ok := e.provided[mod+"\x00"+name]
		if !ok {
			return engine.Sig{}, false
		}
		return sigOf(def), true
	})
	m.exports = exports
	return err
}

func sigOf(def api.FunctionDefinition) engine.Sig {
	names := func(ts []api.ValueType) []string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return s
	}
	return engine.Sig{Params: names(def.ParamTypes()), Results: names(def.ResultTypes())}
}

type module struct {
	name    string
	rt      wazero.Runtime
	cm      wazero.CompiledModule
	exports engine.Exports
}

func (m *module) Exports() engine.Exports { return m.exports }

func (m *module) Close(ctx context.Context) error { return m.cm.Close(ctx) }

func (m *module) Instantiate(ctx context.Context, cfg engine.InstanceConfig) (engine.Instance, error) {
	mc := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module
		WithStartFunctions().
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(sleeper(cfg.Wake, cfg.Done)).
		WithRandSource(rand.Reader)
	if cfg.Stdout != nil {
		mc = mc.WithStdout(cfg.Stdout)
	}
	if cfg.Stderr != nil {
		mc = mc.WithStderr(cfg.Stderr)
	}
	for _, kv := range cfg.Env {
		mc = mc.WithEnv(kv[0], kv[1])
	}
	if cfg.MemoryLimit > 0 {
		ctx = experimental.WithMemoryAllocator(ctx, limitedAllocator(cfg.MemoryLimit))
	}
	mod, err := m.rt.InstantiateModule(ctx, m.cm, mc)
	if err != nil {
		return nil, fmt.Errorf("wfn: cannot instantiate %s: %w", m.name, err)
	}
	inst := &instance{mod: mod, fns: map[string]api.Function{}, task: mod.ExportedFunction(abi.ExportRunTask), sigterm: mod.ExportedFunction(abi.ExportOnSigterm)}
	for _, name := range []string{abi.ExportInitialize, abi.ExportInit} {
		if fn := mod.ExportedFunction(name); fn != nil {
			if _, err := fn.Call(ctx); err != nil {
				_ = mod.Close(ctx)
				return nil, fmt.Errorf("wfn: %s: %s failed: %w", m.name, name, err)
			}
		}
	}
	for _, name := range append([]string{abi.ExportHandle}, m.exports.Methods...) {
		if fn := mod.ExportedFunction(name); fn != nil {
			inst.fns[name] = fn
		}
	}
	return inst, nil
}

type instance struct {
	mod     api.Module
	fns     map[string]api.Function
	task    api.Function // wfn_run_task, or nil
	sigterm api.Function // wfn_on_sigterm, or nil
	stack   [1]uint64
}

type invocationKey struct{}

func (i *instance) Call(ctx context.Context, export string, inv *engine.Invocation) error {
	fn := i.fns[export]
	if fn == nil {
		return fmt.Errorf("wfn: no export %s", export)
	}
	return fn.CallWithStack(context.WithValue(ctx, invocationKey{}, inv), nil)
}

func (i *instance) RunTask(ctx context.Context, task int32, inv *engine.Invocation) error {
	if i.task == nil {
		return fmt.Errorf("wfn: no export %s", abi.ExportRunTask)
	}
	i.stack[0] = api.EncodeI32(task)
	return i.task.CallWithStack(context.WithValue(ctx, invocationKey{}, inv), i.stack[:])
}

func (i *instance) OnSigterm(ctx context.Context) error {
	if i.sigterm == nil {
		return nil
	}
	return i.sigterm.CallWithStack(ctx, nil)
}

func (i *instance) Close(ctx context.Context) error { return i.mod.Close(ctx) }

// sleeper is WASI's sleep (poll_oneoff on a clock): the system's, cut
// short when wake receives or the call's done channel closes. A guest
// sleeps inside a host function, where the engine cannot stop it.
func sleeper(wake <-chan struct{}, done func() <-chan struct{}) sys.Nanosleep {
	return func(ns int64) {
		if ns <= 0 {
			return
		}
		var stop <-chan struct{}
		if done != nil {
			stop = done()
		}
		t := time.NewTimer(time.Duration(ns))
		defer t.Stop()
		select {
		case <-t.C:
		case <-wake:
		case <-stop:
		}
	}
}
