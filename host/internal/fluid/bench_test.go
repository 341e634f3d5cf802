package fluid_test

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/testkit"
)

// BenchmarkFluidHeld holds N invocations at once on one ABI v2 Go
// instance, each waiting hold in its handler (time.Sleep, standing for a
// slow backend: outbound HTTP is not served to v2 guests yet), one
// connection per request, and reports: the instances made, the time until
// all N are in flight, the process's resident memory held over what it
// was before (VmRSS of this one process, which holds the clients too),
// the instance's linear memory, the latency over hold at p50 and p99 as
// the client sees it (connecting included) and as the server does, and
// the CPU seconds of the process. instanceConcurrency is N, so that one
// instance holds them all. Run it alone:
//
//	go test -run '^$' -bench FluidHeld -benchtime 1x ./host/internal/fluid/
func BenchmarkFluidHeld(b *testing.B) {
	const hold = 8 * time.Second
	for _, n := range []int{1000, 5000, 9900} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var mu sync.Mutex
			var served []time.Duration
			srv, p, _ := serveGuestEnded(b, 10*time.Minute, func(d time.Duration) {
				mu.Lock()
				served = append(served, d)
				mu.Unlock()
			})
			p.Concurrency = n // instanceConcurrency: all in one instance
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}}
			defer client.Transport.(*http.Transport).CloseIdleConnections()
			if resp, err := client.Get(srv.URL + "/?n=warm"); err != nil {
				b.Fatal(err)
			} else {
				resp.Body.Close()
			}
			for range b.N {
				mu.Lock()
				served = served[:0]
				mu.Unlock()
				runtime.GC()
				rss0 := vmRSS(b)
				cpu0 := cpuSeconds()
				lat := make([]time.Duration, n)
				errs := make(chan error, n)
				var wg sync.WaitGroup
				start := time.Now()
				for i := range n {
					wg.Go(func() {
						t0 := time.Now()
						resp, err := client.Get(fmt.Sprintf("%s/?ms=%d&n=%d", srv.URL, hold.Milliseconds(), i))
						if err != nil {
							errs <- err
							return
						}
						resp.Body.Close()
						if resp.StatusCode != 200 {
							errs <- fmt.Errorf("status %d", resp.StatusCode)
						}
						lat[i] = time.Since(t0)
					})
				}
				var allIn time.Duration
				var rssHeld, linear uint64
				for {
					if p.Inflight() >= n {
						allIn = time.Since(start)
						rssHeld = vmRSS(b)
						linear = p.LinearMemory()
						break
					}
					if time.Since(start) > hold {
						b.Fatalf("only %d of %d in flight after %v", p.Inflight(), n, hold)
					}
					time.Sleep(5 * time.Millisecond)
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				cpu := cpuSeconds() - cpu0
				slices.Sort(lat)
				over := func(q float64) time.Duration { return lat[int(q*float64(n-1))] - hold }
				mu.Lock()
				srvLat := slices.Clone(served)
				mu.Unlock()
				slices.Sort(srvLat)
				srvOver := func(q float64) time.Duration { return srvLat[int(q*float64(len(srvLat)-1))] - hold }
				held := float64(rssHeld-rss0) / float64(n)
				b.ReportMetric(float64(p.Created()), "instances")
				b.ReportMetric(allIn.Seconds(), "s-all-in")
				b.ReportMetric(float64(rssHeld>>20), "MiB-rss-held")
				b.ReportMetric(held/1024, "KiB-rss/held")
				b.ReportMetric(float64(linear>>20), "MiB-linear")
				b.ReportMetric(float64(over(0.5).Milliseconds()), "ms-p50-over")
				b.ReportMetric(float64(over(0.99).Milliseconds()), "ms-p99-over")
				b.ReportMetric(float64(srvOver(0.5).Milliseconds()), "ms-server-p50-over")
				b.ReportMetric(float64(srvOver(0.99).Milliseconds()), "ms-server-p99-over")
				b.ReportMetric(cpu, "cpu-s")
				b.Logf("N=%d: %d instance(s), all in flight after %v, RSS %d MiB held (%d MiB before, %.1f KiB per held invocation, clients included), linear memory %d MiB, p50 %v and p99 %v over the %v hold at the client (connecting included), %v and %v at the server, %.2f CPU s",
					n, p.Created(), allIn.Round(time.Millisecond), rssHeld>>20, rss0>>20, held/1024, linear>>20, over(0.5).Round(time.Millisecond), over(0.99).Round(time.Millisecond), hold, srvOver(0.5).Round(time.Millisecond), srvOver(0.99).Round(time.Millisecond), cpu)
			}
		})
	}
}

