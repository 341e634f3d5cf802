//go:build wasmtime

package wasmtimeengine

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// The wfn host functions for Wasmtime. As in the wazero engine, each only
// moves bytes between guest memory and the engine.Invocation, where the
// meaning of every import lives. Registered with FuncNew: no reflection per
// call.

// call is one host function call: the caller, its arguments, and access
// to guest memory that traps on a bad pointer.
type call struct {
	caller *wasmtime.Caller
	args   []wasmtime.Val
	data   *storeData
	name   string
	mem    []byte
	bad    bool
}

func (c *call) i32(i int) int32 { return c.args[i].I32() }

// read returns a view of guest memory, or marks the call bad. The view is
// valid only during the import call (see the wazero engine's read): what
// is passed a view copies what it keeps.
func (c *call) read(ptr, n int32) []byte {
	if c.bad {
		return nil
	}
	if c.mem == nil {
		c.mem = c.caller.GetExport("memory").Memory().UnsafeData(c.caller)
	}
	p, l := uint64(uint32(ptr)), uint64(uint32(n))
	if p+l > uint64(len(c.mem)) {
		c.bad = true
		c.data.badPtr = &engine.BadPointerError{Import: c.name, Ptr: uint32(ptr), Len: uint32(n)}
		return nil
	}
	return c.mem[p : p+l : p+l]
}

// out applies the buffer protocol.
func (c *call) out(buf, cp int32, v []byte) int32 {
	dst := c.read(buf, cp)
	if len(v) <= len(dst) {
		copy(dst, v)
	}
	return int32(len(v))
}

type hostFunc struct {
	name   string
	params int // i32 but for the one i64Param names
	result wasmtime.ValKind
	fn     func(c *call, inv *engine.Invocation) int64
}

// i64Param is the index of the one i64 parameter of some imports.
var i64Param = map[string]int{abi.ImportCacheSet: 4, abi.ImportCDNDeleteByTag: 2, abi.ImportCDNDeleteBySrcImage: 2, abi.ImportHTTPWait: 1}

func (c *call) i64(i int) int64 { return c.args[i].I64() }

func errno(e abi.Errno) int64 { return int64(e) }

