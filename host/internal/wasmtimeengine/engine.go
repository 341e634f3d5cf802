//go:build wasmtime

// Package wasmtimeengine runs guests on Wasmtime through wasmtime-go, the
// second engine. It needs cgo, so it is built only with the wasmtime build
// tag; the default build stays pure Go.
//
// A spinning guest is stopped at its deadline or abort by the checks of
// wasmbin.Checks.Interrupt, as on wazero: the guest calls the host's poll
// every engine.PollSteps steps, which stops it once its call's context
// has ended. Epoch interruption, used before, could not stop a guest on
// an abort (wasmtime-go has no per-store interrupt) and cost as much as
// the checks on compute (BENCHMARKS.md, "Cheap interruption"). A guest
// waiting in a host function is not reached by the checks, so WASI's sleep
// and output are the host's own here, as in the wazero engine.
package wasmtimeengine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// Options configures the engine.
type Options struct {
	// CacheDir keeps compiled code on disk. Empty: no disk cache.
	CacheDir string
}

// Engine is a Wasmtime engine with a linker holding the wfn and WASI
// host functions.
type Engine struct {
	eng      *wasmtime.Engine
	linker   *wasmtime.Linker
	wasi     *wasmtime.Linker // WASI alone: its fd_write, for files
	fileW    *wasmtime.Module // fileWriteWAT
	cacheDir string
	provided map[string]engine.Sig
	// closing stops every guest at its next poll.
	closing atomic.Bool
	// v2 is what serves version 2 guests (v2.go), made on first use.
	v2     v2Linker
	v2Once sync.Once
}

var _ engine.Engine = (*Engine)(nil)

// New creates an engine.
func New(ctx context.Context, opts Options) (*Engine, error) {
	cfg := wasmtime.NewConfig()
	// The stack of one call; Wasmtime's default is 512 KiB.
	cfg.SetMaxWasmStack(engine.MaxStack)
	e := &Engine{eng: wasmtime.NewEngineWithConfig(cfg), cacheDir: opts.CacheDir}
	e.linker = wasmtime.NewLinker(e.eng)
	if err := e.linker.DefineWasi(); err != nil {
		return nil, fmt.Errorf("wfn: cannot define WASI: %w", err)
	}
	e.wasi = wasmtime.NewLinker(e.eng)
	if err := e.wasi.DefineWasi(); err != nil {
		return nil, fmt.Errorf("wfn: cannot define WASI: %w", err)
	}
	fw, err := wasmtime.Wat2Wasm(fileWriteWAT)
	if err != nil {
		return nil, fmt.Errorf("wfn: %w", err)
	}
	if e.fileW, err = wasmtime.NewModule(e.eng, fw); err != nil {
		return nil, fmt.Errorf("wfn: %w", err)
	}
	// The host's own fd_write and poll_oneoff replace WASI's.
	e.linker.AllowShadowing(true)
	provided, err := e.defineHostFuncs()
	if err != nil {
		return nil, err
	}
	e.provided = provided
	if err := e.definePoll(e.linker); err != nil {
		return nil, err
	}
	if err := e.wasiSignatures(); err != nil {
		return nil, err
	}
	return e, nil
}

// definePoll defines in l the poll function the interrupt checks call
// (wasmbin.Checks.Interrupt): it stops the guest once the context of its
// call has ended or the engine is closing.
func (e *Engine) definePoll(l *wasmtime.Linker) error {
	typ := wasmtime.NewFuncType(nil, []*wasmtime.ValType{wasmtime.NewValType(wasmtime.KindI32)})
	err := l.FuncNew(wasmbin.PollModule, wasmbin.PollName, typ, func(caller *wasmtime.Caller, _ []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
		ctx := caller.Data().(*storeData).ctx
		if l := fluid.LoopFrom(ctx); l != nil {
			l.Stepped() // a version 2 guest computing (fluid.Loop.computing)
		}
		return []wasmtime.Val{wasmtime.ValI32(engine.Poll(ctx, e.closing.Load()))}, nil
	})
	if err != nil {
		return fmt.Errorf("wfn: cannot define the poll function: %w", err)
	}
	return nil
}

// wasiSignatures records the signature of every WASI function a guest may
// import, read off the linker through a scratch store.
func (e *Engine) wasiSignatures() error {
	store := wasmtime.NewStore(e.eng)
	defer store.Close()
	store.SetWasi(wasmtime.NewWasiConfig())
	for _, name := range wasiNames {
		ext := e.linker.Get(store, "wasi_snapshot_preview1", name)
		if ext == nil || ext.Func() == nil {
			continue
		}
		e.provided["wasi_snapshot_preview1\x00"+name] = sigOf(ext.Func().Type(store))
	}
	return nil
}

