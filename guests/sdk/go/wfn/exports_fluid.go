//go:build wasip1 && wfn_fluid

package wfn

import "github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"

// Under ABI version 2 (build tag wfn_fluid) SIGTERM is an event: the SDK's
// runtime runs OnSigterm's functions when the host posts it. There is no
// wfn_run_task (tasks are goroutines) and no suspension: the pools attached
// with AttachDatabasePool release their idle connections when the instance
// goes instead, at EventSigterm (after OnSigterm's functions) and at
// EventStop (before wfn_serve returns). Each invocation is served by the
// handler its method's export registered.
func init() {
	hostcall.Exports.OnSigterm = onSigterm
	hostcall.Exports.OnSuspend = onSuspend
	hostcall.Exports.Handle = serveRegistered
}
