package admin_test

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/admin"
)

// TestMonitorPercentiles checks a function's duration percentiles over
// its latest 1,000 requests (nearest rank), past the ring's wrap.
func TestMonitorPercentiles(t *testing.T) {
	mon := admin.NewMonitor(slog.DiscardHandler)
	if n, p50, p99 := admin.Percentiles(mon, "api/a"); n != 0 || p50 != 0 || p99 != 0 {
		t.Fatalf("before any request: %d, %v, %v", n, p50, p99)
	}
	for i := 1; i <= 100; i++ {
		mon.Access(host.AccessEntry{Function: "api/a", Status: 200, Duration: time.Duration(i) * time.Millisecond})
	}
	if n, p50, p99 := admin.Percentiles(mon, "api/a"); n != 100 || p50 != 50 || p99 != 99 {
		t.Errorf("after 100 requests: n %d, p50 %v, p99 %v; want 100, 50, 99", n, p50, p99)
	}
	for i := 101; i <= 1500; i++ {
		mon.Access(host.AccessEntry{Function: "api/a", Status: 200, Duration: time.Duration(i) * time.Millisecond})
	}
	// The window holds 501..1500 ms.
	if n, p50, p99 := admin.Percentiles(mon, "api/a"); n != 1500 || p50 != 1000 || p99 != 1490 {
		t.Errorf("after 1500 requests: n %d, p50 %v, p99 %v; want 1500, 1000, 1490", n, p50, p99)
	}
	// Requests no function answered count in the metrics, not here.
	mon.Access(host.AccessEntry{Status: 404, Duration: time.Millisecond})
	if n, _, _ := admin.Percentiles(mon, ""); n != 0 {
		t.Errorf("requests of no function: n %d, want 0", n)
	}
}

// TestMonitorConcurrentAccess runs requests of several functions and
// statuses, and readers, at once (for -race).
func TestMonitorConcurrentAccess(t *testing.T) {
	mon := admin.NewMonitor(slog.DiscardHandler)
	fns := []string{"api/a", "api/b", ""}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				mon.Access(host.AccessEntry{Function: fns[(g+i)%len(fns)], Status: 200 + 100*(i%4), Duration: time.Millisecond})
				if i%50 == 0 {
					admin.Percentiles(mon, "api/a")
				}
			}
		}()
	}
	wg.Wait()
	na, _, _ := admin.Percentiles(mon, "api/a")
	nb, p50, _ := admin.Percentiles(mon, "api/b")
	var want uint64
	for g := range 4 {
		for i := range 500 {
			if fns[(g+i)%len(fns)] != "" {
				want++
			}
		}
	}
	if na+nb != want {
		t.Errorf("api/a and api/b counted %d requests, want %d", na+nb, want)
	}
	if p50 != 1 {
		t.Errorf("api/b p50 = %v, want 1", p50)
	}
}