// wasiNames is WASI preview 1.
var wasiNames = []string{
	"args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get", "clock_time_get",
	"fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags",
	"fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
	"fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek",
	"fd_sync", "fd_tell", "fd_write", "path_create_directory", "path_filestat_get", "path_filestat_set_times",
	"path_link", "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
	"path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "sched_yield", "random_get", "sock_accept",
	"sock_recv", "sock_send", "sock_shutdown",
}

// Close releases the engine.
func (e *Engine) Close(ctx context.Context) error {
	if e.closing.Swap(true) {
		return nil
	}
	e.linker.Close()
	e.wasi.Close()
	if e.v2.linker != nil {
		e.v2.linker.Close()
	}
	e.eng.Close()
	return nil
}

// instrumentAndCompile checks that wasm is a module, rewrites it with the
// interrupt checks (every guest runs rewritten to call the host's poll
// every so many steps, which stops it when its call's context ends) and
// compiles it through the disk cache. Errors are *engine.LoadError.
func (e *Engine) instrumentAndCompile(name string, wasm []byte) (*wasmtime.Module, string, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, "", &engine.LoadError{Name: name, Reason: "not a WebAssembly module (no \\0asm header)"}
	}
	checked, err := wasmbin.Instrument(wasm, wasmbin.Checks{Interrupt: true})
	if err != nil {
		if _, verr := wasmtime.NewModule(e.eng, wasm); verr != nil {
			return nil, "", &engine.LoadError{Name: name, Reason: "invalid WebAssembly", Err: verr}
		}
		return nil, "", &engine.LoadError{Name: name, Reason: "cannot instrument it to stop it when its call ends", Err: err}
	}
	mod, path, err := e.compile(checked)
	if err != nil {
		return nil, "", &engine.LoadError{Name: name, Reason: "invalid WebAssembly", Err: err}
	}
	return mod, path, nil
}

// Compile validates and compiles a guest, through the disk cache.
func (e *Engine) Compile(ctx context.Context, name string, wasm []byte) (engine.Module, error) {
	mod, path, err := e.instrumentAndCompile(name, wasm)
	if err != nil {
		return nil, err
	}
	g := guestOf(mod)
	exports, err := engine.Check(name, g, func(module, n string) (engine.Sig, bool) {
		s, ok := e.provided[module+"\x00"+n]
		return s, ok
	})
	if err != nil {
		mod.Close()
		return nil, err
	}
	return &module{e: e, linker: e.linker, name: name, mod: mod, path: path, exports: exports}, nil
}

// guestOf lists the imports and exports of mod, as the load checks see
// them: without the poll function of the interrupt checks, which is the
// rewrite's, not the guest's (wasmbin.Instrument refuses a guest's).
func guestOf(mod *wasmtime.Module) engine.Guest {
	var g engine.Guest
	for _, imp := range mod.Imports() {
		n := ""
		if imp.Name() != nil {
			n = *imp.Name()
		}
		if imp.Module() == wasmbin.PollModule {
			continue
		}
		i := engine.Import{Module: imp.Module(), Name: n}
		if ft := imp.Type().FuncType(); ft != nil {
			i.Func, i.Sig = true, sigOf(ft)
		}
		g.Imports = append(g.Imports, i)
	}
	for _, ex := range mod.Exports() {
		if ft := ex.Type().FuncType(); ft != nil {
			g.Funcs = append(g.Funcs, engine.Export{Name: ex.Name(), Sig: sigOf(ft)})
		} else if ex.Type().MemoryType() != nil && ex.Name() == abi.ExportMemory {
			g.Memory = true
		}
	}
	return g
}

// compile compiles wasm through the disk cache, and returns the module
// and the cache file it was loaded from ("" without one). A module
// deserialized from its file maps it: its code is in the page cache,
// which the kernel shares and can reclaim, not in anonymous memory. So a
// module compiled now is written, then loaded back from the file.
func (e *Engine) compile(wasm []byte) (*wasmtime.Module, string, error) {
	if e.cacheDir == "" {
		m, err := wasmtime.NewModule(e.eng, wasm)
		return m, "", err
	}
	sum := sha256.Sum256(wasm)
	path := filepath.Join(e.cacheDir, "wasmtime-v39-"+hex.EncodeToString(sum[:16])+".cwasm")
	if m, err := wasmtime.NewModuleDeserializeFile(e.eng, path); err == nil {
		return m, path, nil
	}
	m, err := wasmtime.NewModule(e.eng, wasm)
	if err != nil {
		return nil, "", err
	}
	if data, err := m.Serialize(); err == nil && os.MkdirAll(e.cacheDir, 0o755) == nil {
		if tmp, err := os.CreateTemp(e.cacheDir, "compile-*"); err == nil {
			_, werr := tmp.Write(data)
			if cerr := tmp.Close(); werr == nil && cerr == nil {
				_ = os.Rename(tmp.Name(), path)
			}
			_ = os.Remove(tmp.Name())
		}
	}
	if mapped, err := wasmtime.NewModuleDeserializeFile(e.eng, path); err == nil {
		m.Close()
		return mapped, path, nil
	}
	return m, "", nil
}