var hostFuncs = []hostFunc{
	{abi.ImportRequestMethod, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return int64(c.out(c.i32(0), c.i32(1), []byte(inv.Method())))
	}},
	{abi.ImportRequestURL, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return int64(c.out(c.i32(0), c.i32(1), []byte(inv.URL())))
	}},
	{abi.ImportRequestHeaderNames, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return int64(c.out(c.i32(0), c.i32(1), inv.HeaderNames()))
	}},
	{abi.ImportRequestHeader, 4, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		v, ok := inv.Header(c.read(c.i32(0), c.i32(1)))
		if !ok {
			return errno(abi.ENOTFOUND)
		}
		return int64(c.out(c.i32(2), c.i32(3), v))
	}},
	{abi.ImportRequestParam, 4, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		v, ok := inv.Param(c.read(c.i32(0), c.i32(1)))
		if !ok {
			return errno(abi.ENOTFOUND)
		}
		return int64(c.out(c.i32(2), c.i32(3), []byte(v)))
	}},
	{abi.ImportRequestBodyRead, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return int64(inv.BodyRead(c.read(c.i32(0), c.i32(1))))
	}},
	{abi.ImportResponseSetStatus, 1, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.SetStatus(c.i32(0)))
	}},
	{abi.ImportResponseHeaderSet, 4, wasmtime.KindI32, headerOp(engine.HeaderSet)},
	{abi.ImportResponseHeaderAdd, 4, wasmtime.KindI32, headerOp(engine.HeaderAdd)},
	{abi.ImportResponseHeaderDelete, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.SetHeader(engine.HeaderDelete, c.read(c.i32(0), c.i32(1)), nil))
	}},
	{abi.ImportResponseBodyWrite, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return int64(inv.BodyWrite(c.read(c.i32(0), c.i32(1))))
	}},
	{abi.ImportResponseFlush, 0, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.Flush())
	}},
	{abi.ImportResponseClose, 0, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.Close())
	}},
	{abi.ImportAbortSignaled, 0, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return int64(inv.AbortSignaled())
	}},
	{abi.ImportWaitUntil, 1, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.WaitUntil(c.i32(0)))
	}},
	{abi.ImportDeadlineRemainingMs, 0, wasmtime.KindI64, func(c *call, inv *engine.Invocation) int64 {
		return inv.DeadlineRemainingMs()
	}},
	{abi.ImportIPAddress, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		ip, ok := inv.IPAddress()
		if !ok {
			return errno(abi.ENOTFOUND)
		}
		return int64(c.out(c.i32(0), c.i32(1), []byte(ip)))
	}},
	{abi.ImportGeolocation, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return int64(c.out(c.i32(0), c.i32(1), inv.Geolocation()))
	}},
	{abi.ImportHTTPSend, 8, wasmtime.KindI32, withOutbound(func(c *call, o *outbound.Session) int64 {
		return int64(o.Send(string(c.read(c.i32(0), c.i32(1))), string(c.read(c.i32(2), c.i32(3))), c.read(c.i32(4), c.i32(5)), c.read(c.i32(6), c.i32(7))))
	})},
	{abi.ImportHTTPResponseStatus, 1, wasmtime.KindI32, withOutbound(func(c *call, o *outbound.Session) int64 {
		return int64(o.Status(c.i32(0)))
	})},
	{abi.ImportHTTPResponseHeaderNames, 3, wasmtime.KindI32, withOutbound(func(c *call, o *outbound.Session) int64 {
		v, e := o.HeaderNames(c.i32(0), nil)
		if e != 0 {
			return errno(e)
		}
		return int64(c.out(c.i32(1), c.i32(2), v))
	})},
	{abi.ImportHTTPResponseHeader, 5, wasmtime.KindI32, withOutbound(func(c *call, o *outbound.Session) int64 {
		v, e := o.Header(c.i32(0), c.read(c.i32(1), c.i32(2)), nil)
		if e != 0 {
			return errno(e)
		}
		return int64(c.out(c.i32(3), c.i32(4), v))
	})},
	{abi.ImportHTTPResponseBodyRead, 3, wasmtime.KindI32, withOutbound(func(c *call, o *outbound.Session) int64 {
		return int64(o.BodyRead(c.i32(0), c.read(c.i32(1), c.i32(2))))
	})},
	{abi.ImportHTTPClose, 1, wasmtime.KindI32, withOutbound(func(c *call, o *outbound.Session) int64 {
		return errno(o.CloseHandle(c.i32(0)))
	})},
	{abi.ImportHTTPWait, 2, wasmtime.KindI32, withOutbound(func(c *call, o *outbound.Session) int64 {
		return int64(o.Wait(c.i32(0), engine.WaitTimeout(c.i64(1))))
	})},
	{abi.ImportCacheGet, 4, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		v, e := inv.CacheGet(c.read(c.i32(0), c.i32(1)))
		if e != 0 {
			return errno(e)
		}
		return int64(c.out(c.i32(2), c.i32(3), v))
	}},
	{abi.ImportCacheSet, 9, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.CacheSet(c.read(c.i32(0), c.i32(1)), c.read(c.i32(2), c.i32(3)), c.i64(4), c.read(c.i32(5), c.i32(6)), c.read(c.i32(7), c.i32(8))))
	}},
	{abi.ImportCacheDelete, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.CacheDelete(c.read(c.i32(0), c.i32(1))))
	}},
	{abi.ImportCacheExpireTag, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.CacheExpireTag(c.read(c.i32(0), c.i32(1))))
	}},
	{abi.ImportCDNAddCacheTag, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.CDNAddCacheTag(c.read(c.i32(0), c.i32(1))))
	}},
	{abi.ImportCDNInvalidateByTag, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.CDNInvalidateByTag(c.read(c.i32(0), c.i32(1))))
	}},
	{abi.ImportCDNDeleteByTag, 3, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.CDNDeleteByTag(c.read(c.i32(0), c.i32(1)), c.i64(2)))
	}},
	{abi.ImportCDNInvalidateBySrcImage, 2, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.CDNInvalidateBySrcImage(c.read(c.i32(0), c.i32(1))))
	}},
	{abi.ImportCDNDeleteBySrcImage, 3, wasmtime.KindI32, func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.CDNDeleteBySrcImage(c.read(c.i32(0), c.i32(1)), c.i64(2)))
	}},
}

