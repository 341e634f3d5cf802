// Package wazeroengine runs guests on wazero, the default engine: pure Go,
// no cgo. It implements the interfaces of package engine.
package wazeroengine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// Options configures the engine.
type Options struct {
	// CacheDir keeps compiled code on disk so that a restart does not
	// recompile. Empty: no disk cache.
	CacheDir string
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages.
	// Zero: wazero's default (4 GiB).
	MemoryLimitPages uint32
	// NoInterrupt runs guests without the checks that let a deadline stop
	// a guest in a loop. Only for measuring what the checks cost: a
	// spinning guest can then never be stopped, and holds up the garbage
	// collector, and so the whole host, while it spins.
	NoInterrupt bool
	// CloseOnContextDone stops guests the way wazero does by itself
	// (WithCloseOnContextDone: a call into Go at every loop header and
	// function entry) instead of by the checks of
	// wasmbin.Checks.Interrupt (a countdown in a register and a call to
	// the host's poll every engine.PollSteps steps). Only for measuring
	// the old way against the new: it costs 2.4x to 12.5x on compute and
	// does not stop recursion without a loop (RATIONALE.md, "Stopping a
	// guest").
	CloseOnContextDone bool
	// NoStackLimit runs guests as they are, without counting their stack
	// (wasmbin.LimitStack). Only for measuring what counting costs: a
	// guest can then hold about 84 MB of stack per call.
	NoStackLimit bool
	// Interpreter runs guests on wazero's interpreter instead of its
	// optimising compiler: a module is ready about ten times sooner (a
	// 5 MB Go guest in 0.3 s instead of 2 to 3 s) and runs many times
	// slower. Guests are stopped as on the compiler, by the rewrite's
	// poll. No compilation cache: there is nothing worth keeping.
	Interpreter bool
}

// Engine is a wazero runtime with the wfn and WASI host modules.
type Engine struct {
	rt    wazero.Runtime
	cache wazero.CompilationCache
	// provided maps "module\x00name" to the signature of every function
	// the host provides, to check a guest's imports at load time.
	provided     map[string]api.FunctionDefinition
	noStackLimit bool
	spareDir     string // where modules keep what Load compiles again, or ""
	interrupt    bool   // guests are rewritten with wasmbin.Checks.Interrupt
	// compiling holds a *sync.Mutex per module content (the SHA-256 of
	// its bytes): see compileModule.
	compiling sync.Map
	// closing stops every guest at its next poll: a closed runtime does
	// not stop a guest by itself.
	closing atomic.Bool

	// ABI version 2's host modules (v2.go), made on first use.
	v2Once sync.Once
	v2WASI api.Module
	v2Err  error
}

