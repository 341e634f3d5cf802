;; Flushes, then writes 64 KiB at a time until a write fails: a streamed
;; response with no end, for a client that does not read it.
(module
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (import "wfn" "response_flush" (func $flush (result i32)))
  (memory (export "memory") 2)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (drop (call $flush))
    (loop $l
      (br_if $l (i32.ge_s (call $write (i32.const 0) (i32.const 65536)) (i32.const 0))))))
