;; A cacheable response for the CDN cache tests: the CDN may keep it a
;; minute, tagged "t1", and its body counts this instance's invocations as
;; one digit ("1", "2", ...).
(module
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (import "wfn" "response_header_set" (func $hset (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "vercel-cdn-cache-control")
  (data (i32.const 48) "max-age=60")
  (data (i32.const 64) "vercel-cache-tag")
  (data (i32.const 80) "t1")
  (global $n (mut i32) (i32.const 0))
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (i32.store8 (i32.const 0) (i32.add (i32.const 48) (i32.rem_u (global.get $n) (i32.const 10))))
    (drop (call $hset (i32.const 16) (i32.const 24) (i32.const 48) (i32.const 10)))
    (drop (call $hset (i32.const 64) (i32.const 16) (i32.const 80) (i32.const 2)))
    (drop (call $write (i32.const 0) (i32.const 1)))))
