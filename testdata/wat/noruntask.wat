;; Imports wait_until but does not export wfn_run_task: refused at load.
(module
  (import "wfn" "wait_until" (func $wait_until (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle") (drop (call $wait_until (i32.const 1)))))
