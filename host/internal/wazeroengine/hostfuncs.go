package wazeroengine

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// The wfn host functions, registered in spec order. Each only moves bytes
// between guest memory and the engine.Invocation; the meaning of every
// import lives there.

var (
	i32 = []api.ValueType{api.ValueTypeI32}
	i64 = []api.ValueType{api.ValueTypeI64}
)

type hostFunc struct {
	name    string
	params  []string // i32 but for i64Params
	results []api.ValueType
	fn      api.GoModuleFunc
}

var hostFuncs = []hostFunc{
	{abi.ImportRequestMethod, []string{"buf", "cap"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = writeString(m, abi.ImportRequestMethod, s[0], s[1], inv.Method())
	})},
	{abi.ImportRequestURL, []string{"buf", "cap"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = writeString(m, abi.ImportRequestURL, s[0], s[1], inv.URL())
	})},
	{abi.ImportRequestHeaderNames, []string{"buf", "cap"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = writeBytes(m, abi.ImportRequestHeaderNames, s[0], s[1], inv.HeaderNames())
	})},
	{abi.ImportRequestHeader, []string{"name", "name_len", "buf", "cap"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		v, ok := inv.Header(read(m, abi.ImportRequestHeader, s[0], s[1]))
		if !ok {
			s[0] = errno(abi.ENOTFOUND)
			return
		}
		s[0] = writeBytes(m, abi.ImportRequestHeader, s[2], s[3], v)
	})},
	{abi.ImportRequestParam, []string{"name", "name_len", "buf", "cap"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		v, ok := inv.Param(read(m, abi.ImportRequestParam, s[0], s[1]))
		if !ok {
			s[0] = errno(abi.ENOTFOUND)
			return
		}
		s[0] = writeString(m, abi.ImportRequestParam, s[2], s[3], v)
	})},
	{abi.ImportRequestBodyRead, []string{"buf", "cap"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = api.EncodeI32(inv.BodyRead(read(m, abi.ImportRequestBodyRead, s[0], s[1])))
	})},
	{abi.ImportResponseSetStatus, []string{"code"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.SetStatus(api.DecodeI32(s[0])))
	})},
	{abi.ImportResponseHeaderSet, []string{"name", "name_len", "value", "value_len"}, i32, headerFunc(abi.ImportResponseHeaderSet, engine.HeaderSet)},
	{abi.ImportResponseHeaderAdd, []string{"name", "name_len", "value", "value_len"}, i32, headerFunc(abi.ImportResponseHeaderAdd, engine.HeaderAdd)},
	{abi.ImportResponseHeaderDelete, []string{"name", "name_len"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.SetHeader(engine.HeaderDelete, read(m, abi.ImportResponseHeaderDelete, s[0], s[1]), nil))
	})},
	{abi.ImportResponseBodyWrite, []string{"buf", "len"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = api.EncodeI32(inv.BodyWrite(read(m, abi.ImportResponseBodyWrite, s[0], s[1])))
	})},
	{abi.ImportResponseFlush, nil, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.Flush())
	})},
	{abi.ImportResponseClose, nil, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.Close())
	})},
	{abi.ImportAbortSignaled, nil, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = api.EncodeI32(inv.AbortSignaled())
	})},
	{abi.ImportWaitUntil, []string{"task"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.WaitUntil(api.DecodeI32(s[0])))
	})},
	{abi.ImportDeadlineRemainingMs, nil, i64, func(ctx context.Context, m api.Module, s []uint64) {
		if inv := current(ctx); inv != nil {
			s[0] = api.EncodeI64(inv.DeadlineRemainingMs())
			return
		}
		s[0] = api.EncodeI64(int64(abi.EBADHANDLE))
	}},
	{abi.ImportIPAddress, []string{"buf", "cap"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		ip, ok := inv.IPAddress()
		if !ok {
			s[0] = errno(abi.ENOTFOUND)
			return
		}
		s[0] = writeString(m, abi.ImportIPAddress, s[0], s[1], ip)
	})},
	{abi.ImportGeolocation, []string{"buf", "cap"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = writeBytes(m, abi.ImportGeolocation, s[0], s[1], inv.Geolocation())
	})},
	{abi.ImportHTTPSend, []string{"method", "method_len", "url", "url_len", "headers", "headers_len", "body", "body_len"}, i32, withOutbound(func(o *outbound.Session, m api.Module, s []uint64) {
		const name = abi.ImportHTTPSend
		s[0] = api.EncodeI32(o.Send(
			string(read(m, name, s[0], s[1])), string(read(m, name, s[2], s[3])),
			read(m, name, s[4], s[5]), read(m, name, s[6], s[7])))
	})},
	{abi.ImportHTTPResponseStatus, []string{"handle"}, i32, withOutbound(func(o *outbound.Session, m api.Module, s []uint64) {
		s[0] = api.EncodeI32(o.Status(api.DecodeI32(s[0])))
	})},
	{abi.ImportHTTPResponseHeaderNames, []string{"handle", "buf", "cap"}, i32, withOutbound(func(o *outbound.Session, m api.Module, s []uint64) {
		v, e := o.HeaderNames(api.DecodeI32(s[0]), nil)
		if e != 0 {
			s[0] = errno(e)
			return
		}
		s[0] = writeBytes(m, abi.ImportHTTPResponseHeaderNames, s[1], s[2], v)
	})},
	{abi.ImportHTTPResponseHeader, []string{"handle", "name", "name_len", "buf", "cap"}, i32, withOutbound(func(o *outbound.Session, m api.Module, s []uint64) {
		v, e := o.Header(api.DecodeI32(s[0]), read(m, abi.ImportHTTPResponseHeader, s[1], s[2]), nil)
		if e != 0 {
			s[0] = errno(e)
			return
		}
		s[0] = writeBytes(m, abi.ImportHTTPResponseHeader, s[3], s[4], v)
	})},
	{abi.ImportHTTPResponseBodyRead, []string{"handle", "buf", "cap"}, i32, withOutbound(func(o *outbound.Session, m api.Module, s []uint64) {
		s[0] = api.EncodeI32(o.BodyRead(api.DecodeI32(s[0]), read(m, abi.ImportHTTPResponseBodyRead, s[1], s[2])))
	})},
	{abi.ImportHTTPClose, []string{"handle"}, i32, withOutbound(func(o *outbound.Session, m api.Module, s []uint64) {
		s[0] = errno(o.CloseHandle(api.DecodeI32(s[0])))
	})},
	{abi.ImportHTTPWait, []string{"handle", "timeout_ms"}, i32, withOutbound(func(o *outbound.Session, m api.Module, s []uint64) {
		s[0] = api.EncodeI32(o.Wait(api.DecodeI32(s[0]), engine.WaitTimeout(int64(s[1]))))
	})},
	{abi.ImportCacheGet, []string{"key", "key_len", "buf", "cap"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		v, e := inv.CacheGet(read(m, abi.ImportCacheGet, s[0], s[1]))
		if e != 0 {
			s[0] = errno(e)
			return
		}
		s[0] = writeBytes(m, abi.ImportCacheGet, s[2], s[3], v)
	})},
	{abi.ImportCacheSet, []string{"key", "key_len", "value", "value_len", "ttl_s", "tags", "tags_len", "name", "name_len"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		const name = abi.ImportCacheSet
		s[0] = errno(inv.CacheSet(read(m, name, s[0], s[1]), read(m, name, s[2], s[3]), int64(s[4]), read(m, name, s[5], s[6]), read(m, name, s[7], s[8])))
	})},
	{abi.ImportCacheDelete, []string{"key", "key_len"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.CacheDelete(read(m, abi.ImportCacheDelete, s[0], s[1])))
	})},
	{abi.ImportCacheExpireTag, []string{"tags", "tags_len"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.CacheExpireTag(read(m, abi.ImportCacheExpireTag, s[0], s[1])))
	})},
	{abi.ImportCDNAddCacheTag, []string{"tags", "tags_len"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.CDNAddCacheTag(read(m, abi.ImportCDNAddCacheTag, s[0], s[1])))
	})},
	{abi.ImportCDNInvalidateByTag, []string{"tags", "tags_len"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.CDNInvalidateByTag(read(m, abi.ImportCDNInvalidateByTag, s[0], s[1])))
	})},
	{abi.ImportCDNDeleteByTag, []string{"tags", "tags_len", "revalidation_deadline_s"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.CDNDeleteByTag(read(m, abi.ImportCDNDeleteByTag, s[0], s[1]), int64(s[2])))
	})},
	{abi.ImportCDNInvalidateBySrcImage, []string{"src", "src_len"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.CDNInvalidateBySrcImage(read(m, abi.ImportCDNInvalidateBySrcImage, s[0], s[1])))
	})},
	{abi.ImportCDNDeleteBySrcImage, []string{"src", "src_len", "revalidation_deadline_s"}, i32, bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.CDNDeleteBySrcImage(read(m, abi.ImportCDNDeleteBySrcImage, s[0], s[1]), int64(s[2])))
	})},
}

