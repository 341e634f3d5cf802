;; Reads the request body to its end (or an error), then answers "drained".
(module
  (import "wfn" "request_body_read" (func $read (param i32 i32) (result i32)))
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "drained")
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (block $end
      (loop $more
        (br_if $end (i32.le_s (call $read (i32.const 1024) (i32.const 32768)) (i32.const 0)))
        (br $more)))
    (drop (call $write (i32.const 16) (i32.const 7)))))
