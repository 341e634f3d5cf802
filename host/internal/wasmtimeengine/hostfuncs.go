//go:build wasmtime

package wasmtimeengine

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
)

// guestMemory is the caller's linear memory during one import call, a
// hostcall.Memory. It is fetched on the first read (a cgo call), and kept
// in the store's data between calls so that a call allocates nothing.
type guestMemory struct {
	caller *wasmtime.Caller
	mem    []byte
}

// Read returns a view of guest memory. The view is valid only during the
// import call: what is passed a view copies what it keeps.
func (g *guestMemory) Read(ptr, n uint32) ([]byte, bool) {
	if g.mem == nil {
		g.mem = g.caller.GetExport(abi.ExportMemory).Memory().UnsafeData(g.caller)
	}
	p, l := uint64(ptr), uint64(n)
	if p+l > uint64(len(g.mem)) {
		return nil, false
	}
	return g.mem[p : p+l : p+l], true
}

// Size is the size of the linear memory in bytes (package fluid records
// it in poll_oneoff, on the guest's goroutine), at most math.MaxUint32: a
// memory of the full 4 GiB of wasm32 reports one byte less, not 0.
func (g *guestMemory) Size() uint32 {
	if g.mem == nil {
		g.mem = g.caller.GetExport(abi.ExportMemory).Memory().UnsafeData(g.caller)
	}
	return uint32(min(uint64(len(g.mem)), math.MaxUint32))
}

// defineHostFuncs registers every import of hostcall.Table, in spec order,
// with the signature abi declares, and returns those signatures for the
// load check. Registered with FuncNew: no reflection per call. A host
// function decodes the arguments into wazero's encoding (an i32 in the low
// 32 bits of a uint64), calls the table, and turns the panic of a bad
// pointer into a trap; the meaning is the table's.
func (e *Engine) defineHostFuncs() (map[string]engine.Sig, error) {
	provided := map[string]engine.Sig{}
	for _, imp := range hostcall.Table {
		params := make([]*wasmtime.ValType, len(imp.Params))
		sig := engine.Sig{Params: make([]string, len(imp.Params)), Results: []string{imp.Result.Type.String()}}
		for i, p := range imp.Params {
			params[i] = valType(p.Type)
			sig.Params[i] = p.Type.String()
		}
		provided[abi.Module+"\x00"+imp.Name] = sig
		call, name, i64, anywhere := imp.Call, imp.Name, imp.Result.Type == abi.I64, imp.Anywhere
		err := e.linker.FuncNew(abi.Module, imp.Name, wasmtime.NewFuncType(params, []*wasmtime.ValType{valType(imp.Result.Type)}), func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			data := caller.Data().(*storeData)
			r := int64(abi.EBADHANDLE)
			if data.inv != nil || anywhere {
				var err error
				if r, err = data.call(caller, call, name, args); err != nil {
					return nil, wasmtime.NewTrap(err.Error())
				}
			}
			if i64 {
				return []wasmtime.Val{wasmtime.ValI64(r)}, nil
			}
			return []wasmtime.Val{wasmtime.ValI32(int32(r))}, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := defineFdWrite(e.linker); err != nil {
		return nil, err
	}
	if err := definePollOneoff(e.linker); err != nil {
		return nil, err
	}
	return provided, nil
}

// call runs one import of the table for the store's invocation. A bad
// pointer is returned, and kept for the error of the guest's call; any
// other panic goes on.
func (d *storeData) call(caller *wasmtime.Caller, f hostcall.Func, name string, args []wasmtime.Val) (r int64, err error) {
	for i, a := range args {
		if a.Kind() == wasmtime.KindI64 {
			d.args[i] = uint64(a.I64())
		} else {
			d.args[i] = uint64(uint32(a.I32()))
		}
	}
	d.mem = guestMemory{caller: caller}
	defer func() {
		d.mem = guestMemory{}
		if v := recover(); v != nil {
			bad, ok := v.(*hostcall.BadPointerError)
			if !ok {
				panic(v)
			}
			d.badPtr, err = bad, bad
		}
	}()
	return f(d.inv, hostcall.Call{Mem: &d.mem, Import: name, Args: d.args[:len(args)], Ctx: d.ctx, Conns: d.cfg.Conns}), nil
}

func valType(t abi.Type) *wasmtime.ValType {
	if t == abi.I64 {
		return wasmtime.NewValType(wasmtime.KindI64)
	}
	return wasmtime.NewValType(wasmtime.KindI32)
}

const (
	wasiESuccess = 0
	wasiEBADF    = 8
	wasiEFAULT   = 21
	wasiEINVAL   = 28
	wasiENOTSUP  = 58
)

// asTrap is the trap of a nested call's error, to go on up the guest's
// stack.
func asTrap(err error) *wasmtime.Trap {
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		return trap
	}
	return wasmtime.NewTrap(err.Error())
}

func ret(v int32) []wasmtime.Val { return []wasmtime.Val{wasmtime.ValI32(v)} }

// wasiType is the type of a WASI function of n i32 parameters that
// returns an errno.
func wasiType(n int) *wasmtime.FuncType {
	params := make([]*wasmtime.ValType, n)
	for i := range params {
		params[i] = wasmtime.NewValType(wasmtime.KindI32)
	}
	return wasmtime.NewFuncType(params, []*wasmtime.ValType{wasmtime.NewValType(wasmtime.KindI32)})
}

// defineFdWrite replaces l's WASI fd_write: stdout and stderr go to the
// instance's writers, into the invocation's log lines; a file goes to
// WASI's own fd_write (storeData.fileWrite).
func defineFdWrite(l *wasmtime.Linker) error {
	return l.FuncNew("wasi_snapshot_preview1", "fd_write", wasiType(4), func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
		data := caller.Data().(*storeData)
		fd, iovs, n, nwritten := args[0].I32(), uint64(uint32(args[1].I32())), uint64(uint32(args[2].I32())), uint64(uint32(args[3].I32()))
		w := data.cfg.Stdout
		if fd == 2 {
			w = data.cfg.Stderr
		} else if fd != 1 {
			// A file, such as one in /tmp: WASI's own fd_write.
			if data.fileWrite == nil {
				return ret(wasiEBADF), nil
			}
			res, err := data.fileWrite.Call(caller, args[0].I32(), args[1].I32(), args[2].I32(), args[3].I32())
			if err != nil {
				return nil, asTrap(err)
			}
			return ret(res.(int32)), nil
		}
		mem := caller.GetExport("memory").Memory().UnsafeData(caller)
		var total uint32
		for i := uint64(0); i < n; i++ {
			at := iovs + i*8
			if at+8 > uint64(len(mem)) {
				return ret(wasiEFAULT), nil
			}
			ptr, l := uint64(binary.LittleEndian.Uint32(mem[at:])), uint64(binary.LittleEndian.Uint32(mem[at+4:]))
			if ptr+l > uint64(len(mem)) {
				return ret(wasiEFAULT), nil
			}
			if w != nil {
				_, _ = w.Write(mem[ptr : ptr+l])
			}
			total += uint32(l)
		}
		if nwritten+4 > uint64(len(mem)) {
			return ret(wasiEFAULT), nil
		}
		binary.LittleEndian.PutUint32(mem[nwritten:], total)
		return ret(wasiESuccess), nil
	})
}