// compileModule is the runtime's CompileModule, one call at a time for
// the same bytes. wazero publishes a module read from its file cache in
// its in-memory table before the module is ready to instantiate (its
// entry preambles compiled), and a second CompileModule of the same bytes
// returns that module at once: instantiating it then panics in
// moduleEngine.NewFunction (wazero issue 2547, open in v1.12.0). The
// JavaScript functions all compile the same runtime module, and the host
// instantiates one as soon as it is compiled (host.evaluate) while the
// next one compiles. The table of mutexes holds one entry per distinct
// module compiled by the engine.
func (e *Engine) compileModule(ctx context.Context, wasm []byte) (wazero.CompiledModule, error) {
	mu, _ := e.compiling.LoadOrStore(sha256.Sum256(wasm), new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	return e.rt.CompileModule(ctx, wasm)
}

var _ engine.Engine = (*Engine)(nil)

// New creates an engine.
func New(ctx context.Context, opts Options) (*Engine, error) {
	cfg := wazero.NewRuntimeConfig()
	if opts.Interpreter {
		cfg = wazero.NewRuntimeConfigInterpreter()
		opts.CacheDir = ""
	}
	// A guest in a tight loop must still stop at its deadline: by the
	// checks the rewrite adds (Compile), or by wazero's own.
	cfg = cfg.WithCloseOnContextDone(opts.CloseOnContextDone && !opts.NoInterrupt)
	if opts.MemoryLimitPages > 0 {
		cfg = cfg.WithMemoryLimitPages(opts.MemoryLimitPages)
	}
	e := &Engine{provided: map[string]api.FunctionDefinition{}, noStackLimit: opts.NoStackLimit, interrupt: !opts.CloseOnContextDone && !opts.NoInterrupt}
	if opts.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wfn: cannot open compilation cache: %w", err)
		}
		e.cache = cache
		e.spareDir = filepath.Join(opts.CacheDir, "unloaded")
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
	if e.interrupt {
		poll := api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) {
			if l := fluid.LoopFrom(ctx); l != nil {
				l.Stepped() // a version 2 guest computing (fluid.Loop.computing)
			}
			stack[0] = api.EncodeI32(engine.Poll(ctx, e.closing.Load()))
		})
		_, err := e.rt.NewHostModuleBuilder(wasmbin.PollModule).NewFunctionBuilder().
			WithGoModuleFunction(poll, nil, []api.ValueType{api.ValueTypeI32}).
			Export(wasmbin.PollName).Instantiate(ctx)
		if err != nil {
			_ = e.Close(ctx)
			return nil, fmt.Errorf("wfn: cannot instantiate the poll module: %w", err)
		}
	}
	for _, m := range []api.Module{e.rt.Module(wasi_snapshot_preview1.ModuleName), wfn} {
		for name, def := range m.ExportedFunctionDefinitions() {
			e.provided[m.Name()+"\x00"+name] = def
		}
	}
	return e, nil
}

// Close releases the runtime and the compilation cache.
// LimitsTmp reports that writes past InstanceConfig.TmpLimit fail.
func (e *Engine) LimitsTmp() bool { return true }

