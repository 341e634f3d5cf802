package fluid

import (
	"fmt"
	"log/slog"
	"maps"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// Func implements one version 2 import for the invocation named by its
// first argument. c.Args are the import's arguments, the invocation id
// first. An out-of-bounds (ptr, len) panics with a
// *hostcall.BadPointerError, which the engine turns into a trap.
type Func func(inv *Invocation, c hostcall.Call) int64

// Import is one row of [Table].
type Import struct {
	abi.Func
	Call Func
}

// Table holds the version 2 imports this host serves, in the order of
// abi.FuncsV2. The others of abi.FuncsV2 are not served yet: a guest that
// imports one fails to load, with the name in the error.
var Table = table()

func table() []Import {
	all := maps.Clone(funcs)
	maps.Copy(all, cacheFuncs)
	maps.Copy(all, tcpFuncs)
	var t []Import
	for _, f := range abi.FuncsV2 {
		if fn, ok := all[f.Name]; ok {
			t = append(t, Import{f, fn})
		}
	}
	if len(t) != len(all) {
		panic("fluid: an implemented import is not declared in abi.FuncsV2")
	}
	return t
}

// Dispatch runs one import call: it finds the invocation by the id in
// the first argument (EBADHANDLE when there is none: outside a serving
// call, an ended invocation, a wrong id) and runs f. The TCP imports take
// id 0 for the instance (abi/SPEC-v2.md section 8). registering_export,
// which names no invocation, it answers from l (Pool.Exports).
func Dispatch(l *Loop, f Func, c hostcall.Call) int64 {
	if l == nil {
		return int64(abi.EBADHANDLE)
	}
	l.enterHost()
	if c.Import == abi.ImportRegisteringExport {
		// The one import of the instance, not of an invocation.
		if l.registering == "" {
			return int64(abi.EBADHANDLE)
		}
		return put(c, 0, l.registering)
	}
	inv := l.lookup(uint32(c.Args[0]))
	if inv == nil && uint32(c.Args[0]) == 0 && instanceImports[c.Import] {
		inv = l.self
	}
	if inv == nil {
		return int64(abi.EBADHANDLE)
	}
	return f(inv, c)
}

// view returns the (ptr, len) pair at arguments i and i+1.
func view(c hostcall.Call, i int) []byte {
	ptr, n := uint32(c.Args[i]), uint32(c.Args[i+1])
	b, ok := c.Mem.Read(ptr, n)
	if !ok {
		panic(&hostcall.BadPointerError{Import: c.Import, Ptr: ptr, Len: n})
	}
	return b
}

// put applies the buffer protocol to the (buf, cap) pair at arguments i
// and i+1 (abi/SPEC.md section 1).
func put[T string | []byte](c hostcall.Call, i int, v T) int64 {
	dst := view(c, i)
	if len(v) <= len(dst) {
		copy(dst, v)
	}
	return int64(len(v))
}

func header(op hostcall.HeaderOp) Func {
	return func(inv *Invocation, c hostcall.Call) int64 {
		var value []byte
		if op != hostcall.HeaderDelete {
			value = view(c, 3)
		}
		return int64(inv.setHeader(op, view(c, 1), value))
	}
}

// withOutbound gives f the invocation's outbound HTTP session; without
// one (no request context) the import fails with EIO.
func withOutbound(f func(inv *Invocation, o *outbound.Session, c hostcall.Call) int64) Func {
	return func(inv *Invocation, c hostcall.Call) int64 {
		o := inv.req.Outbound()
		if o == nil {
			return int64(abi.EIO)
		}
		return f(inv, o, c)
	}
}

// awaiting is an outbound import on handle argument 1 that version 1
// would wait in: it runs f once the handle is ready, and returns EAGAIN
// (an EventReady follows) before.
func awaiting(f func(inv *Invocation, o *outbound.Session, h int32, c hostcall.Call) int64) Func {
	return withOutbound(func(inv *Invocation, o *outbound.Session, c hostcall.Call) int64 {
		h := int32(uint32(c.Args[1]))
		ready, e := o.ReadyContext(h)
		if e == 0 {
			e = inv.await(h, ready, o.Context())
		}
		if e != 0 {
			return int64(e)
		}
		return f(inv, o, h, c)
	})
}

// Logger receives the lines of the log import; the pool sets it.
type Logger func(level slog.Level, inv *Invocation, line string)

var funcs = map[string]Func{
	abi.ImportInvocationEnd: func(inv *Invocation, c hostcall.Call) int64 {
		inv.close()
		inv.ended.Store(true)
		inv.l.end(inv)
		inv.signal()
		inv.finish()
		return 0
	},
	abi.ImportLog: func(inv *Invocation, c hostcall.Call) int64 {
		level := slog.LevelInfo
		switch uint32(c.Args[1]) { // an i32: the high bits are not defined
		case abi.LogInfo:
		case abi.LogWarn:
			level = slog.LevelWarn
		case abi.LogError:
			level = slog.LevelError
		default:
			return int64(abi.EINVAL)
		}
		line := view(c, 2)
		if len(line) > 16<<10 {
			line = line[:16<<10]
		}
		if inv.pool != nil && inv.pool.Log != nil {
			inv.pool.Log(level, inv, string(line))
		}
		return 0
	},
	abi.ImportAbortSignaled: func(inv *Invocation, c hostcall.Call) int64 {
		if inv.aborted.Load() {
			return 1
		}
		return 0
	},
	abi.ImportDeadlineRemainingMs: func(inv *Invocation, c hostcall.Call) int64 { return inv.req.DeadlineRemainingMs() },
	// registering_export has no invocation: Dispatch answers it from the
	// loop, and this is never called.
	abi.ImportRegisteringExport: func(inv *Invocation, c hostcall.Call) int64 { return int64(abi.EBADHANDLE) },

	abi.ImportRequestMethod:      func(inv *Invocation, c hostcall.Call) int64 { return put(c, 1, inv.req.Method()) },
	abi.ImportRequestURL:         func(inv *Invocation, c hostcall.Call) int64 { return put(c, 1, inv.req.URL()) },
	abi.ImportRequestHeaderNames: func(inv *Invocation, c hostcall.Call) int64 { return put(c, 1, inv.req.HeaderNames()) },
	abi.ImportRequestHeader: func(inv *Invocation, c hostcall.Call) int64 {
		v, ok := inv.req.Header(view(c, 1))
		if !ok {
			return int64(abi.ENOTFOUND)
		}
		return put(c, 3, v)
	},
	abi.ImportRequestParam: func(inv *Invocation, c hostcall.Call) int64 {
		v, ok := inv.req.Param(view(c, 1))
		if !ok {
			return int64(abi.ENOTFOUND)
		}
		return put(c, 3, v)
	},
	abi.ImportRequestBodyRead: func(inv *Invocation, c hostcall.Call) int64 { return int64(inv.read(view(c, 1))) },
	abi.ImportIPAddress: func(inv *Invocation, c hostcall.Call) int64 {
		ip, ok := inv.req.IPAddress()
		if !ok {
			return int64(abi.ENOTFOUND)
		}
		return put(c, 1, ip)
	},
	abi.ImportGeolocation: func(inv *Invocation, c hostcall.Call) int64 { return put(c, 1, inv.req.Geolocation()) },

	abi.ImportHTTPSend: withOutbound(func(inv *Invocation, o *outbound.Session, c hostcall.Call) int64 {
		return int64(o.Send(string(view(c, 1)), string(view(c, 3)), view(c, 5), view(c, 7)))
	}),
	abi.ImportHTTPResponseStatus: awaiting(func(inv *Invocation, o *outbound.Session, h int32, c hostcall.Call) int64 {
		return int64(o.Status(h))
	}),
	abi.ImportHTTPResponseHeaderNames: awaiting(func(inv *Invocation, o *outbound.Session, h int32, c hostcall.Call) int64 {
		v, e := o.HeaderNames(h, nil)
		if e != 0 {
			return int64(e)
		}
		return put(c, 2, v)
	}),
	abi.ImportHTTPResponseHeader: awaiting(func(inv *Invocation, o *outbound.Session, h int32, c hostcall.Call) int64 {
		v, e := o.Header(h, view(c, 2), nil)
		if e != 0 {
			return int64(e)
		}
		return put(c, 4, v)
	}),
	abi.ImportHTTPResponseBodyRead: awaiting(func(inv *Invocation, o *outbound.Session, h int32, c hostcall.Call) int64 {
		return int64(o.BodyRead(h, view(c, 2)))
	}),
	abi.ImportHTTPClose: withOutbound(func(inv *Invocation, o *outbound.Session, c hostcall.Call) int64 {
		return int64(o.CloseHandle(int32(uint32(c.Args[1]))))
	}),

	abi.ImportResponseSetStatus:    func(inv *Invocation, c hostcall.Call) int64 { return int64(inv.setStatus(int32(uint32(c.Args[1])))) },
	abi.ImportResponseHeaderSet:    header(hostcall.HeaderSet),
	abi.ImportResponseHeaderAdd:    header(hostcall.HeaderAdd),
	abi.ImportResponseHeaderDelete: header(hostcall.HeaderDelete),
	abi.ImportResponseBodyWrite:    func(inv *Invocation, c hostcall.Call) int64 { return int64(inv.write(view(c, 1))) },
	abi.ImportResponseFlush:        func(inv *Invocation, c hostcall.Call) int64 { return int64(inv.flush()) },
	abi.ImportResponseClose:        func(inv *Invocation, c hostcall.Call) int64 { return int64(inv.close()) },
	abi.ImportResponseAbort:        func(inv *Invocation, c hostcall.Call) int64 { return int64(inv.abortResponse()) },
}

// String names an invocation in log lines and errors.
func (inv *Invocation) String() string { return fmt.Sprintf("invocation %d (%s)", inv.id, inv.req.ID) }

// RequestID is the invocation's request id (x-vercel-id).
func (inv *Invocation) RequestID() string { return inv.req.ID }
