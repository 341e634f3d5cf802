package abi

import (
	"strconv"
	"strings"
)

// Type is a WebAssembly number type of a host import's parameter or
// result. Its value is the type's byte in the binary format (WebAssembly
// Core Specification, section 5.3.1).
type Type byte

// The number types of ABI v1: pointers, lengths, handles and error codes
// are i32 (pointers and lengths read as unsigned); times are i64.
const (
	I32 Type = 0x7f
	I64 Type = 0x7e
)

// String returns the type's name in the text format: "i32" or "i64".
func (t Type) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	}
	return "Type(0x" + strconv.FormatUint(uint64(t), 16) + ")"
}

// Value is a named, typed parameter or result of a host import. A result
// may have no name (SPEC.md writes "-> i32").
type Value struct {
	Name string
	Type Type
}

// Func is the declaration of one host import of module [Module]: its name,
// its parameters in order and its one result. The normative meaning of
// each is in SPEC.md, whose import tables state the same signatures (a
// test compares them).
type Func struct {
	Name   string
	Params []Value
	Result Value
}

// ParamTypes returns the types of f's parameters, in order.
func (f Func) ParamTypes() []Type {
	ts := make([]Type, len(f.Params))
	for i, p := range f.Params {
		ts[i] = p.Type
	}
	return ts
}

// ParamNames returns the names of f's parameters, in order.
func (f Func) ParamNames() []string {
	ns := make([]string, len(f.Params))
	for i, p := range f.Params {
		ns[i] = p.Name
	}
	return ns
}

// Signature returns f's signature as SPEC.md writes it: parameter names,
// each followed by its type when that is not i32, and the result's name
// (or its type when it has none), as in "(h, timeout_ms i64) -> i32".
func (f Func) Signature() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, p := range f.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name)
		if p.Type != I32 {
			b.WriteString(" " + p.Type.String())
		}
	}
	b.WriteString(") -> ")
	if f.Result.Name != "" {
		b.WriteString(f.Result.Name)
	} else {
		b.WriteString(f.Result.Type.String())
	}
	return b.String()
}

// i32 and i64 name a parameter or a result.
func i32(name string) Value { return Value{name, I32} }
func i64(name string) Value { return Value{name, I64} }

// params names i32 parameters.
func params(names ...string) []Value {
	vs := make([]Value, len(names))
	for i, n := range names {
		vs[i] = i32(n)
	}
	return vs
}

// Funcs declares every host import this version serves, in spec order
// (SPEC.md sections 4 to 6). It is the one source of the ABI's signatures:
// the engines register these, the host's load check compares a guest's
// imports with them, and tests compare SPEC.md and every SDK's copy (the Go
// SDK's //go:wasmimport declarations, wfn.h, wfntest) with them.
var Funcs = []Func{
	// Request (section 4).
	{ImportRequestMethod, params("buf", "cap"), i32("len")},
	{ImportRequestURL, params("buf", "cap"), i32("len")},
	{ImportRequestHeaderNames, params("buf", "cap"), i32("len")},
	{ImportRequestHeader, params("name", "name_len", "buf", "cap"), i32("len")},
	{ImportRequestParam, params("name", "name_len", "buf", "cap"), i32("len")},
	{ImportRequestBodyRead, params("buf", "cap"), i32("n")},

	// Response (section 5).
	{ImportResponseSetStatus, params("code"), i32("err")},
	{ImportResponseHeaderSet, params("name", "nlen", "value", "vlen"), i32("err")},
	{ImportResponseHeaderAdd, params("name", "nlen", "value", "vlen"), i32("err")},
	{ImportResponseHeaderDelete, params("name", "nlen"), i32("err")},
	{ImportResponseBodyWrite, params("buf", "len"), i32("n")},
	{ImportResponseFlush, nil, i32("err")},
	{ImportResponseClose, nil, i32("err")},

	// Lifetime (section 5a).
	{ImportAbortSignaled, nil, Value{Type: I32}},
	{ImportWaitUntil, params("task"), i32("err")},
	{ImportDeadlineRemainingMs, nil, Value{Type: I64}},

	// Request context and outbound HTTP (section 5b).
	{ImportIPAddress, params("buf", "cap"), i32("len")},
	{ImportGeolocation, params("buf", "cap"), i32("len")},
	{ImportHTTPSend, params("method", "mlen", "url", "ulen", "headers", "hlen", "body", "blen"), i32("handle")},
	{ImportHTTPResponseStatus, params("h"), Value{Type: I32}},
	{ImportHTTPResponseHeaderNames, params("h", "buf", "cap"), i32("len")},
	{ImportHTTPResponseHeader, params("h", "name", "nlen", "buf", "cap"), i32("len")},
	{ImportHTTPResponseBodyRead, params("h", "buf", "cap"), i32("n")},
	{ImportHTTPClose, params("h"), i32("err")},
	{ImportHTTPWait, []Value{i32("h"), i64("timeout_ms")}, Value{Type: I32}},

	// Outbound TCP (section 5c).
	{ImportTCPConnect, []Value{i32("addr"), i32("alen"), i32("flags"), i64("timeout_ms")}, i32("handle")},
	{ImportTCPRead, []Value{i32("h"), i32("buf"), i32("cap"), i64("timeout_ms")}, i32("n")},
	{ImportTCPWrite, []Value{i32("h"), i32("buf"), i32("len"), i64("timeout_ms")}, i32("n")},
	{ImportTCPCloseWrite, params("h"), i32("err")},
	{ImportTCPClose, params("h"), i32("err")},
	{ImportTCPRemoteAddress, params("h", "buf", "cap"), i32("len")},

	// Caches (section 6).
	{ImportCacheGet, params("key", "klen", "buf", "cap"), i32("len")},
	{ImportCacheSet, []Value{i32("key"), i32("klen"), i32("val"), i32("vlen"), i64("ttl_s"), i32("tags"), i32("tlen"), i32("name"), i32("nlen")}, i32("err")},
	{ImportCacheDelete, params("key", "klen"), i32("err")},
	{ImportCacheExpireTag, params("tags", "tlen"), i32("err")},
	{ImportCDNAddCacheTag, params("tags", "tlen"), i32("err")},
	{ImportCDNInvalidateByTag, params("tags", "tlen"), i32("err")},
	{ImportCDNDeleteByTag, []Value{i32("tags"), i32("tlen"), i64("revalidation_deadline_s")}, i32("err")},
	{ImportCDNInvalidateBySrcImage, params("src", "slen"), i32("err")},
	{ImportCDNDeleteBySrcImage, []Value{i32("src"), i32("slen"), i64("revalidation_deadline_s")}, i32("err")},
}

