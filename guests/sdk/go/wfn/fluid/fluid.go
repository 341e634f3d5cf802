// Package fluid serves a Go function under ABI version 2 (abi/SPEC-v2.md):
// many invocations at once in one instance, as Vercel's Fluid compute runs
// them. Each invocation runs its handler on a goroutine of its own, with
// its own *http.Request and http.ResponseWriter; a handler that sleeps or
// waits for I/O holds up no other. r.Context() is cancelled when the
// invocation is aborted (the client left with supportsCancellation, or the
// deadline passed), and a panic fails only its invocation.
//
//	func init() {
//		fluid.HandleFunc(func(w http.ResponseWriter, r *http.Request) {
//			time.Sleep(200 * time.Millisecond) // other invocations run meanwhile
//			fmt.Fprintln(w, "Hello")
//		})
//	}
//
//	func main() {}
//
// Importing the package makes the module a version 2 guest: it exports
// wfn_abi_v2 and wfn_serve. It cannot be combined with the version 1 SDK
// (package wfn's handlers) in one module.
package fluid

import "net/http"

var handler http.Handler = http.NotFoundHandler()

// Handle serves every invocation with h. Call it from init: a guest is a
// WASI reactor and main never runs.
func Handle(h http.Handler) { handler = h }

// HandleFunc serves every invocation with f.
func HandleFunc(f func(http.ResponseWriter, *http.Request)) { handler = http.HandlerFunc(f) }

// WaitUntil runs task alongside the response of the invocation r belongs
// to, as Vercel's waitUntil: it starts at once, on a goroutine of its
// own, the invocation ends when its handler and every task have
// returned, and a task that panics is logged and stops no other. Tasks
// run within the invocation's maxDuration; r.Context() stays live until
// they return but is cancelled when the invocation is aborted, so a
// cleanup task that must run after an abort uses
// context.WithoutCancel(r.Context()). It reports false, and runs
// nothing, when r is not a request of this runtime.
func WaitUntil(r *http.Request, task func()) bool { return waitUntil(r, task) }

// OnSigterm registers f to run, on a goroutine of its own, when the host
// shuts the instance down (EventSigterm); the instance has 500 ms then.
func OnSigterm(f func()) { onSigterm(f) }