// definePollOneoff replaces l's WASI poll_oneoff for a version 1 guest: a
// sleep that the deadline or an abort ends (Wasmtime's own sleeps in
// native code, where the interrupt checks do not reach).
func definePollOneoff(l *wasmtime.Linker) error {
	return l.FuncNew("wasi_snapshot_preview1", "poll_oneoff", wasiType(4), func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
		data := caller.Data().(*storeData)
		in, out, nsubs, nevents := uint64(uint32(args[0].I32())), uint64(uint32(args[1].I32())), uint64(uint32(args[2].I32())), uint64(uint32(args[3].I32()))
		mem := caller.GetExport("memory").Memory().UnsafeData(caller)
		if nsubs == 0 {
			return ret(wasiEINVAL), nil
		}
		if in+nsubs*48 > uint64(len(mem)) || out+nsubs*32 > uint64(len(mem)) || nevents+4 > uint64(len(mem)) {
			return ret(wasiEFAULT), nil
		}
		// Sleep until the earliest clock subscription; fd subscriptions
		// (there are no files here) are reported ready at once.
		sleep := time.Duration(-1)
		for i := uint64(0); i < nsubs; i++ {
			sub := mem[in+i*48:]
			if sub[8] != 0 { // not a clock
				sleep = 0
				continue
			}
			timeout := time.Duration(binary.LittleEndian.Uint64(sub[24:]))
			if binary.LittleEndian.Uint16(sub[40:])&1 != 0 { // absolute time
				timeout = time.Until(time.Unix(0, int64(timeout)))
			}
			if sleep < 0 || timeout < sleep {
				sleep = max(timeout, 0)
			}
		}
		if sleep > 0 {
			t := time.NewTimer(sleep)
			var done, callDone <-chan struct{}
			if data.cfg.Done != nil {
				done = data.cfg.Done()
			}
			if data.ctx != nil {
				callDone = data.ctx.Done()
			}
			select {
			case <-t.C:
			case <-data.cfg.Wake:
			case <-done:
			case <-callDone:
			}
			t.Stop()
		}
		for i := uint64(0); i < nsubs; i++ {
			sub, ev := mem[in+i*48:], mem[out+i*32:]
			clear(ev[:32])
			copy(ev[0:8], sub[0:8]) // userdata
			ev[10] = sub[8]         // the event's type is the subscription's
		}
		binary.LittleEndian.PutUint32(mem[nevents:], uint32(nsubs))
		return ret(wasiESuccess), nil
	})
}
