;; Answers "scheduled" and registers two waitUntil tasks (7, then 8); each
;; task prints "task N" to stdout. Task 9, registered by task 8, traps when
;; the query holds "trap" (the guest reads request_url to find out).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wfn" "wait_until" (func $wait_until (param i32) (result i32)))
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (import "wfn" "request_url" (func $url (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "scheduled")
  (data (i32.const 32) "task 0\n")
  (global $trap (mut i32) (i32.const 0))
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (local $n i32) (local $i i32)
    ;; does the URL end in "trap"?
    (local.set $n (call $url (i32.const 1024) (i32.const 1024)))
    (global.set $trap (i32.eq (i32.load (i32.add (i32.const 1020) (local.get $n))) (i32.const 0x70617274)))
    (drop (call $wait_until (i32.const 7)))
    (drop (call $wait_until (i32.const 8)))
    (drop (call $write (i32.const 16) (i32.const 9))))
  (func (export "wfn_run_task") (param $task i32)
    (if (i32.eq (local.get $task) (i32.const 9)) (then unreachable))
    (if (i32.and (i32.eq (local.get $task) (i32.const 8)) (global.get $trap))
      (then (drop (call $wait_until (i32.const 9)))))
    ;; "task N\n" with N = '0' + task
    (i32.store8 (i32.const 37) (i32.add (i32.const 48) (local.get $task)))
    (i32.store (i32.const 0) (i32.const 32))
    (i32.store (i32.const 4) (i32.const 7))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