// Imports lists the names of [Funcs], in spec order. A module that imports
// a name of module [Module] not in this list fails to load with an error
// naming it.
var Imports = funcNames()

func funcNames() []string {
	names := make([]string, len(Funcs))
	for i, f := range Funcs {
		names[i] = f.Name
	}
	return names
}

// Lookup returns the declaration of the import named name, and false when
// this version has none.
func Lookup(name string) (Func, bool) {
	for _, f := range Funcs {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}

// Limits the host and every copy of its semantics (the Go SDK's wfntest)
// share. Each is named in SPEC.md where an import returns ETOOLARGE (or
// stops) past it.
const (
	// MaxRequestBody is the most request body bytes a guest can read
	// (4.5 MB, Vercel's limit); request_body_read returns ETOOLARGE past
	// it (section 4).
	MaxRequestBody = 4_500_000
	// MaxBufferedResponse is the most body bytes a response holds before
	// its first flush (4.5 MB, Vercel's limit); response_body_write returns
	// ETOOLARGE past it (section 5).
	MaxBufferedResponse = 4_500_000
	// MaxResponseHeader is the most bytes a response's header fields may
	// take, names and values counted (32 KiB); response_header_set and
	// response_header_add return ETOOLARGE past it and the invocation is
	// answered 500 (section 5). Vercel documents no response limit; this
	// is its request headers' (VERCEL.md section 3.4), and it keeps a
	// guest from filling the host's memory with header values.
	MaxResponseHeader = 32 << 10
	// MaxTasks is the most tasks one invocation can register with
	// wait_until (section 5a).
	MaxTasks = 1024
	// MaxOutbound is the most outbound requests one invocation may have
	// in flight; http_send returns ETOOLARGE past it (section 5b).
	MaxOutbound = 16
	// MaxOutboundBodies bounds the request bodies of one invocation's
	// open outbound handles together, in bytes (64 MiB, section 5b).
	MaxOutboundBodies = 64 << 20
	// MaxOutboundResponseHead is the most bytes of an outbound
	// response's head; a longer one is EIO (section 5b).
	MaxOutboundResponseHead = 64 << 10
	// MaxRedirects is the most redirects followed for one outbound
	// request, each checked against the outbound policy (section 5b).
	MaxRedirects = 10
	// MaxTCPConns is the most TCP connections one instance holds, its own
	// and its invocation's together; tcp_connect returns ETOOLARGE past it
	// (section 5c).
	MaxTCPConns = 64
	// MaxCacheValue is the most bytes of one Runtime Cache value (2 MB,
	// section 6).
	MaxCacheValue = 2 * 1024 * 1024
	// MaxCacheTags is the most tags of one cache entry or response
	// (section 6).
	MaxCacheTags = 128
	// MaxCacheTagSize is the most bytes of one tag (section 6).
	MaxCacheTagSize = 256
)
