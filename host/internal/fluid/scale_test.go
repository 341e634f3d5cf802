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

// One invocation that computes without calling the host holds up the
// others on its instance (a guest's goroutines are not preempted): once it
// has for the pool's BusyAfter, its instance is CPU-busy, and a new
// invocation goes to a second instance and answers while the computation
// still runs.
func TestLongComputationSendsNewInvocationsElsewhere(t *testing.T) {
	srv, p := serveGuest(t, time.Minute)
	p.CPUInstances = 2 // whatever this machine's GOMAXPROCS
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=warm"); code != 200 || body != "hello warm" {
		t.Fatalf("warm-up: %d %q %v", code, body, err)
	}
	computed := make(chan error, 1)
	go func() {
		code, body, err := testkit.Get(t.Context(), srv.URL+"/?compute=10000")
		if err == nil && (code != 200 || body != "computed") {
			err = fmt.Errorf("%d %q", code, body)
		}
		computed <- err
	}()
	waitFor(t, func() bool { return p.CPUBusy() == 1 })
	code, body, err := testkit.Get(t.Context(), srv.URL+"/?ms=1&n=beside")
	if code != 200 || body != "hello beside" {
		t.Fatalf("beside the computation: %d %q %v", code, body, err)
	}
	var computeErr error
	select {
	case computeErr = <-computed:
		t.Errorf("the computation ended before the invocation that came after it: that one waited for it")
	default:
		computeErr = <-computed
	}
	if computeErr != nil {
		t.Errorf("compute: %v", computeErr)
	}
	if got := p.Created(); got != 2 {
		t.Errorf("%d instances made, want 2", got)
	}
}