func (e *Engine) Close(ctx context.Context) error {
	e.closing.Store(true)
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
	// Every guest runs rewritten to count its stack, as wazero has no
	// limit of its own below about 84 MB per call, taken from the Go heap,
	// and to call the host's poll every engine.PollSteps steps, which
	// stops it once its call's context has ended and gives the Go
	// scheduler a safe point (the garbage collector's stop-the-world
	// waits for a goroutine running compiled code until it calls into Go).
	checks := wasmbin.Checks{Stack: !e.noStackLimit, StackBudget: engine.MaxStack, Interrupt: e.interrupt}
	if checks.Stack || checks.Interrupt {
		limited, err := wasmbin.Instrument(wasm, checks)
		if err != nil {
			// Say that the module is invalid if it is.
			cm, cerr := e.compileModule(ctx, wasm)
			if cerr != nil {
				return nil, &engine.LoadError{Name: name, Reason: "invalid WebAssembly", Err: cerr}
			}
			_ = cm.Close(ctx)
			return nil, &engine.LoadError{Name: name, Reason: "cannot instrument it to bound its stack and stop it at its deadline", Err: err}
		}
		wasm = limited
	}
	m := &module{name: name, rt: e.rt, e: e}
	var keepErr error
	// A guest that can be snapshotted is compiled in its prepared form:
	// its globals exported for reading and setting, its data segments
	// moved into a memory image that instances map instead of copying.
	// Any other runs as it is.
	if prep, err := wasmbin.Prepare(wasm); err == nil {
		img, err := newImage(prep.Data)
		if err != nil {
			return nil, err
		}
		cm, err := e.compileModule(ctx, prep.Wasm)
		if err != nil {
			_ = img.Close()
			return nil, &engine.LoadError{Name: name, Reason: "invalid WebAssembly", Err: err}
		}
		m.cm, m.prep, m.dataImg = cm, prep, img
		m.snapshottable = !prep.HasStart
		m.spare, keepErr = e.keep(prep.Wasm, prep.Data)
		// Kept in the spare, or in wazero's module while it is loaded.
		prep.Wasm, prep.Data = nil, nil
	} else {
		m.whyNot = err
		cm, err := e.compileModule(ctx, wasm)
		if err != nil {
			return nil, &engine.LoadError{Name: name, Reason: "invalid WebAssembly", Err: err}
		}
		m.cm = cm
		m.spare, keepErr = e.keep(wasm, nil)
	}
	if keepErr != nil {
		_ = m.Close(ctx)
		return nil, &engine.LoadError{Name: name, Reason: "cannot keep it for loading again", Err: keepErr}
	}
	if err := e.check(m); err != nil {
		_ = m.Close(ctx)
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
		if mod == wasmbin.PollModule && e.interrupt {
			continue // the rewrite's, not the guest's (Instrument refuses a guest's)
		}
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
	e       *Engine
	exports engine.Exports

	// codeMu guards cm and dataImg, which are nil while the module is
	// unloaded; spare is what Load compiles again.
	codeMu sync.Mutex
	cm     wazero.CompiledModule
	spare  spare

	// prep is the prepared form of the guest, or nil when it runs as it
	// is (whyNot says why); dataImg is its data segments' memory image.
	prep          *wasmbin.Prepared
	dataImg       *image
	snapshottable bool
	whyNot        error

	snapMu sync.Mutex
	snap   *snapshot   // the latest snapshot, or nil
	old    []*snapshot // replaced ones, closed with the module
}

// snapshot is an instance's state right after initialisation.
type snapshot struct {
	key     string // the configuration it was taken with
	mem     *image
	size    uint64   // bytes of linear memory
	globals []uint64 // the values of prep.Globals
}

func (m *module) Exports() engine.Exports { return m.exports }

func (m *module) Close(ctx context.Context) error {
	return m.Unload(ctx)
}

// Unload releases the compiled code, the data image and the snapshots.
// wazero frees the machine code when the garbage collector finds it
// unreferenced (a finalizer unmaps it).
func (m *module) Unload(ctx context.Context) error {
	m.codeMu.Lock()
	defer m.codeMu.Unlock()
	var err error
	if m.cm != nil {
		err = m.cm.Close(ctx)
	}
	m.snapMu.Lock()
	for _, s := range append(m.old, m.snap) {
		if s != nil {
			err = errors.Join(err, s.mem.Close())
		}
	}
	m.snap, m.old = nil, nil
	m.snapMu.Unlock()
	err = errors.Join(err, m.dataImg.Close())
	m.cm, m.dataImg = nil, nil
	return err
}

// Load compiles the module again from its spare, which wazero's
// compilation cache makes a read of the machine code.
func (m *module) Load(ctx context.Context) error {
	m.codeMu.Lock()
	defer m.codeMu.Unlock()
	if m.cm != nil {
		return nil
	}
	wasm, data, err := m.spare.read()
	if err != nil {
		return fmt.Errorf("wfn: cannot load %s again: %w", m.name, err)
	}
	var img *image
	if m.prep != nil {
		if img, err = newImage(data); err != nil {
			return err
		}
	}
	cm, err := m.e.compileModule(ctx, wasm)
	if err != nil {
		_ = img.Close()
		return fmt.Errorf("wfn: cannot load %s again: %w", m.name, err)
	}
	m.cm, m.dataImg = cm, img
	return nil
}

// code returns the compiled module and its data image, or an error when
// it is unloaded.
func (m *module) code() (wazero.CompiledModule, *image, error) {
	m.codeMu.Lock()
	defer m.codeMu.Unlock()
	if m.cm == nil {
		return nil, nil, fmt.Errorf("wfn: %s is unloaded", m.name)
	}
	return m.cm, m.dataImg, nil
}

// snapshotKey identifies what an instance's initialisation depends on
// besides the module: its environment and memory limit.
func snapshotKey(cfg engine.InstanceConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", cfg.MemoryLimit)
	for _, kv := range cfg.Env {
		b.WriteString("\x00" + kv[0] + "=" + kv[1])
	}
	return b.String()
}

func (m *module) Instantiate(ctx context.Context, cfg engine.InstanceConfig) (engine.Instance, error) {
	if !cfg.Snapshot || !m.snapshottable {
		return m.instantiate(ctx, cfg, nil)
	}
	key := snapshotKey(cfg)
	m.snapMu.Lock()
	if s := m.snap; s != nil && s.key == key {
		m.snapMu.Unlock()
		return m.instantiate(ctx, cfg, s)
	}
	// The first instance is made the long way, and its state becomes the
	// snapshot. Others wait for it rather than all initialising.
	defer m.snapMu.Unlock()
	inst, err := m.instantiate(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	if cfg.Conns != nil && cfg.Conns.Len() > 0 {
		// Its initialisation opened TCP connections, which cannot be
		// copied into another instance (abi/SPEC.md section 5c): no
		// snapshot.
		return inst, nil
	}
	if cfg.TmpDir != "" {
		if entries, err := os.ReadDir(cfg.TmpDir); err != nil || len(entries) > 0 {
			// Its initialisation left files in /tmp, which instances
			// started from a snapshot would not have: no snapshot.
			return inst, nil
		}
	}
	s, err := inst.snapshot(m.prep.Globals)
	if err != nil {
		// The instance is fine; later ones initialise too.
		return inst, nil
	}
	s.key = key
	if m.snap != nil {
		m.old = append(m.old, m.snap)
	}
	m.snap = s
	return inst, nil
}

// instantiate makes an instance: from s when not nil, else by running
// its initialisation.
func (m *module) instantiate(ctx context.Context, cfg engine.InstanceConfig, s *snapshot) (*instance, error) {
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
	if cfg.TmpDir != "" {
		tmpLimit := cfg.TmpLimit
		if tmpLimit <= 0 {
			tmpLimit = math.MaxInt64
		}
		mc = mc.WithFSConfig(wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(newQuotaFS(cfg.TmpDir, tmpLimit), "/tmp"))
	}
	limit := cfg.MemoryLimit
	if limit == 0 {
		limit = 1 << 32
	}
	cm, img, err := m.code()
	if err != nil {
		return nil, err
	}
	var mem *memory
	initial := uint64(0)
	if s != nil {
		img, initial = s.mem, s.size
	}
	ctx = experimental.WithMemoryAllocator(ctx, allocator(limit, img, initial, &mem))
	mod, err := m.rt.InstantiateModule(ctx, cm, mc)
	if err != nil {
		return nil, fmt.Errorf("wfn: cannot instantiate %s: %w", m.name, err)
	}
	inst := &instance{mod: mod, mem: mem, e: m.e, fns: map[string]api.Function{}, task: mod.ExportedFunction(abi.ExportRunTask), sigterm: mod.ExportedFunction(abi.ExportOnSigterm), suspend: mod.ExportedFunction(abi.ExportOnSuspend), budget: mod.ExportedGlobal(wasmbin.StackBudgetExport)}
	inst.state.conns = cfg.Conns
	if s != nil {
		for i, name := range m.prep.Globals {
			g, ok := mod.ExportedGlobal(name).(api.MutableGlobal)
			if !ok {
				_ = inst.Close(ctx)
				return nil, fmt.Errorf("wfn: %s: snapshot global %s is missing", m.name, name)
			}
			g.Set(s.globals[i])
		}
	} else {
		for _, name := range []string{abi.ExportInitialize, abi.ExportInit} {
			if fn := mod.ExportedFunction(name); fn != nil {
				if _, err := inst.call(context.WithValue(ctx, callStateKey{}, &inst.state), fn, nil); err != nil {
					_ = inst.Close(ctx)
					return nil, fmt.Errorf("wfn: %s: %s failed: %w", m.name, name, err)
				}
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

// snapshot records the instance's memory and globals.
func (i *instance) snapshot(globals []string) (*snapshot, error) {
	mem := i.mod.Memory()
	if mem == nil {
		return nil, errors.New("wfn: no memory")
	}
	buf, ok := mem.Read(0, mem.Size())
	if !ok {
		return nil, errors.New("wfn: cannot read memory")
	}
	img, err := newImage(buf)
	if err != nil {
		return nil, err
	}
	s := &snapshot{mem: img, size: uint64(len(buf)), globals: make([]uint64, len(globals))}
	for j, name := range globals {
		g := i.mod.ExportedGlobal(name)
		if g == nil {
			_ = img.Close()
			return nil, fmt.Errorf("wfn: global %s is not exported", name)
		}
		s.globals[j] = g.Get()
	}
	return s, nil
}

type instance struct {
	mod     api.Module
	mem     *memory // nil when the guest has no memory
	fns     map[string]api.Function
	task    api.Function // wfn_run_task, or nil
	sigterm api.Function // wfn_on_sigterm, or nil
	suspend api.Function // wfn_on_suspend, or nil
	state   callState    // what its host functions find (current)
	budget  api.Global   // the stack budget left (wasmbin.LimitStack)
	e       *Engine
	depth   int // calls in progress: the host may call the guest from a host function
	stack   [1]uint64
	cc      callCtx // the outermost call's context (withState)
}

// callCtx is a context carrying the instance's callState, for the host
// functions (current).
type callCtx struct {
	context.Context
	st *callState
}

func (c *callCtx) Value(key any) any {
	if key == (callStateKey{}) {
		return c.st
	}
	return c.Context.Value(key)
}

// withState returns ctx carrying the instance's state. The outermost call
// of a guest rewritten with the interrupt checks uses the instance's own
// callCtx, reused from call to call: wazero keeps no context past such a
// call (it only does to watch the context, CloseOnContextDone) and the host
// functions keep none, so a warm call allocates no context.
func (i *instance) withState(ctx context.Context) context.Context {
	if i.depth > 0 || !i.e.interrupt {
		return context.WithValue(ctx, callStateKey{}, &i.state)
	}
	i.cc = callCtx{Context: ctx, st: &i.state}
	return &i.cc
}

// release drops the references of the outermost call's context once that
// call has returned.
func (i *instance) release() {
	if i.depth == 0 {
		i.cc = callCtx{}
	}
}

// call runs fn, keeping the instance's memory from being released under
// it.
func (i *instance) call(ctx context.Context, fn api.Function, stack []uint64) ([]uint64, error) {
	if err := ctx.Err(); err != nil && i.e.interrupt {
		return stack, fmt.Errorf("wfn: guest not called: %w", err)
	}
	if i.mem != nil {
		i.mem.enter()
		defer i.mem.leave()
	}
	i.depth++
	err := fn.CallWithStack(ctx, stack)
	i.depth--
	if err != nil && i.e.interrupt {
		// The poll of the checks stops the guest once ctx has ended.
		if cause := engine.StopCause(ctx, i.e.closing.Load()); cause != nil {
			return stack, fmt.Errorf("wfn: guest stopped: %w (%w)", cause, err)
		}
	}
	if err != nil && i.budget != nil && int32(i.budget.Get()) < 0 {
		// The budget check trapped: the guest's calls nested too deep.
		err = fmt.Errorf("%w: the guest's calls nested past %d KiB of stack: %w", engine.ErrStackOverflow, engine.MaxStack>>10, err)
	}
	return stack, err
}

func (i *instance) Call(ctx context.Context, export string, inv *hostcall.Invocation) error {
	fn := i.fns[export]
	if fn == nil {
		return fmt.Errorf("wfn: no export %s", export)
	}
	return i.callFor(ctx, inv, fn, nil)
}

// callFor calls fn for inv (nil: an out-of-band call), with the instance's
// state in ctx for its host functions.
func (i *instance) callFor(ctx context.Context, inv *hostcall.Invocation, fn api.Function, stack []uint64) error {
	prev := i.state.inv
	i.state.inv = inv
	_, err := i.call(i.withState(ctx), fn, stack)
	i.release()
	i.state.inv = prev
	return err
}

func (i *instance) RunTask(ctx context.Context, task int32, inv *hostcall.Invocation) error {
	if i.task == nil {
		return fmt.Errorf("wfn: no export %s", abi.ExportRunTask)
	}
	i.stack[0] = api.EncodeI32(task)
	return i.callFor(ctx, inv, i.task, i.stack[:])
}

func (i *instance) OnSigterm(ctx context.Context) error {
	if i.sigterm == nil {
		return nil
	}
	return i.callFor(ctx, nil, i.sigterm, nil)
}

func (i *instance) OnSuspend(ctx context.Context) error {
	if i.suspend == nil {
		return nil
	}
	return i.callFor(ctx, nil, i.suspend, nil)
}

func (i *instance) Close(ctx context.Context) error {
	return i.mod.Close(ctx)
}

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
