package wfn

import "io"

// Stdout and Stderr are the log of the calling goroutine's invocation:
// each line written to them is one line of the host's log, with the
// function and the request id, at level info (Stdout) and warn (Stderr),
// as a line on standard output and standard error is in ABI version 1
// (abi/SPEC.md section 7). Under version 2 (build tag wfn_fluid) many
// invocations share standard output, whose lines the host tells apart
// only while one invocation is in flight (abi/SPEC-v2.md section 10):
// there the lines go through the log
// import, and a line written outside an invocation goes to standard
// error. Under version 1 they are os.Stdout and os.Stderr.
//
//	fmt.Fprintf(wfn.Stdout, "charged %s\n", id)
var Stdout, Stderr io.Writer = stdout, stderr
