//go:build !(wasip1 && wfn_fluid)

package wfn

import "os"

// Under ABI version 1 an instance serves one invocation at a time, and the
// host gives the lines of standard output and error its request id.
var stdout, stderr = os.Stdout, os.Stderr
