;; Sends its head at once, then reads the request body to its end, then
;; answers "done": the instance is held for as long as the client keeps
;; the body open.
(module
  (import "wfn" "response_flush" (func $flush (result i32)))
  (import "wfn" "request_body_read" (func $read (param i32 i32) (result i32)))
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "done")
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (drop (call $flush))
    (block $end
      (loop $more
        (br_if $end (i32.le_s (call $read (i32.const 1024) (i32.const 1024)) (i32.const 0)))
        (br $more)))
    (drop (call $write (i32.const 16) (i32.const 4)))))
