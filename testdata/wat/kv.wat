;; Uses the Runtime Cache on every request, for the metrics tests: stores
;; "v" under "k" (60 s, no tags), reads it back and answers what it read,
;; and logs "kv ran" to stdout.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wfn" "cache_set" (func $set (param i32 i32 i32 i32 i64 i32 i32 i32 i32) (result i32)))
  (import "wfn" "cache_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "k")
  (data (i32.const 32) "v")
  (data (i32.const 48) "kv ran\n")
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (local $n i32)
    (drop (call $set (i32.const 16) (i32.const 1) (i32.const 32) (i32.const 1) (i64.const 60) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
    (local.set $n (call $get (i32.const 16) (i32.const 1) (i32.const 64) (i32.const 16)))
    (if (i32.gt_s (local.get $n) (i32.const 0))
      (then (drop (call $write (i32.const 64) (local.get $n)))))
    (i32.store (i32.const 0) (i32.const 48))
    (i32.store (i32.const 4) (i32.const 7))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
