;; Computes fib(90) by naive recursion: no loop, never deeper than 90
;; calls, and about 2^62 of them, so only the deadline stops it. Only the
;; checks at function entries can.
(module
  (memory (export "memory") 1)
  (func $fib (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (local.get $n))
      (else (i64.add
        (call $fib (i64.sub (local.get $n) (i64.const 1)))
        (call $fib (i64.sub (local.get $n) (i64.const 2)))))))
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle") (drop (call $fib (i64.const 90)))))
