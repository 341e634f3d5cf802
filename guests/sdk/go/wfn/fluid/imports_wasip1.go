//go:build wasip1

package fluid

import "unsafe"

// The imports of module wfn_v2 (abi.FuncsV2), each taking the invocation
// id first. Pointers are i32 offsets into linear memory.

//go:wasmimport wfn_v2 invocation_end
func invocationEnd(inv uint32) int32

//go:wasmimport wfn_v2 log
//go:noescape
func logLine(inv uint32, level uint32, buf unsafe.Pointer, n uint32) int32

//go:wasmimport wfn_v2 request_method
//go:noescape
func requestMethod(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 request_url
//go:noescape
func requestURL(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 request_header_names
//go:noescape
func requestHeaderNames(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 request_header
//go:noescape
func requestHeader(inv uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 request_body_read
//go:noescape
func requestBodyRead(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 response_set_status
func responseSetStatus(inv uint32, code int32) int32

//go:wasmimport wfn_v2 response_header_add
//go:noescape
func responseHeaderAdd(inv uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32) int32

//go:wasmimport wfn_v2 response_body_write
//go:noescape
func responseBodyWrite(inv uint32, buf unsafe.Pointer, n uint32) int32

//go:wasmimport wfn_v2 response_flush
func responseFlush(inv uint32) int32

//go:wasmimport wfn_v2 response_close
func responseClose(inv uint32) int32

//go:wasmimport wfn_v2 http_send
//go:noescape
func httpSend(inv uint32, method unsafe.Pointer, methodLen uint32, url unsafe.Pointer, urlLen uint32, headers unsafe.Pointer, headersLen uint32, body unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport wfn_v2 http_response_status
func httpResponseStatus(inv uint32, h int32) int32

//go:wasmimport wfn_v2 http_response_header_names
//go:noescape
func httpResponseHeaderNames(inv uint32, h int32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 http_response_header
//go:noescape
func httpResponseHeader(inv uint32, h int32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 http_response_body_read
//go:noescape
func httpResponseBodyRead(inv uint32, h int32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 http_close
func httpClose(inv uint32, h int32) int32