func headerOp(op engine.HeaderOp) func(c *call, inv *engine.Invocation) int64 {
	return func(c *call, inv *engine.Invocation) int64 {
		return errno(inv.SetHeader(op, c.read(c.i32(0), c.i32(1)), c.read(c.i32(2), c.i32(3))))
	}
}

func withOutbound(f func(c *call, o *outbound.Session) int64) func(c *call, inv *engine.Invocation) int64 {
	return func(c *call, inv *engine.Invocation) int64 {
		o := inv.Outbound()
		if o == nil {
			return errno(abi.EIO)
		}
		return f(c, o)
	}
}

func (e *Engine) defineHostFuncs() (map[string]engine.Sig, error) {
	provided := map[string]engine.Sig{}
	i32 := wasmtime.NewValType(wasmtime.KindI32)
	for _, hf := range hostFuncs {
		params := make([]*wasmtime.ValType, hf.params)
		sig := engine.Sig{Params: make([]string, hf.params), Results: []string{"i32"}}
		for i := range params {
			params[i] = i32
			sig.Params[i] = "i32"
			if at, ok := i64Param[hf.name]; ok && i == at {
				params[i] = wasmtime.NewValType(wasmtime.KindI64)
				sig.Params[i] = "i64"
			}
		}
		if hf.result == wasmtime.KindI64 {
			sig.Results = []string{"i64"}
		}
		provided[abi.Module+"\x00"+hf.name] = sig
		err := e.linker.FuncNew(abi.Module, hf.name, wasmtime.NewFuncType(params, []*wasmtime.ValType{wasmtime.NewValType(hf.result)}), func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			data := caller.Data().(*storeData)
			c := &call{caller: caller, args: args, data: data, name: hf.name}
			r := errno(abi.EBADHANDLE)
			if data.inv != nil {
				r = hf.fn(c, data.inv)
			}
			if c.bad {
				return nil, wasmtime.NewTrap(data.badPtr.Error())
			}
			if hf.result == wasmtime.KindI64 {
				return []wasmtime.Val{wasmtime.ValI64(r)}, nil
			}
			return []wasmtime.Val{wasmtime.ValI32(int32(r))}, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := e.defineWASIOverrides(); err != nil {
		return nil, err
	}
	return provided, nil
}

const (
	wasiESuccess = 0
	wasiEBADF    = 8
	wasiEFAULT   = 21
	wasiEINVAL   = 28
)

func ret(v int32) []wasmtime.Val { return []wasmtime.Val{wasmtime.ValI32(v)} }

// defineWASIOverrides replaces WASI's fd_write (stdout and stderr go to the
// instance's writers, into the invocation's log lines) and poll_oneoff (a
// sleep that the deadline or an abort ends; Wasmtime's own sleeps in
// native code, where the interrupt checks do not reach).
func (e *Engine) defineWASIOverrides() error {
	i32 := wasmtime.NewValType(wasmtime.KindI32)
	four := []*wasmtime.ValType{i32, i32, i32, i32}
	one := []*wasmtime.ValType{i32}
	err := e.linker.FuncNew("wasi_snapshot_preview1", "fd_write", wasmtime.NewFuncType(four, one), func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
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
				var trap *wasmtime.Trap
				if errors.As(err, &trap) {
					return nil, trap
				}
				return nil, wasmtime.NewTrap(err.Error())
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
	if err != nil {
		return err
	}
	return e.linker.FuncNew("wasi_snapshot_preview1", "poll_oneoff", wasmtime.NewFuncType(four, one), func(caller *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
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
