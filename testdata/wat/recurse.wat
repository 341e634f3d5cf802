;; Recurses without end: every request overflows the call stack. The call
;; is not in tail position, so no engine can turn it into a loop.
(module
  (memory (export "memory") 1)
  (func (export "wfn_abi_v1"))
  (func $down (param $n i64) (result i64)
    (i64.add (call $down (i64.add (local.get $n) (i64.const 1))) (local.get $n)))
  (func (export "wfn_handle") (drop (call $down (i64.const 0)))))
