//go:build !wfn_fluid || wasip1

package wfntest

import "github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"

// run serves one invocation under ABI version 1 (and in WebAssembly,
// where hostcall.Install panics): the export runs on the
// calling goroutine with h installed, then the tasks it registered, one
// after another.
func run(h *host, export func()) {
	hostcall.Install(h)
	defer hostcall.Install(nil)
	defer hostcall.Exports.Discard() // before Install(nil): a watcher may be asking the host
	defer h.end()
	if exited := call(export); !exited {
		h.finish()
	}
	for {
		task, ok := h.nextTask()
		if !ok {
			break
		}
		if call(func() { hostcall.Exports.RunTask(task) }) {
			break
		}
	}
}

// post does nothing: version 1 has no events, the SDK asks abort_signaled.
func (h *host) post(reason int32) {}
