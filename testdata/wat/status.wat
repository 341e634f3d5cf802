;; Sets an informational status (150) as its final one and returns.
(module
  (import "wfn" "response_set_status" (func $status (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle") (drop (call $status (i32.const 150)))))
