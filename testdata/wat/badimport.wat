;; Imports a function the host does not provide.
(module
  (import "wfn" "no_such_import" (func $x (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle") (drop (call $x (i32.const 0)))))
