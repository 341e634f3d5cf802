package host_test

import (
	"net/http/httptest"
	"os"
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
			if name == "fib" && os.Getenv("WFN_TEST_ENGINE") != "wasmtime" {
				// wazero's WithCloseOnContextDone checks at loop headers
				// only: recursion without a loop is never stopped. The
				// inline check (InlineInterrupt) stops it but is not the
				// default yet (RATIONALE.md, "Stopping a guest").
				t.Skip("known gap: wazero does not stop recursion without a loop at its deadline (issue 16)")
			}
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
			if name == "fib" && os.Getenv("WFN_TEST_ENGINE") != "wasmtime" {
				b.Skip("known gap: wazero does not stop recursion without a loop at its deadline (issue 16)")
			}
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
