package conformance_test

import (
	"fmt"

	"github.com/wfn-dev/wfn/abi/conformance"
)

// The cases of the suite, with the sections of SPEC.md they cover. An
// SDK's conformance guest answers each at /api/<name>; a Go test runs
// them with conformance.Run(t, hosttarget.Target{}, "guest.wasm"), and
// the wfn command with wfn conformance guest.wasm.
func Example() {
	for _, c := range conformance.Cases() {
		fmt.Printf("%-12s %s\n", c.Name, c.Spec)
	}
	// Output:
	// dispatch     3
	// empty        3
	// method       4
	// url          4
	// headers      4
	// params       4
	// buffer       1, 4
	// body         4
	// status       5
	// status-1xx   3, 5
	// headers-out  5
	// buffered     5
	// stream       5
	// close        5
	// abort        5a
	// deadline     5a, 8
	// wait-until   3, 5a
	// log          7
	// env          7
	// ip-address   5b
	// geolocation  5b
	// fetch        5b
	// fetch-denied 5b
	// clock        7
	// random       7
	// cache        6
	// cdn          6
	// fetch-wait   5b
	// tcp          5c
	// tcp-denied   5c
	// tcp-timeout  5c
	// fluid-concurrency 2, 4
	// fluid-abort  3, 4
	// fluid-deadline 4
	// fluid-trap   2, 4
}
