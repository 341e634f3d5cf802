//go:build wasip1 && !wfn_fluid

package wfn

// abiV1 is the required marker that tells the host this module speaks ABI
// version 1.
//
//go:wasmexport wfn_abi_v1
func abiV1() {}