// i64Params are the parameters that are not i32.
var i64Params = map[string]bool{"ttl_s": true, "revalidation_deadline_s": true, "timeout_ms": true}

func headerFunc(name string, op engine.HeaderOp) api.GoModuleFunc {
	return bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		s[0] = errno(inv.SetHeader(op, read(m, name, s[0], s[1]), read(m, name, s[2], s[3])))
	})
}

// withOutbound gives f the invocation's outbound session.
func withOutbound(f func(o *outbound.Session, m api.Module, s []uint64)) api.GoModuleFunc {
	return bind(func(inv *engine.Invocation, m api.Module, s []uint64) {
		o := inv.Outbound()
		if o == nil {
			s[0] = errno(abi.EIO)
			return
		}
		f(o, m, s)
	})
}

// bind gives f the invocation the calling guest is serving. Outside a
// handler (during _initialize or wfn_init) there is none, and the import
// returns EBADHANDLE.
func bind(f func(inv *engine.Invocation, m api.Module, s []uint64)) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, s []uint64) {
		inv := current(ctx)
		if inv == nil {
			s[0] = errno(abi.EBADHANDLE)
			return
		}
		f(inv, m, s)
	}
}

func instantiateHostModule(ctx context.Context, rt wazero.Runtime) (api.Module, error) {
	b := rt.NewHostModuleBuilder(abi.Module)
	for _, f := range hostFuncs {
		params := make([]api.ValueType, len(f.params))
		for i, name := range f.params {
			params[i] = api.ValueTypeI32
			if i64Params[name] {
				params[i] = api.ValueTypeI64
			}
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(f.fn, params, f.results).
			WithParameterNames(f.params...).
			Export(f.name)
	}
	return b.Instantiate(ctx)
}

// current is the invocation the calling guest is serving, or nil.
func current(ctx context.Context) *engine.Invocation {
	inv, _ := ctx.Value(invocationKey{}).(*engine.Invocation)
	return inv
}

func errno(e abi.Errno) uint64 { return api.EncodeI32(int32(e)) }

// read returns a view of guest memory; an out-of-bounds range traps the
// guest. The view is valid only during the import call: the guest may
// change it once the call returns, and the instance's memory may then be
// released or reused by another instance. What is passed a view copies
// what it keeps (engine.Invocation, outbound.Session).
func read(m api.Module, name string, ptr, n uint64) []byte {
	b, ok := m.Memory().Read(uint32(ptr), uint32(n))
	if !ok {
		panic(&engine.BadPointerError{Import: name, Ptr: uint32(ptr), Len: uint32(n)})
	}
	return b
}

// writeBytes applies the buffer protocol: the value's full length is the
// result, and the bytes are written only when they fit in (buf, cap).
func writeBytes(m api.Module, name string, buf, cp uint64, v []byte) uint64 {
	dst := read(m, name, buf, cp)
	if len(v) <= len(dst) {
		copy(dst, v)
	}
	return api.EncodeI32(int32(len(v)))
}

func writeString(m api.Module, name string, buf, cp uint64, v string) uint64 {
	dst := read(m, name, buf, cp)
	if len(v) <= len(dst) {
		copy(dst, v)
	}
	return api.EncodeI32(int32(len(v)))
}
