//go:build wasip1 && wfn_fluid

package wfn

import (
	"context"
	"fmt"
	"runtime/debug"

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
	ctx := invocationCtx()
	life.mu.Lock()
	life.running++
	life.mu.Unlock()
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
// with 500 when the head was not sent yet.
func serveHandler(h Handler, w *ResponseWriter, r *Request) {
	defer func() {
		if p := recover(); p != nil {
			hostcall.Log(2, fmt.Sprintf("wfn: panic in a handler: %v\n%s", p, debug.Stack()))
			if w.SetStatus(500) == nil {
				w.SetHeader("Content-Type", "text/plain; charset=utf-8")
				w.WriteString("Internal Server Error\n")
			}
		}
	}()
	h.ServeWFN(w, r)
}
