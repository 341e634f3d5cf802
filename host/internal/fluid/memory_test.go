package fluid_test

import (
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/testkit"
)

// The pool reports its instances' linear memory as the engine's view of
// it (the hostcall.Memory of poll_oneoff) gives it, on wazero and on
// Wasmtime (WFN_TEST_ENGINE): whole pages, and 32 MiB more once the guest
// keeps 32 MiB more. Idle counts the instance without an invocation.
func TestPoolLinearMemoryFollowsTheGuest(t *testing.T) {
	srv, p := serveGuest(t, time.Minute)
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=warm"); code != 200 || body != "hello warm" {
		t.Fatalf("warm-up: %d %q %v", code, body, err)
	}
	waitFor(t, func() bool { return p.Inflight() == 0 && p.LinearMemory() > 0 })
	before := p.LinearMemory()
	if before%65536 != 0 {
		t.Errorf("linear memory %d bytes: not whole 64 KiB pages", before)
	}
	if got := p.Idle(); got != 1 {
		t.Errorf("%d idle instances, want 1", got)
	}
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?grow=32"); code != 200 || body != "grown" {
		t.Fatalf("grow: %d %q %v", code, body, err)
	}
	waitFor(t, func() bool { return p.LinearMemory() >= before+32<<20 })
}
