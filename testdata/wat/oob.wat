;; Loads from beyond the end of its memory.
(module
  (memory (export "memory") 1)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle") (drop (i32.load (i32.const 0x7ffffff0)))))
