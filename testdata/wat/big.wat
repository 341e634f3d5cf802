;; Writes 80 x 64 KiB (5 MiB) without flushing: over the buffered limit.
(module
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (local $i i32)
    (loop $l
      (drop (call $write (i32.const 0) (i32.const 65536)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 80))))))
