// Package hostcall holds the raw wfn host imports (module "wfn", ABI
// version 1) behind small Go functions that take slices and strings.
//
// On wasip1 each function is a thin wrapper over a //go:wasmimport
// declaration. On every other platform each function dispatches to the
// [Host] installed with [Install], so the SDK runs in plain Go tests; the
// wfntest package installs one.
//
// Results follow the ABI: a non-negative value is a success (a length, a
// count, or nothing), a negative one is an abi.Errno.
package hostcall

// Host implements the wfn imports in plain Go. Each method has the
// semantics of the import of the same name; buffers follow the ABI's
// buffer protocol (return the full length, write only when it fits).
type Host interface {
	RequestMethod(buf []byte) int32
	RequestURL(buf []byte) int32
	RequestHeaderNames(buf []byte) int32
	RequestHeader(name string, buf []byte) int32
	RequestParam(name string, buf []byte) int32
	RequestBodyRead(buf []byte) int32
	ResponseSetStatus(code int32) int32
	ResponseHeaderSet(name, value string) int32
	ResponseHeaderAdd(name, value string) int32
	ResponseHeaderDelete(name string) int32
	ResponseBodyWrite(p []byte) int32
	ResponseFlush() int32
	ResponseClose() int32
}