// vmRSS is this process's resident memory, in bytes (/proc/self/status).
func vmRSS(b *testing.B) uint64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
	}
	for line := range strings.SplitSeq(string(s), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Skip("no VmRSS")
	return 0
}

// cpuSeconds is this process's user and system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkFluidFairness runs one invocation that computes for 1 s
// beside 99 that each sleep 200 ms, and reports what the sleeping ones
// see: their latency over the 200 ms at p50 and p99, and the computing
// one's. Go does not preempt goroutines on wasm, so a computing handler
// holds up the others on its instance until it waits. In "at-once" the
// sleepers arrive as soon as the computation is in flight, on its
// instance; in "after-busy" once its instance counts as CPU-busy
// (Pool.BusyAfter), when new invocations go to another instance.
//
//	go test -run '^$' -bench FluidFairness -benchtime 3x ./host/internal/fluid/
func BenchmarkFluidFairness(b *testing.B) {
	for _, mode := range []string{"at-once", "after-busy"} {
		b.Run(mode, func(b *testing.B) { fairness(b, mode == "after-busy") })
	}
}

func fairness(b *testing.B, afterBusy bool) {
	const sleep, compute = 200 * time.Millisecond, time.Second
	srv, p := serveGuest(b, time.Minute)
	if code, _, err := testkit.Get(b.Context(), srv.URL+"/?n=warm"); code != 200 {
		b.Fatal(code, err)
	}
	for range b.N {
		// The round before's computation no longer counts.
		for p.CPUBusy() > 0 {
			time.Sleep(time.Millisecond)
		}
		lat := make([]time.Duration, 99)
		var computed time.Duration
		var wg sync.WaitGroup
		wg.Go(func() {
			t0 := time.Now()
			if code, _, err := testkit.Get(b.Context(), fmt.Sprintf("%s/?compute=%d", srv.URL, compute.Milliseconds())); code != 200 {
				b.Error(code, err)
			}
			computed = time.Since(t0)
		})
		// The sleepers start once the computation holds the instance, or
		// once that instance counts as CPU-busy.
		for p.Inflight() < 1 || afterBusy && p.CPUBusy() < 1 {
			time.Sleep(time.Millisecond)
		}
		for i := range lat {
			wg.Go(func() {
				t0 := time.Now()
				if code, _, err := testkit.Get(b.Context(), fmt.Sprintf("%s/?ms=%d&n=%d", srv.URL, sleep.Milliseconds(), i)); code != 200 {
					b.Error(code, err)
				}
				lat[i] = time.Since(t0) - sleep
			})
		}
		wg.Wait()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[49].Milliseconds()), "ms-sleeper-p50-over")
		b.ReportMetric(float64(lat[98].Milliseconds()), "ms-sleeper-p99-over")
		b.ReportMetric(float64(computed.Milliseconds()), "ms-compute")
		b.Logf("sleepers over their %v: p50 %v, p99 %v; the %v computation took %v; %d instance(s)", sleep, lat[49].Round(time.Millisecond), lat[98].Round(time.Millisecond), compute, computed.Round(time.Millisecond), p.Created())
	}
}
