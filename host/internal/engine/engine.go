// Package engine is the boundary between the host and a WebAssembly engine:
// the interfaces each engine (wazero by default, Wasmtime with the wasmtime
// build tag) implements in its own package, and the ABI's load-time checks,
// the same for every engine.
//
// The meaning of every import is not here but in package hostcall, one
// engine-neutral table over the calling guest's memory; an engine
// registers that table as it is, with the signatures of package abi
// (RATIONALE.md, "One ABI table").
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// Engine compiles guests. One Engine serves every function of a host.
type Engine interface {
	// Compile validates and compiles a guest. name identifies the guest in
	// errors (the source path). A guest that is not WebAssembly, lacks a
	// required export or imports something the host does not serve fails
	// with a *LoadError.
	Compile(ctx context.Context, name string, wasm []byte) (Module, error)
	// Close releases the engine and everything compiled with it.
	Close(ctx context.Context) error
}

// Module is a compiled guest, ready to be instantiated many times.
type Module interface {
	// Exports tells which optional and handler exports the guest has.
	Exports() Exports
	// Instantiate creates an instance and runs its initialisation
	// (_initialize, then wfn_init when exported).
	Instantiate(ctx context.Context, cfg InstanceConfig) (Instance, error)
	// Close releases the compiled code. Instances must be closed first.
	Close(ctx context.Context) error
}

// Unloader is a Module that can release its compiled code while it has
// no instance, and load it again from the engine's cache: the cost of
// reading the cache, not of compiling. The host unloads the functions
// that have been idle for a while (Config.UnloadAfter).
type Unloader interface {
	// Unload releases the compiled code and what the module keeps for
	// its instances (snapshots of initialised memory). No instance may be
	// live or being made, and none may be made until Load: Instantiate
	// then fails.
	Unload(ctx context.Context) error
	// Load loads the compiled code again after Unload. Exports are kept
	// through both.
	Load(ctx context.Context) error
}

// Instance is one live guest. It runs one invocation at a time.
type Instance interface {
	// Call runs the handler export for inv and returns when it returns.
	// Any error leaves the instance unusable: the caller closes it. So do
	// RunTask and OnSigterm.
	Call(ctx context.Context, export string, inv *hostcall.Invocation) error
	// RunTask runs wfn_run_task(task) for inv, after its handler.
	RunTask(ctx context.Context, task int32, inv *hostcall.Invocation) error
	// OnSigterm runs wfn_on_sigterm, if the guest exports it.
	OnSigterm(ctx context.Context) error
	// OnSuspend runs wfn_on_suspend, if the guest exports it
	// (abi/SPEC.md section 5c).
	OnSuspend(ctx context.Context) error
	// Close releases the instance.
	Close(ctx context.Context) error
}

// InstanceConfig is what an instance is created with.
type InstanceConfig struct {
	// Env is the guest's environment (WASI environ_get), in order.
	Env [][2]string
	// Stdout and Stderr receive the guest's output. The host routes it to
	// the log lines of whichever invocation is running.
	Stdout, Stderr io.Writer
	// MemoryLimit caps the instance's linear memory, in bytes; growing
	// past it fails (memory.grow returns -1). Zero: the engine's maximum.
	MemoryLimit uint64
	// Wake, when it receives, ends a WASI sleep of the guest early (once
	// per value), so that an aborted guest gets to run.
	Wake <-chan struct{}
	// Done returns a channel that is closed when the current call must
	// stop (its deadline); a WASI sleep ends then too. It is called on the
	// goroutine running the guest.
	Done func() <-chan struct{}
	// Snapshot lets the engine start the instance from an image of memory
	// and globals taken after the initialisation of an earlier instance
	// made with the same configuration, instead of running _initialize
	// and wfn_init again. An engine or a guest that cannot do it starts
	// the instance normally.
	Snapshot bool
	// TmpDir, when set, is a host directory of this instance alone that
	// the guest sees as a writable /tmp, as Vercel gives every function
	// one (vercel.com/docs/functions/runtimes: /tmp scratch space). The
	// caller creates it and removes it with the instance.
	TmpDir string
	// TmpLimit caps the bytes of the files the guest keeps in TmpDir. An
	// engine that can refuses a write past it (wazero: EIO, as its WASI
	// has no ENOSPC) and says so with [TmpLimiter]; for the others the
	// host checks it after each call.
	TmpLimit int64
	// Conns is the instance's outbound TCP connections (abi/SPEC.md
	// section 5c), which the tcp_* imports use, in an invocation or out
	// of one. Nil: those imports fail with EIO. An instance that holds a
	// connection when its initialisation returns is not snapshotted.
	Conns *outbound.Conns
}

// TmpLimiter is implemented by an engine that refuses the writes past
// InstanceConfig.TmpLimit itself.
type TmpLimiter interface {
	LimitsTmp() bool
}

// Exports lists a guest's exports that change how the host calls it.
type Exports struct {
	// Methods holds the method exports ("GET", "POST", ...) in
	// [abi.Methods] order.
	Methods []string
	// Handle is true when the guest exports wfn_handle.
	Handle bool
	// Init is true when the guest exports wfn_init.
	Init bool
	// RunTask, OnSigterm and OnSuspend tell whether the guest exports
	// wfn_run_task, wfn_on_sigterm and wfn_on_suspend.
	RunTask, OnSigterm, OnSuspend bool
	// ImportsClose is true when the guest imports response_close: its
	// handler may end the response and run on, so the host runs it on a
	// goroutine of its own.
	ImportsClose bool
}

// HandlerFor returns the export that serves method, or "" when the guest
// has method exports, none for this method, and no catch-all.
func (e Exports) HandlerFor(method string) string {
	for _, m := range e.Methods {
		if m == method {
			return m
		}
	}
	if e.Handle {
		return "wfn_handle"
	}
	return ""
}

// MaxStack bounds the stack of one call into a guest (a handler, a task, an
// initialisation), in bytes: a guest whose calls nest deeper traps with an
// error matching [ErrStackOverflow]. Wasmtime counts the machine stack its
// code uses; wazero, which has no such setting, runs guests rewritten to
// count each frame as wasmbin.FrameCost says (64 bytes and 16 per parameter
// and local).
const MaxStack = 1 << 20

// ErrStackOverflow is matched (errors.Is) by the error of a call whose
// guest went past MaxStack.
var ErrStackOverflow = errors.New("wfn: stack overflow")

// ErrLoad is the sentinel every *LoadError matches with errors.Is.
var ErrLoad = errors.New("wfn: cannot load guest")

// LoadError is a guest that cannot be loaded, with the reason.
type LoadError struct {
	Name   string // the guest's source, such as api/hello.wasm
	Reason string // what is wrong, such as "missing export wfn_abi_v1"
	Err    error  // the underlying error, if any
}

func (e *LoadError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cannot load %s: %s: %v", e.Name, e.Reason, e.Err)
	}
	return fmt.Sprintf("cannot load %s: %s", e.Name, e.Reason)
}

// Unwrap returns the underlying error.
func (e *LoadError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrLoad) true.
func (e *LoadError) Is(target error) bool { return target == ErrLoad }

// MemorySizer is an Instance that reports the size of its linear memory,
// in bytes. It is called between calls, by the goroutine that holds the
// instance.
type MemorySizer interface {
	MemorySize() uint64
}
