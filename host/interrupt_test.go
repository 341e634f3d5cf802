package host_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// spins are the guests that only their deadline stops: a tight loop, a
// loop that calls a function at every iteration, and recursion with no
// loop at all, which only the checks at function entries reach.
var spins = []string{"loop", "callloop", "fib"}

// TestDeadlineStopsEveryShapeOfSpin checks that the deadline stops a guest
// however it spins. How late it stops is measured by
// BenchmarkStopLatency.
func TestDeadlineStopsEveryShapeOfSpin(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, append(spins, "hello")...), MaxDuration: 200 * time.Millisecond})
	for _, name := range spins {
		t.Run(name, func(t *testing.T) {
			// Twice: the instance that was stopped is not reused broken.
			for range 2 {
				wantError(t, get(t, srv.URL+"/api/"+name), 504, host.CodeInvocationTimeout)
			}
		})
	}
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
		t.Errorf("hello after timeouts = %d", r.status)
	}
}

// BenchmarkStopLatency measures how late a spinning guest stops after its
// deadline (maxDuration 20 ms): the time from the deadline to the end of
// the response, as ms-late, median and worst of b.N requests.
//
//	WFN_TEST_ENGINE=wazero|wasmtime go test [-tags wasmtime] ./host -run '^$' -bench StopLatency -benchtime 20x
func BenchmarkStopLatency(b *testing.B) {
	const maxDuration = 20 * time.Millisecond
	h := quietHostConfig(b, host.Config{Dir: watDir(b, spins...), MaxDuration: maxDuration})
	for _, name := range spins {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/"+name, nil)
			var late []time.Duration
			for b.Loop() {
				w := newDiscardWriter()
				start := time.Now()
				h.ServeHTTP(w, req)
				late = append(late, time.Since(start)-maxDuration)
				if w.status != 504 {
					b.Fatalf("%s: status %d, want 504", name, w.status)
				}
			}
			slices.Sort(late)
			b.ReportMetric(float64(late[len(late)/2])/1e6, "ms-late-median")
			b.ReportMetric(float64(late[len(late)-1])/1e6, "ms-late-max")
		})
	}
}

// TestCollectorRunsWhileAGuestSpins checks that a guest spinning in a
// tight loop that never calls the host does not hold up the garbage
// collector: its stop-the-world waits for every goroutine to reach a safe
// point, and a goroutine running compiled guest code reaches one only when
// it calls into Go (the poll of wasmbin.Checks.Interrupt, on wazero). Were
// it held up, every goroutine of the process would wait with it, the
// guest's deadline timer included: collections and other requests would
// hang and the test with them. Both must go on while the guest spins, and
// the guest must still stop at its deadline.
func TestCollectorRunsWhileAGuestSpins(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "stubborn", "hello"), MaxDuration: 5 * time.Second})
	// The head comes once the guest has flushed it: from then on it spins.
	resp, err := http.Get(srv.URL + "/api/stubborn")
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Vercel-Id")
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	var garbage [][]byte
	for i := range 5 {
		garbage = append(garbage, make([]byte, 1<<20))
		runtime.GC()
		if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
			t.Fatalf("hello %d while a guest spins: status %d", i, r.status)
		}
	}
	runtime.KeepAlive(garbage)
	select {
	case <-ended:
		t.Fatal("the spinning guest ended before the collections and requests it was to run beside (its maxDuration is too short for this machine)")
	default:
	}
	select {
	case <-ended:
	case <-time.After(time.Minute):
		t.Fatal("the spinning guest still runs a minute after its deadline")
	}
	eventually(t, "the spinning guest to time out", func() bool {
		return logHas(logs, "invocation timed out", id)
	})
}
