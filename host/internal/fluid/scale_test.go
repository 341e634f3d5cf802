package fluid_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/testkit"
)

// Invocations that wait (here 100 sleeping 1 s) leave their guest waiting
// in poll_oneoff, so they pack into one instance; one that computes keeps
// the guest running, and once it has run for the pool's BusyAfter the
// next request goes to a second instance and is answered while the
// computation still runs on the first (fluid.Pool, abi.CPUBusyMs).
func TestCPUBusyInstanceSpreadsWaitingOnesPack(t *testing.T) {
	srv, p := serveGuest(t, time.Minute)
	p.CPUInstances = 2 // whatever this machine's GOMAXPROCS
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=warm"); code != 200 || body != "hello warm" {
		t.Fatalf("warm-up: %d %q %v", code, body, err)
	}
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n+2)
	for i := range n {
		wg.Go(func() {
			code, body, err := testkit.Get(t.Context(), fmt.Sprintf("%s/?ms=1000&n=%d", srv.URL, i))
			if want := fmt.Sprintf("hello %d", i); code != 200 || body != want {
				errs <- fmt.Errorf("sleeper %d: %d %q %v, want 200 %q", i, code, body, err, want)
			}
		})
	}
	waitFor(t, func() bool { return p.Inflight() == n })
	if got := p.Created(); got != 1 {
		t.Errorf("%d waiting invocations: %d instances made, want 1", n, got)
	}
	computed := make(chan struct{})
	wg.Go(func() {
		defer close(computed)
		if code, body, err := testkit.Get(t.Context(), srv.URL+"/?compute=5000"); code != 200 || body != "computed" {
			errs <- fmt.Errorf("compute: %d %q %v", code, body, err)
		}
	})
	waitFor(t, func() bool { return p.CPUBusy() == 1 })
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=beside"); code != 200 || body != "hello beside" {
		t.Errorf("beside the computation: %d %q %v", code, body, err)
	}
	select {
	case <-computed:
		t.Error("the request beside the computation was answered after it: it waited on the CPU-busy instance")
	default:
	}
	if got := p.Created(); got != 2 {
		t.Errorf("beside a CPU-busy instance: %d instances made, want 2", got)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
