//go:build wasip1

package catchall

// wfnHandle is the catch-all handler export. Under ABI version 2 (build
// tag wfn_fluid) the host calls it once per instance, before serving, and
// Serve registers the handler then (wfn.Serve).
//
//go:wasmexport wfn_handle
func wfnHandle() { Serve() }
