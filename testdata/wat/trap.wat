;; Traps on every request (unreachable).
(module
  (memory (export "memory") 1)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle") unreachable))
