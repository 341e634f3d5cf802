//go:build wasip1 && !wfn_fluid

package wfn

// wfnRunTask runs a task registered with WaitUntil. Every SDK module
// exports it, so that a module importing wait_until always has it; the
// task machinery is linked only when WaitUntil is used.
//
//go:wasmexport wfn_run_task
func wfnRunTask(task int32) {
	if runTaskHook != nil {
		runTaskHook(task)
	}
}

// wfnOnSigterm runs the functions registered with OnSigterm.
//
//go:wasmexport wfn_on_sigterm
func wfnOnSigterm() { onSigterm() }

// wfnOnSuspend releases the idle connections of the pools attached with
// AttachDatabasePool, before the host suspends the instance.
//
//go:wasmexport wfn_on_suspend
func wfnOnSuspend() { onSuspend() }
