;; A guest whose state after initialisation differs from its declared start,
;; for the snapshot tests: _initialize sets globals of every number type,
;; overwrites a data segment, grows memory and writes to the new page, and
;; says so on stdout; wfn_init marks that it ran too. Each wfn_handle counts
;; its calls in a global and in memory and answers with the whole state, 52
;; bytes, little-endian:
;;   0 i32 global   4 i64 global   12 f32 bits   16 f64 bits
;;   24 inits (1 per _initialize, +16 per wfn_init)   28 calls (global)
;;   32 calls (memory)   36 memory pages   40 bytes 0..5   48 i32 at 131172
(module
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $g32 (mut i32) (i32.const 1))
  (global $g64 (mut i64) (i64.const 2))
  (global $gf32 (mut f32) (f32.const 3))
  (global $gf64 (mut f64) (f64.const 4))
  (global $inits (mut i32) (i32.const 0))
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 0) "before")
  (data (i32.const 300) "init\n")
  (func (export "wfn_abi_v1"))
  (func (export "_initialize")
    (global.set $g32 (i32.const 0x12345678))
    (global.set $g64 (i64.const 0x1122334455667788))
    (global.set $gf32 (f32.const 1.5))
    (global.set $gf64 (f64.const 2.25))
    (global.set $inits (i32.add (global.get $inits) (i32.const 1)))
    ;; "before" becomes "after!"
    (i32.store (i32.const 0) (i32.const 0x65746661)) ;; "afte"
    (i32.store16 (i32.const 4) (i32.const 0x2172))   ;; "r!"
    (drop (memory.grow (i32.const 2)))
    (i32.store (i32.const 131172) (i32.const 0xCAFEBABE))
    ;; iovec at 320: "init\n"
    (i32.store (i32.const 320) (i32.const 300))
    (i32.store (i32.const 324) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 320) (i32.const 1) (i32.const 328))))
  (func (export "wfn_init")
    (global.set $inits (i32.add (global.get $inits) (i32.const 16))))
  (func (export "wfn_handle")
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store (i32.const 512) (i32.add (i32.load (i32.const 512)) (i32.const 1)))
    (i32.store (i32.const 1024) (global.get $g32))
    (i64.store (i32.const 1028) (global.get $g64))
    (f32.store (i32.const 1036) (global.get $gf32))
    (f64.store (i32.const 1040) (global.get $gf64))
    (i32.store (i32.const 1048) (global.get $inits))
    (i32.store (i32.const 1052) (global.get $calls))
    (i32.store (i32.const 1056) (i32.load (i32.const 512)))
    (i32.store (i32.const 1060) (memory.size))
    (i32.store (i32.const 1064) (i32.load (i32.const 0)))
    (i32.store16 (i32.const 1068) (i32.load16_u (i32.const 4)))
    (i32.store16 (i32.const 1070) (i32.const 0))
    (i32.store (i32.const 1072) (i32.load (i32.const 131172)))
    (drop (call $write (i32.const 1024) (i32.const 52)))))
