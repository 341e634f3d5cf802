;; Hands the host an out-of-bounds pointer: the host traps it.
(module
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle") (drop (call $write (i32.const 0xfff0) (i32.const 100)))))
