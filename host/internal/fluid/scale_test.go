package fluid_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/testkit"
)

// Invocations that wait (here 100 sleeping 1 s) leave their guest waiting
// in poll_oneoff, so they pack into one instance, burst or not. Requests
// that each compute 20 ms, from 4 clients at once, keep the guest
// running while it ends invocations: once it has for the pool's
// BusyAfter, a second instance is made and serves some of them
// (fluid.Pool, abi.CPUBusyMs).
func TestCPUBusyInstanceSpreadsWaitingOnesPack(t *testing.T) {
	srv, p := serveGuest(t, time.Minute)
	p.CPUInstances = 2 // whatever this machine's GOMAXPROCS
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=warm"); code != 200 || body != "hello warm" {
		t.Fatalf("warm-up: %d %q %v", code, body, err)
	}
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n+4)
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
	wg.Wait()
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code, body, err := testkit.Get(t.Context(), srv.URL+"/?compute=20"); code != 200 || body != "computed" {
					errs <- fmt.Errorf("compute: %d %q %v", code, body, err)
					return
				}
			}
		})
	}
	waitFor(t, func() bool { return p.Created() == 2 })
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
