;; Asks for 64 MiB more memory and answers "grown" or "refused".
(module
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "grown")
  (data (i32.const 32) "refused")
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (if (i32.eq (memory.grow (i32.const 1024)) (i32.const -1))
      (then (drop (call $write (i32.const 32) (i32.const 7))))
      (else (drop (call $write (i32.const 16) (i32.const 5)))))))
