//go:build wasip1 && !wfn_fluid

package catchall

// wfnHandle is the catch-all handler export.
//
//go:wasmexport wfn_handle
func wfnHandle() { Serve() }
