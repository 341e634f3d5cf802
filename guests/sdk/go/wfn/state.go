//go:build !wfn_fluid

package wfn

import (
	"context"

	"github.com/wfn-dev/wfn/abi"
)

// ABI version 1 serves one invocation at a time per instance, so its state
// is one package variable, reused.
var one invState

// cur returns the state of the current invocation.
func cur() *invState { return &one }

// startTask is never called in ABI version 1 (hostcall.Concurrent is
// false): tasks run after the response, through wfn_run_task.
func startTask(*lifeState, func(ctx context.Context)) error { return abi.EBADHANDLE }

func handlerReturnedV2() {}

// register reports false: in ABI version 1 the host calls a handler
// export for each invocation, and Serve serves it.
func register(Handler) bool { return false }

// serveHandler runs h; in ABI version 1 a panic is not recovered (doc.go).
func serveHandler(h Handler, w *ResponseWriter, r *Request) { h.ServeWFN(w, r) }
