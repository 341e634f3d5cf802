;; Sends a 48 MiB body (byte i is i mod 251) with http_send to the URL given
;; in the request body after its first byte, the mode; waits for the
;; response head, and then ends as the mode says:
;;   q  returns at once, answering "sent"
;;   t  traps
;;   w  spins until the deadline stops it
;;   r  overwrites the body with "X" bytes, tells the backend so (a GET to
;;      the same URL), reads the response to its end and answers "ok"
;;   l  sends the same body a second time while the first is open; the
;;      second send's error code is the answer ("E3": ETOOLARGE)
;; An error code -N from an import is answered as the body "EN"; a memory
;; that cannot grow as "E9".
(module
  (import "wfn" "request_body_read" (func $read (param i32 i32) (result i32)))
  (import "wfn" "http_send" (func $send (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wfn" "http_response_status" (func $status (param i32) (result i32)))
  (import "wfn" "http_response_body_read" (func $bread (param i32 i32 i32) (result i32)))
  (import "wfn" "http_close" (func $close (param i32) (result i32)))
  (import "wfn" "response_body_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "POST")
  (data (i32.const 8) "GET")
  (data (i32.const 16) "E0")
  (data (i32.const 32) "sent")
  (data (i32.const 48) "ok")
  ;; The request body: the mode at 1024, the URL after it.
  (global $body i32 (i32.const 131072)) ;; page 2
  (global $len i32 (i32.const 50331648)) ;; 48 MiB: 768 pages
  (func $fail (param $e i32)
    (i32.store8 (i32.const 17) (i32.sub (i32.const 48) (local.get $e)))
    (drop (call $write (i32.const 16) (i32.const 2))))
  (func $post (param $ulen i32) (result i32)
    (call $send (i32.const 0) (i32.const 4) (i32.const 1025) (local.get $ulen)
      (i32.const 0) (i32.const 0) (global.get $body) (global.get $len)))
  (func (export "wfn_abi_v1"))
  (func (export "wfn_handle")
    (local $n i32) (local $len i32) (local $i i32) (local $h i32) (local $mode i32)
    (block $end (loop $more
      (local.set $n (call $read (i32.add (i32.const 1024) (local.get $len)) (i32.const 1024)))
      (br_if $end (i32.le_s (local.get $n) (i32.const 0)))
      (local.set $len (i32.add (local.get $len) (local.get $n)))
      (br $more)))
    (local.set $mode (i32.load8_u (i32.const 1024)))
    ;; 2 pages of our own, then the body.
    (if (i32.lt_u (memory.size) (i32.const 770))
      (then (if (i32.eq (memory.grow (i32.sub (i32.const 770) (memory.size))) (i32.const -1))
        (then (call $fail (i32.const -9)) (return)))))
    ;; One period of the pattern, then copies of what is there, doubling.
    (loop $fill
      (i32.store8 (i32.add (global.get $body) (local.get $i)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 251))))
    (loop $double
      (local.set $n (select (local.get $i) (i32.sub (global.get $len) (local.get $i))
        (i32.lt_u (local.get $i) (i32.sub (global.get $len) (local.get $i)))))
      (memory.copy (i32.add (global.get $body) (local.get $i)) (global.get $body) (local.get $n))
      (local.set $i (i32.add (local.get $i) (local.get $n)))
      (br_if $double (i32.lt_u (local.get $i) (global.get $len))))
    (local.set $h (call $post (i32.sub (local.get $len) (i32.const 1))))
    (if (i32.lt_s (local.get $h) (i32.const 0)) (then (call $fail (local.get $h)) (return)))
    ;; The backend answers its head once it is reading: the body is on its
    ;; way when the invocation ends.
    (local.set $n (call $status (local.get $h)))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (call $fail (local.get $n)) (return)))
    (if (i32.eq (local.get $mode) (i32.const 0x74)) (then unreachable)) ;; t
    (if (i32.eq (local.get $mode) (i32.const 0x77)) (then (loop $spin (br $spin)))) ;; w
    (if (i32.eq (local.get $mode) (i32.const 0x71)) ;; q
      (then (drop (call $write (i32.const 32) (i32.const 4))) (return)))
    (if (i32.eq (local.get $mode) (i32.const 0x6c)) ;; l
      (then
        (local.set $n (call $post (i32.sub (local.get $len) (i32.const 1))))
        (if (i32.ge_s (local.get $n) (i32.const 0))
          (then (drop (call $close (local.get $n))) (local.set $n (i32.const 0))))
        (drop (call $close (local.get $h)))
        (call $fail (local.get $n))
        (return)))
    ;; r
    (memory.fill (global.get $body) (i32.const 0x58) (global.get $len))
    (local.set $n (call $send (i32.const 8) (i32.const 3) (i32.const 1025) (i32.sub (local.get $len) (i32.const 1))
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (call $fail (local.get $n)) (return)))
    (block $done (loop $drain
      (local.set $n (call $bread (local.get $h) (i32.const 4096) (i32.const 4096)))
      (if (i32.lt_s (local.get $n) (i32.const 0)) (then (call $fail (local.get $n)) (return)))
      (br_if $done (i32.eqz (local.get $n)))
      (br $drain)))
    (drop (call $write (i32.const 48) (i32.const 2)))))
