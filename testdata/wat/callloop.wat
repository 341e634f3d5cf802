;; Spins forever in a loop that calls a function at every iteration: only
;; the deadline stops it.
(module
  (memory (export "memory") 1)
  (func $step (param $x i32) (result i32)
    (i32.add (i32.mul (local.get $x) (i32.const 31)) (i32.const 7)))
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (local $x i32)
    (loop $l
      (local.set $x (call $step (local.get $x)))
      (br $l))))
