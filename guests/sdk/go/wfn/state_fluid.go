//go:build wfn_fluid

package wfn

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// Under ABI version 2 (build tag wfn_fluid) many invocations run at once,
// each on goroutines of its own: the state of each is kept with the
// invocation by package hostcall, found from the calling goroutine.

// cur returns the state of the calling goroutine's invocation. Outside an
// invocation it returns a fresh state, not live, which nothing keeps.
func cur() *invState {
	if s, ok := hostcall.State().(*invState); ok {
		return s
	}
	s := new(invState)
	hostcall.SetState(s)
	return s
}

// startTask runs f at once on a goroutine of its own, alongside the
// response, as Vercel's waitUntil does: the invocation ends when its
// handler and every task have returned, and a task that panics is logged
// and stops no other.
func startTask(life *lifeState, f func(ctx context.Context)) error {
	life.mu.Lock()
	if life.started >= abi.MaxTasks {
		life.mu.Unlock()
		return abi.ETOOLARGE
	}
	life.started++
	life.running++
	life.mu.Unlock()
	ctx := invocationCtx()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				hostcall.Log(2, fmt.Sprintf("wfn: a WaitUntil task panicked: %v\n%s", p, debug.Stack()))
			}
			life.mu.Lock()
			life.running--
			over := life.running == 0 && life.returned
			life.mu.Unlock()
			if over {
				end()
			}
		}()
		f(ctx)
	}()
	return nil
}

// handlerReturnedV2 completes the response when the handler returns (the
// client has it then), and ends the invocation when no task runs.
func handlerReturnedV2() {
	hostcall.ResponseClose()
	life := &cur().life
	life.mu.Lock()
	life.returned = true
	over := life.running == 0
	life.mu.Unlock()
	if over {
		end()
	}
}

// serveHandler runs h, recovering a panic: it fails only this invocation,
// as a panic fails a version 1 one (response_abort): the host answers
// 500 FUNCTION_INVOCATION_FAILED when the head was not sent yet, else it
// cuts the response, so that the client does not take a streamed
// response cut short for a whole one.
func serveHandler(h Handler, w *ResponseWriter, r *Request) {
	defer func() {
		if p := recover(); p != nil {
			hostcall.Log(2, fmt.Sprintf("wfn: panic in a handler: %v\n%s", p, debug.Stack()))
			hostcall.ProcExit(2)
		}
	}()
	h.ServeWFN(w, r)
}

// handlers are the handlers the handler exports registered, by export
// name ("GET", ..., "wfn_handle"). They are written by the registration
// calls, which the host makes before the serving call, and only read once
// invocations run.
var handlers = map[string]Handler{}

// register records h for the handler export the host is calling to
// register it (abi/SPEC-v2.md section 2), and reports whether it was such
// a call.
func register(h Handler) bool {
	name := hostcall.RegisteringExport()
	if name == "" {
		return false
	}
	handlers[name] = h
	return true
}

// serveRegistered serves an invocation with the handler registered for
// its method, as version 1's host picks the export (SPEC.md section 3):
// the method's, else wfn_handle's, else GET's for HEAD. The host answers
// 405 itself for a method with none of them.
func serveRegistered() {
	var buf [16]byte
	method := ""
	if n := hostcall.RequestMethod(buf[:]); n > 0 && int(n) <= len(buf) {
		method = string(buf[:n])
	}
	h := handlers[method]
	if h == nil {
		h = handlers["wfn_handle"]
	}
	if h == nil && method == http.MethodHead {
		h = handlers[http.MethodGet]
	}
	if h == nil {
		h = HandlerFunc(func(w *ResponseWriter, _ *Request) {
			w.SetStatus(500)
			w.SetHeader("Content-Type", "text/plain; charset=utf-8")
			w.WriteString("wfn: no handler registered for method " + method + ": under ABI version 2 a handler export (or catchall.Handle, wfnhttp.Handle) registers its handler by calling Serve when the host calls it before serving\n")
		})
	}
	Serve(h)
}
