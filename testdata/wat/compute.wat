;; Compute-heavy: 20 million iterations of a loop with a call in it, then
;; writes the 4-byte result. For measuring what interruption checks cost.
(module
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $step (param $x i32) (result i32)
    (i32.add (i32.mul (local.get $x) (i32.const 31)) (i32.const 7)))
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (local $i i32) (local $x i32)
    (loop $l
      (local.set $x (call $step (local.get $x)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20000000))))
    (i32.store (i32.const 0) (local.get $x))
    (drop (call $write (i32.const 0) (i32.const 4)))))
