// Package wasmbin reads and rewrites WebAssembly modules (core
// specification, binary format) to make snapshot modules, the Wizer idea.
//
// The host instantiates a guest whose globals are exported by
// [ExportGlobals], runs its initialisation (_initialize, wfn_init), then
// reads its linear memory and the values of all its globals. [Restore]
// builds a new module from the original one whose globals start at the
// captured values, whose memory starts at the captured size, whose active
// data segments are empty and which has no start function. The host
// supplies the captured memory image itself when it instantiates the
// restored module, so later instances skip the initialisation.
//
// [Inspect] decides whether a module can be snapshotted this way: it needs
// exactly one defined, unshared 32-bit memory, globals holding numbers
// only, and no instruction that can change a table (tables are not part
// of the snapshot). The code section is decoded instruction by
// instruction; an instruction the decoder does not know makes the module
// not snapshottable, it never guesses.
//
// [LimitStack] rewrites a module to count the stack its calls use and trap
// past a budget, for engines that cannot bound it themselves (wazero).
// [Instrument] does that and, with [Checks].Interrupt, makes the guest call
// a host import every so many steps, which can stop it.
//
// The package has no dependencies beyond the standard library and never
// panics on any input: malformed modules are reported with [ErrMalformed].
package wasmbin
