package host_test

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// rss is the process's resident set size (VmRSS), in bytes.
func rss(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("skipping: cannot read the resident set size: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// TestStackOverflowMemory runs concurrent stack overflows on a host with a
// 128 MB memory limit: the memory they take is bounded by the stack limit,
// and is given back when their instances go.
//
// Each overflow may hold at most 2 MiB (a 1 MiB stack, grown by doubling)
// while it runs. Before the limit, wazero grew every overflowing call's
// stack to about 84 MB on the Go heap, and the host's resident size went
// from 17 MB to 2 GB with 16 overflows and stayed there, as nothing
// allocated enough to make the Go runtime collect.
func TestStackOverflowMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipping: reads the resident set size from /proc/self/status")
	}
	const overflows = 16
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "recurse", "hello"), MemoryLimitMB: 128})
	var wg sync.WaitGroup
	overflow := func() {
		for range overflows {
			wg.Go(func() {
				wantError(t, get(t, srv.URL+"/api/recurse"), 500, host.CodeInvocationFailed)
			})
		}
		wg.Wait()
	}
	// A first round makes what stays: the compiled code, the pools' and
	// the race detector's own memory.
	overflow()
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
		t.Fatalf("hello = %d", r.status)
	}
	// The baseline, settled: collected and returned to the system.
	runtime.GC()
	debug.FreeOSMemory()
	before := rss(t)

	// Sample the resident size while the overflows run, without collecting:
	// a host in production does not either.
	var peak atomic.Int64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peak.Store(max(peak.Load(), rss(t)))
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	overflow()
	close(stop)
	<-sampled
	after := rss(t)
	peak.Store(max(peak.Load(), after))
	const mib = 1 << 20
	t.Logf("resident size: %.1f MiB before, %.1f MiB at the peak of %d overflows, %.1f MiB after them (no collection)",
		float64(before)/mib, float64(peak.Load())/mib, overflows, float64(after)/mib)
	// 2 MiB an overflow, and as much again for the instances made to
	// replace the failed ones, the race detector's shadow memory and noise.
	if grown := peak.Load() - before; grown > 4*overflows*mib {
		t.Errorf("the resident size grew by %.1f MiB with %d overflows, want at most %d MiB", float64(grown)/mib, overflows, 4*overflows)
	}

	// The instances are gone: once collected, their memory goes back.
	deadline := time.Now().Add(30 * time.Second)
	for {
		runtime.GC()
		debug.FreeOSMemory()
		now := rss(t)
		if now <= before+32*mib {
			t.Logf("resident size after collecting: %.1f MiB", float64(now)/mib)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("resident size %.1f MiB, still more than 32 MiB over the %.1f MiB before the overflows", float64(now)/mib, float64(before)/mib)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
		t.Errorf("hello after the overflows = %d", r.status)
	}
}

// TestStackOverflowLogged checks that a guest recursing without end gets a
// 500 and a log line with the request id that says stack overflow, and that
// the next request is served.
func TestStackOverflowLogged(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "recurse", "hello")})
	for range 2 {
		wantStackOverflow(t, srv.URL+"/api/recurse", logs)
	}
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
		t.Errorf("hello after overflows = %d", r.status)
	}
}

// TestGoGuestDeepRecursion checks that a Go guest may recurse ten thousand
// calls deep, and that one recursing without end gets a stack overflow.
func TestGoGuestDeepRecursion(t *testing.T) {
	requireGo(t)
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/guests", MemoryLimitMB: 128})
	for _, n := range []string{"10", "10000"} {
		if r := get(t, srv.URL+"/api/deep?n="+n); r.status != 200 || r.body != n {
			t.Errorf("recursing %s calls deep: %d %q, want 200 %q", n, r.status, r.body, n)
		}
	}
	wantStackOverflow(t, srv.URL+"/api/deep?n=-1", logs)
	if r := get(t, srv.URL+"/api/deep?n=10000"); r.status != 200 || r.body != "10000" {
		t.Errorf("recursing after an overflow: %d %q", r.status, r.body)
	}
}

// wantStackOverflow requests url and checks for a 500 and a log line with
// the request id that says stack overflow.
func wantStackOverflow(t *testing.T, url string, logs *syncBuffer) {
	t.Helper()
	r := get(t, url)
	wantError(t, r, 500, host.CodeInvocationFailed)
	id := r.header.Get("X-Vercel-Id")
	eventually(t, "a log line with request id "+id+" saying stack overflow", func() bool {
		for line := range bytes.SplitSeq([]byte(logs.String()), []byte("\n")) {
			if bytes.Contains(line, []byte(id)) && bytes.Contains(line, []byte("stack overflow")) {
				return true
			}
		}
		return false
	})
}
