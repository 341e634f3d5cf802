;; Spins forever: only the deadline stops it.
(module
  (memory (export "memory") 1)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle") (loop $l (br $l))))
