//go:build !wasip1

package wfn

import "github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"

// Outside WebAssembly there are no exports: a host such as wfntest calls
// these instead.
func init() {
	hostcall.Exports.RunTask = runTask
	hostcall.Exports.OnSigterm = onSigterm
	hostcall.Exports.OnSuspend = onSuspend
	hostcall.Exports.Discard = discard
}
