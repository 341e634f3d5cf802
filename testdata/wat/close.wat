;; Writes "closed early", ends the response with response_close, then
;; spins: only the deadline stops it, long after the client has its answer.
(module
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (import "wfn" "response_close" (func $close (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "closed early")
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (drop (call $write (i32.const 16) (i32.const 12)))
    (drop (call $close))
    (loop $l (br $l))))
