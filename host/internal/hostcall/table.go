// Package hostcall is the meaning of every host import of the wfn ABI
// (abi/SPEC.md): [Invocation], the host side of one request to one guest,
// and [Table], one implementation per import of abi.Funcs, in that order,
// written against the small [Memory] interface rather than any engine.
//
// An engine registers the whole table in one loop, each function with the
// name, parameter names and types, and result type of its abi.Func; the
// engine only decodes the call (its arguments as uint64, the guest's
// memory) and encodes the result. Adding an import is one row in abi.Funcs
// and one function here; the engines need no change.
//
// A host function passes views of guest memory, which are valid only while
// the import call runs: once it returns, the guest may change the bytes,
// and once the invocation ends its instance's memory may be unmapped or
// given to another instance. Nothing may keep such a view, or hand it to
// a goroutine, connection or store that may, past the call (abi/SPEC.md,
// section 1).
package hostcall

import (
	"context"
	"fmt"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// Memory is the linear memory of the guest making an import call, for the
// duration of the call. Read returns the bytes [offset, offset+byteCount)
// as a view that writes go through, and false when the range is out of
// bounds. wazero's api.Memory implements it as it is.
type Memory interface {
	Read(offset, byteCount uint32) ([]byte, bool)
}

// Call is one import call as an engine hands it over: the guest's memory,
// the import's name (for the trap of a bad pointer) and the arguments,
// one per parameter of the import's abi.Func, each as the engine holds it:
// an i32 in the low 32 bits, an i64 whole (wazero's encoding).
type Call struct {
	Mem    Memory
	Import string
	Args   []uint64

	// Ctx is the context of the guest call the import is made in (the
	// invocation's deadline, or the bound of an out-of-band call), and
	// Conns the calling instance's TCP connections: the tcp_* imports
	// use them. An engine that has no Conns leaves it nil, and those
	// imports fail with EIO.
	Ctx   context.Context
	Conns *outbound.Conns
}

// Func implements one import for the invocation the calling guest serves.
// The result is the import's: an i32 result is within int32. A (ptr, len)
// out of the guest's memory panics with a *BadPointerError before anything
// is done, which the engine turns into a trap.
type Func func(inv *Invocation, c Call) int64

// Import is one row of the table: the import's declaration and its
// implementation.
type Import struct {
	abi.Func
	Call Func
	// Anywhere is true for an import that also works outside an
	// invocation (the tcp_* imports): Call then gets a nil *Invocation.
	Anywhere bool
}

// Table holds every import of abi.Funcs, in that order, with its
// implementation. An engine registers each; outside an invocation (in
// _initialize, wfn_init, wfn_on_suspend or wfn_on_sigterm) it returns
// abi.EBADHANDLE without calling it, unless the import is Anywhere.
var Table = table()

func table() []Import {
	t := make([]Import, len(abi.Funcs))
	for i, f := range abi.Funcs {
		fn, ok := funcs[f.Name]
		anywhere := false
		if !ok {
			fn, anywhere = anywhereFuncs[f.Name]
		}
		if !ok && !anywhere {
			panic("hostcall: no implementation of import " + f.Name)
		}
		t[i] = Import{f, fn, anywhere}
	}
	if len(funcs)+len(anywhereFuncs) != len(t) {
		for name := range funcs {
			if _, ok := abi.Lookup(name); !ok {
				panic("hostcall: " + name + " is implemented but not declared in abi.Funcs")
			}
		}
	}
	return t
}

// withConns gives f the calling instance's TCP connections and the scope
// of the call: the invocation's request id, or "" outside one.
func withConns(f func(cs *outbound.Conns, s outbound.Scope, c Call) int64) Func {
	return func(inv *Invocation, c Call) int64 {
		if c.Conns == nil || c.Ctx == nil {
			return errno(abi.EIO)
		}
		s := outbound.Scope{Ctx: c.Ctx}
		if inv != nil {
			s.ID = inv.ID
		}
		return f(c.Conns, s, c)
	}
}

// anywhereFuncs are the imports that also work outside an invocation,
// by name: outbound TCP (abi/SPEC.md section 5c), whose connections may
// belong to the instance.
var anywhereFuncs = map[string]Func{
	abi.ImportTCPConnect: withConns(func(cs *outbound.Conns, s outbound.Scope, c Call) int64 {
		return int64(cs.Connect(s, string(c.bytes(0)), c.i32(2), c.i64(3)))
	}),
	abi.ImportTCPRead: withConns(func(cs *outbound.Conns, s outbound.Scope, c Call) int64 {
		return int64(cs.Read(s, c.i32(0), c.bytes(1), c.i64(3)))
	}),
	abi.ImportTCPWrite: withConns(func(cs *outbound.Conns, s outbound.Scope, c Call) int64 {
		return int64(cs.Write(s, c.i32(0), c.bytes(1), c.i64(3)))
	}),
	abi.ImportTCPCloseWrite: withConns(func(cs *outbound.Conns, s outbound.Scope, c Call) int64 {
		return errno(cs.CloseWrite(c.i32(0)))
	}),
	abi.ImportTCPClose: withConns(func(cs *outbound.Conns, s outbound.Scope, c Call) int64 {
		return errno(cs.Close(c.i32(0)))
	}),
	abi.ImportTCPRemoteAddress: withConns(func(cs *outbound.Conns, s outbound.Scope, c Call) int64 {
		v, e := cs.RemoteAddress(c.i32(0))
		if e != 0 {
			c.bytes(1) // a bad pointer traps, whatever the handle
			return errno(e)
		}
		return put(c, 1, v)
	}),
}

// BadPointerError is the trap raised for an out-of-bounds (ptr, len).
type BadPointerError struct {
	Import   string
	Ptr, Len uint32
}

func (e *BadPointerError) Error() string {
	return fmt.Sprintf("wfn: %s: out-of-bounds memory access at %#x, length %d", e.Import, e.Ptr, e.Len)
}

// i32 and i64 decode argument i.
func (c Call) i32(i int) int32 { return int32(uint32(c.Args[i])) }
func (c Call) i64(i int) int64 { return int64(c.Args[i]) }

// bytes returns a view of the (ptr, len) pair at arguments i and i+1.
func (c Call) bytes(i int) []byte {
	ptr, n := uint32(c.Args[i]), uint32(c.Args[i+1])
	b, ok := c.Mem.Read(ptr, n)
	if !ok {
		panic(&BadPointerError{Import: c.Import, Ptr: ptr, Len: n})
	}
	return b
}

// put applies the buffer protocol to the (buf, cap) pair at arguments i and
// i+1: the whole range is checked, v is written only when it fits, and the
// result is v's full length.
func put[T string | []byte](c Call, i int, v T) int64 {
	dst := c.bytes(i)
	if len(v) <= len(dst) {
		copy(dst, v)
	}
	return int64(len(v))
}

// found is put for a value that may be missing (ENOTFOUND).
func found[T string | []byte](c Call, i int, v T, ok bool) int64 {
	if !ok {
		return int64(abi.ENOTFOUND)
	}
	return put(c, i, v)
}

// errno is the result of an import that returns 0 or an error code.
func errno(e abi.Errno) int64 { return int64(e) }

// putOr is put for a value or an error code.
func putOr(c Call, i int, v []byte, e abi.Errno) int64 {
	if e != 0 {
		return errno(e)
	}
	return put(c, i, v)
}

// withOutbound gives f the invocation's outbound HTTP session; without one
// the import fails with EIO.
func withOutbound(f func(o *outbound.Session, c Call) int64) Func {
	return func(inv *Invocation, c Call) int64 {
		o := inv.Outbound()
		if o == nil {
			return errno(abi.EIO)
		}
		return f(o, c)
	}
}

func headerOp(op HeaderOp) Func {
	return func(inv *Invocation, c Call) int64 {
		var value []byte
		if op != HeaderDelete {
			value = c.bytes(2)
		}
		return errno(inv.SetHeader(op, c.bytes(0), value))
	}
}

// funcs is the implementation of each import, by name; the arguments are
// those of its abi.Func, in order.
var funcs = map[string]Func{
	abi.ImportRequestMethod: func(inv *Invocation, c Call) int64 { return put(c, 0, inv.Method()) },
	abi.ImportRequestURL:    func(inv *Invocation, c Call) int64 { return put(c, 0, inv.URL()) },
	abi.ImportRequestHeaderNames: func(inv *Invocation, c Call) int64 {
		return put(c, 0, inv.HeaderNames())
	},
	abi.ImportRequestHeader: func(inv *Invocation, c Call) int64 {
		v, ok := inv.Header(c.bytes(0))
		return found(c, 2, v, ok)
	},
	abi.ImportRequestParam: func(inv *Invocation, c Call) int64 {
		v, ok := inv.Param(c.bytes(0))
		return found(c, 2, v, ok)
	},
	abi.ImportRequestBodyRead: func(inv *Invocation, c Call) int64 { return int64(inv.BodyRead(c.bytes(0))) },

	abi.ImportResponseSetStatus:    func(inv *Invocation, c Call) int64 { return errno(inv.SetStatus(c.i32(0))) },
	abi.ImportResponseHeaderSet:    headerOp(HeaderSet),
	abi.ImportResponseHeaderAdd:    headerOp(HeaderAdd),
	abi.ImportResponseHeaderDelete: headerOp(HeaderDelete),
	abi.ImportResponseBodyWrite:    func(inv *Invocation, c Call) int64 { return int64(inv.BodyWrite(c.bytes(0))) },
	abi.ImportResponseFlush:        func(inv *Invocation, c Call) int64 { return errno(inv.Flush()) },
	abi.ImportResponseClose:        func(inv *Invocation, c Call) int64 { return errno(inv.Close()) },

	abi.ImportAbortSignaled:       func(inv *Invocation, c Call) int64 { return int64(inv.AbortSignaled()) },
	abi.ImportWaitUntil:           func(inv *Invocation, c Call) int64 { return errno(inv.WaitUntil(c.i32(0))) },
	abi.ImportDeadlineRemainingMs: func(inv *Invocation, c Call) int64 { return inv.DeadlineRemainingMs() },

	abi.ImportIPAddress: func(inv *Invocation, c Call) int64 {
		ip, ok := inv.IPAddress()
		return found(c, 0, ip, ok)
	},
	abi.ImportGeolocation: func(inv *Invocation, c Call) int64 { return put(c, 0, inv.Geolocation()) },
	abi.ImportHTTPSend: withOutbound(func(o *outbound.Session, c Call) int64 {
		return int64(o.Send(string(c.bytes(0)), string(c.bytes(2)), c.bytes(4), c.bytes(6)))
	}),
	abi.ImportHTTPResponseStatus: withOutbound(func(o *outbound.Session, c Call) int64 {
		return int64(o.Status(c.i32(0)))
	}),
	abi.ImportHTTPResponseHeaderNames: withOutbound(func(o *outbound.Session, c Call) int64 {
		v, e := o.HeaderNames(c.i32(0), nil)
		return putOr(c, 1, v, e)
	}),
	abi.ImportHTTPResponseHeader: withOutbound(func(o *outbound.Session, c Call) int64 {
		v, e := o.Header(c.i32(0), c.bytes(1), nil)
		return putOr(c, 3, v, e)
	}),
	abi.ImportHTTPResponseBodyRead: withOutbound(func(o *outbound.Session, c Call) int64 {
		return int64(o.BodyRead(c.i32(0), c.bytes(1)))
	}),
	abi.ImportHTTPClose: withOutbound(func(o *outbound.Session, c Call) int64 {
		return errno(o.CloseHandle(c.i32(0)))
	}),
	abi.ImportHTTPWait: withOutbound(func(o *outbound.Session, c Call) int64 {
		return int64(o.Wait(c.i32(0), WaitTimeout(c.i64(1))))
	}),

	abi.ImportCacheGet: func(inv *Invocation, c Call) int64 {
		v, e := inv.CacheGet(c.bytes(0))
		return putOr(c, 2, v, e)
	},
	abi.ImportCacheSet: func(inv *Invocation, c Call) int64 {
		return errno(inv.CacheSet(c.bytes(0), c.bytes(2), c.i64(4), c.bytes(5), c.bytes(7)))
	},
	abi.ImportCacheDelete:        func(inv *Invocation, c Call) int64 { return errno(inv.CacheDelete(c.bytes(0))) },
	abi.ImportCacheExpireTag:     func(inv *Invocation, c Call) int64 { return errno(inv.CacheExpireTag(c.bytes(0))) },
	abi.ImportCDNAddCacheTag:     func(inv *Invocation, c Call) int64 { return errno(inv.CDNAddCacheTag(c.bytes(0))) },
	abi.ImportCDNInvalidateByTag: func(inv *Invocation, c Call) int64 { return errno(inv.CDNInvalidateByTag(c.bytes(0))) },
	abi.ImportCDNDeleteByTag: func(inv *Invocation, c Call) int64 {
		return errno(inv.CDNDeleteByTag(c.bytes(0), c.i64(2)))
	},
	abi.ImportCDNInvalidateBySrcImage: func(inv *Invocation, c Call) int64 {
		return errno(inv.CDNInvalidateBySrcImage(c.bytes(0)))
	},
	abi.ImportCDNDeleteBySrcImage: func(inv *Invocation, c Call) int64 {
		return errno(inv.CDNDeleteBySrcImage(c.bytes(0), c.i64(2)))
	},
}