func sigOf(ft *wasmtime.FuncType) engine.Sig {
	names := func(ts []*wasmtime.ValType) []string {
		s := make([]string, len(ts))
		for i, t := range ts {
			switch t.Kind() {
			case wasmtime.KindI32:
				s[i] = "i32"
			case wasmtime.KindI64:
				s[i] = "i64"
			case wasmtime.KindF32:
				s[i] = "f32"
			case wasmtime.KindF64:
				s[i] = "f64"
			default:
				s[i] = t.String()
			}
		}
		return s
	}
	return engine.Sig{Params: names(ft.Params()), Results: names(ft.Results())}
}

type module struct {
	e *Engine
	// linker resolves the guest's imports: the engine's, or for a
	// version 2 guest its own (v2.go).
	linker  *wasmtime.Linker
	v2      bool
	name    string
	path    string // the cache file mod was loaded from, or ""
	exports engine.Exports

	mu  sync.Mutex
	mod *wasmtime.Module // nil while unloaded
}

func (m *module) Exports() engine.Exports { return m.exports }

func (m *module) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mod != nil {
		m.mod.Close()
		m.mod = nil
	}
	return nil
}

// Unload releases the module, when it can be loaded again from its cache
// file; without one it stays.
func (m *module) Unload(ctx context.Context) error {
	if m.path == "" {
		return nil
	}
	return m.Close(ctx)
}

// Load maps the module from its cache file again.
func (m *module) Load(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mod != nil {
		return nil
	}
	mod, err := wasmtime.NewModuleDeserializeFile(m.e.eng, m.path)
	if err != nil {
		return fmt.Errorf("wfn: cannot load %s again: %w", m.name, err)
	}
	m.mod = mod
	return nil
}

// storeData is what host functions find through their caller.
type storeData struct {
	inv    *hostcall.Invocation
	cfg    engine.InstanceConfig
	ctx    context.Context // the current call's, for waits in host functions
	badPtr *hostcall.BadPointerError
	// args and mem are those of the import call in progress (see call).
	args [16]uint64
	mem  guestMemory
	// fileWrite is WASI's fd_write through fileWriteWAT, or nil.
	fileWrite *wasmtime.Func
	// wasi holds WASI's own functions that a version 2 guest's reach
	// for a descriptor other than its event source (v2.go).
	wasi wasiFuncs
}

type instance struct {
	m     *module
	store *wasmtime.Store
	data  *storeData
	inst  *wasmtime.Instance
	fns   map[string]*wasmtime.Func
}

func (m *module) Instantiate(ctx context.Context, cfg engine.InstanceConfig) (engine.Instance, error) {
	return m.instantiate(ctx, cfg)
}

// instantiate creates an instance and runs its initialisation.
func (m *module) instantiate(ctx context.Context, cfg engine.InstanceConfig) (*instance, error) {
	data := &storeData{cfg: cfg, ctx: ctx}
	store := wasmtime.NewStoreWithData(m.e.eng, data)
	wasi := wasmtime.NewWasiConfig()
	keys, values := make([]string, len(cfg.Env)), make([]string, len(cfg.Env))
	for i, kv := range cfg.Env {
		keys[i], values[i] = kv[0], kv[1]
	}
	wasi.SetEnv(keys, values)
	if cfg.TmpDir != "" {
		// Wasmtime's WASI has no hook to count writes: the host checks
		// TmpLimit after each call.
		if err := wasi.PreopenDir(cfg.TmpDir, "/tmp", wasmtime.DIR_READ|wasmtime.DIR_WRITE, wasmtime.FILE_READ|wasmtime.FILE_WRITE); err != nil {
			store.Close()
			return nil, fmt.Errorf("wfn: %s: cannot give the guest /tmp: %w", m.name, err)
		}
	}
	store.SetWasi(wasi)
	if cfg.MemoryLimit > 0 {
		store.Limiter(int64(min(cfg.MemoryLimit, math.MaxInt64)), -1, -1, -1, -1)
	}
	i := &instance{m: m, store: store, data: data, fns: map[string]*wasmtime.Func{}}
	m.mu.Lock()
	mod := m.mod
	m.mu.Unlock()
	if mod == nil {
		store.Close()
		return nil, fmt.Errorf("wfn: %s is unloaded", m.name)
	}
	inst, err := m.linker.Instantiate(store, mod)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("wfn: cannot instantiate %s: %w", m.name, err)
	}
	i.inst = inst
	if m.v2 {
		if err := i.linkWASIV2(); err != nil {
			store.Close()
			return nil, fmt.Errorf("wfn: %s: %w", m.name, err)
		}
	} else if cfg.TmpDir != "" {
		if err := i.linkFileWrite(); err != nil {
			store.Close()
			return nil, fmt.Errorf("wfn: %s: %w", m.name, err)
		}
	}
	for _, name := range []string{abi.ExportInitialize, abi.ExportInit} {
		if fn := inst.GetFunc(store, name); fn != nil {
			if _, err := fn.Call(store); err != nil {
				store.Close()
				return nil, fmt.Errorf("wfn: %s: %s failed: %w", m.name, name, i.wrap(ctx, err))
			}
		}
	}
	for _, name := range append([]string{abi.ExportServe, abi.ExportHandle, abi.ExportRunTask, abi.ExportOnSigterm, abi.ExportOnSuspend}, m.exports.Methods...) {
		if fn := inst.GetFunc(store, name); fn != nil {
			i.fns[name] = fn
		}
	}
	return i, nil
}

