;; Answers the ip_address import's value, a newline, and the geolocation
;; import's JSON.
(module
  (import "wfn" "ip_address" (func $ip (param i32 i32) (result i32)))
  (import "wfn" "geolocation" (func $geo (param i32 i32) (result i32)))
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\n")
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (local $n i32)
    (local.set $n (call $ip (i32.const 1024) (i32.const 1024)))
    (if (i32.gt_s (local.get $n) (i32.const 0)) (then (drop (call $write (i32.const 1024) (local.get $n)))))
    (drop (call $write (i32.const 0) (i32.const 1)))
    (local.set $n (call $geo (i32.const 4096) (i32.const 4096)))
    (if (i32.gt_s (local.get $n) (i32.const 0)) (then (drop (call $write (i32.const 4096) (local.get $n)))))))
