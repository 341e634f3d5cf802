;; Has the marker but no handler export.
(module
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (import "wfn" "response_header_set" (func $hset (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Hello from wfn!")
  (data (i32.const 64) "content-type")
  (data (i32.const 96) "text/plain; charset=utf-8")
  (func (export "wfn_abi_v1")))