// fileWriteWAT calls WASI's fd_write from WebAssembly, with the guest's
// memory as its own: the host's fd_write, which serves stdout and stderr,
// hands it the writes to files (those of /tmp). Wasmtime's WASI functions
// read their caller's memory, so a host function cannot call them itself.
const fileWriteWAT = `(module
  (import "guest" "memory" (memory 0))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (export "memory" (memory 0))
  (func (export "fd_write") (param i32 i32 i32 i32) (result i32)
    (call $w (local.get 0) (local.get 1) (local.get 2) (local.get 3))))`

// linkFileWrite instantiates fileWriteWAT over the guest's memory.
func (i *instance) linkFileWrite() error {
	mem := i.inst.GetExport(i.store, "memory")
	w := i.m.e.wasi.Get(i.store, "wasi_snapshot_preview1", "fd_write")
	if mem == nil || mem.Memory() == nil || w == nil {
		return nil // no memory: no files either
	}
	fw, err := wasmtime.NewInstance(i.store, i.m.e.fileW, []wasmtime.AsExtern{mem.Memory(), w.Func()})
	if err != nil {
		return fmt.Errorf("cannot link file writes: %w", err)
	}
	i.data.fileWrite = fw.GetFunc(i.store, "fd_write")
	return nil
}

func (i *instance) call(ctx context.Context, export string, inv *hostcall.Invocation, args ...interface{}) error {
	fn := i.fns[export]
	if fn == nil {
		return fmt.Errorf("wfn: no export %s", export)
	}
	i.data.inv, i.data.ctx, i.data.badPtr = inv, ctx, nil
	defer func() { i.data.inv, i.data.ctx = nil, context.Background() }()
	_, err := fn.Call(i.store, args...)
	return i.wrap(ctx, err)
}

// wrap turns a trap of a call under ctx into an error the host can reason
// about: a bad pointer keeps its type, a guest stopped by the poll of the
// checks matches ctx's cause.
func (i *instance) wrap(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if i.data.badPtr != nil {
		return fmt.Errorf("%w (%v)", i.data.badPtr, err)
	}
	if cause := engine.StopCause(ctx, i.m.e.closing.Load()); cause != nil {
		return fmt.Errorf("wfn: guest stopped: %w (%w)", cause, err)
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		switch code := trap.Code(); {
		case code != nil && *code == wasmtime.StackOverflow:
			// The message holds a backtrace of every frame: keep its
			// first line and the innermost frames.
			return fmt.Errorf("%w: the guest's calls nested past %d KiB of stack: %s", engine.ErrStackOverflow, engine.MaxStack>>10, firstLines(trap.Message(), 8))
		}
	}
	return err
}

// firstLines returns the first n lines of s, and says how many it left.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "\n") + "\n    ... " + strconv.Itoa(strings.Count(lines[n], "\n")+1) + " more lines"
}

func (i *instance) Call(ctx context.Context, export string, inv *hostcall.Invocation) error {
	return i.call(ctx, export, inv)
}

func (i *instance) RunTask(ctx context.Context, task int32, inv *hostcall.Invocation) error {
	return i.call(ctx, abi.ExportRunTask, inv, task)
}

func (i *instance) OnSigterm(ctx context.Context) error {
	if i.fns[abi.ExportOnSigterm] == nil {
		return nil
	}
	return i.call(ctx, abi.ExportOnSigterm, nil)
}

func (i *instance) OnSuspend(ctx context.Context) error {
	if i.fns[abi.ExportOnSuspend] == nil {
		return nil
	}
	return i.call(ctx, abi.ExportOnSuspend, nil)
}

func (i *instance) Close(ctx context.Context) error {
	i.store.Close()
	return nil
}
