;; Flushes its head, then spins, ignoring aborts.
(module
  (import "wfn" "response_flush" (func $flush (result i32)))
  (memory (export "memory") 1)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (drop (call $flush))
    (loop $l (br $l))))
