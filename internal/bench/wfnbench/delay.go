package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wfn-dev/wfn/internal/bench"
)

// delaySection is the density section with -density-delay: the backend
// answers each request after a fixed delay, the requests arrive at
// -density-rate per second, and each level reports the most held at
// once, the server's RSS then, and each response's time over the delay.
// The server is a child process of its own (wfn serve, or the native
// reference); the clients are in this process and the backend in another
// child, so the RSS is the server's alone.
func delaySection(ctx context.Context, e *env) error {
	bsrv, err := bench.StartServer(ctx, 30*time.Second, e.self, "-backend-server", "127.0.0.1:0", e.o.delay.String())
	if err != nil {
		return err
	}
	defer bsrv.Stop()
	backend := bench.NewRemoteBackend("http://" + bsrv.Addr + "/")
	rate := "all at once"
	if e.o.rate > 0 {
		rate = fmt.Sprintf("%g per second", e.o.rate)
	}
	e.table.Section(fmt.Sprintf("Density with a fixed-delay backend: each request waits %s on a backend child, arrivals %s, one connection per request; RSS and CPU of the server's process alone", e.o.delay, rate))
	fdMax := (nofile - 200) / 2
	for _, n := range e.o.goDensity {
		if n > fdMax {
			e.table.Note("density: N=%d clamped to %d: RLIMIT_NOFILE is %d; a server needs 2 descriptors per held request", n, fdMax, nofile)
			n = fdMax
		}
		if e.o.rate > 0 && float64(n)/e.o.rate > e.o.delay.Seconds() {
			e.table.Note("density: N=%d at %g/s takes %.1f s to arrive, longer than the %s delay: fewer than N are held at once", n, e.o.rate, float64(n)/e.o.rate, e.o.delay)
		}
		if slices.Contains(strings.Split(e.o.densityOf, ","), "go-v2") {
			r := delayLevel(ctx, e, backend, "wfn, Go guest, ABI v2", n, func() (*bench.Server, error) {
				dir := filepath.Join(e.tmp, fmt.Sprintf("delay-v2-%d", n))
				config := `{"functions": {"api/wait.wasm": {"allowedOutboundHosts": ["127.0.0.1:*"], "instanceConcurrency": 100000}}}`
				if err := bench.WriteSite(dir, map[string][]byte{"wait": e.goWaitV2}, config); err != nil {
					return nil, err
				}
				limit := strconv.Itoa(n + 100)
				return e.serve(ctx, dir, filepath.Join(e.tmp, "delay-cache-v2"),
					"--max-instances", limit, "--max-instances-per-function", limit, "--max-queue", limit)
			})
			e.table.Add(r.row()...)
		}
		if e.o.native {
			r := delayLevel(ctx, e, backend, "native net/http", n, func() (*bench.Server, error) {
				return bench.StartServer(ctx, 30*time.Second, e.self, "-density-native-server", "127.0.0.1:0")
			})
			e.table.Add(r.row()...)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

type delayResult struct {
	name          string
	n, peak       int
	idle, rss     int64 // before the level; when the most were held
	hwm           int64
	cpu           time.Duration
	instances     int64 // -1: not read (the native server has none)
	p50, p99, max time.Duration
	ok200, bad    int64
	failure       string
}

func (r delayResult) row() []string {
	name := fmt.Sprintf("%s: N=%d", r.name, r.n)
	if r.peak == 0 && r.failure != "" {
		return []string{name, "FAILED", "", "", "", "", oneLine(r.failure)}
	}
	per := 0.0
	if r.peak > 0 {
		per = float64(r.rss-r.idle) / float64(r.peak)
	}
	notes := fmt.Sprintf("RSS %s with %d held (%s before; VmHWM %s), %s per held; over the delay p50 %s p99 %s max %s; %d x 200; CPU %.2f s",
		mib(float64(r.rss)), r.peak, mib(float64(r.idle)), mib(float64(r.hwm)), mib(per), dur(float64(r.p50)), dur(float64(r.p99)), dur(float64(r.max)), r.ok200, r.cpu.Seconds())
	if r.instances >= 0 {
		notes += fmt.Sprintf("; instances made %d", r.instances)
	}
	if r.bad > 0 {
		notes += fmt.Sprintf("; %d failed", r.bad)
	}
	if r.failure != "" {
		notes += "; " + oneLine(r.failure)
	}
	return []string{name, mib(float64(r.rss)), dur(float64(r.p50)), "", dur(float64(r.p99)), "", notes}
}

// delayLevel starts a server, warms it with the backend answering at
// once, then sends n requests at the section's rate and follows them to
// their ends.
func delayLevel(ctx context.Context, e *env, backend *bench.RemoteBackend, name string, n int, start func() (*bench.Server, error)) (res delayResult) {
	res = delayResult{name: name, n: n, instances: -1}
	logf("density %s N=%d, delay %s, rate %g/s", name, n, e.o.delay, e.o.rate)
	srv, err := start()
	if err != nil {
		res.failure = err.Error()
		return res
	}
	defer srv.Stop()
	body := []byte(backend.URL)
	if res.idle, res.failure = warmDensity(ctx, srv, backend, body); res.failure != "" {
		return res
	}
	cpu0, _ := bench.CPUTime(srv.Pid())
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := bench.HoldPaced(hctx, srv.Addr, "/api/wait", body, n, 256, e.o.rate)
	if e.o.profileDir != "" && strings.HasPrefix(name, "wfn") {
		// What the arrivals allocate: this against the allocs profile at
		// the peak (go tool pprof -diff_base).
		if err := os.MkdirAll(e.o.profileDir, 0o755); err != nil {
			logf("density: profiles: %v", err)
		} else if err := saveProfile(e.o.profileDir, srv.Addr, "allocs", fmt.Sprintf("delay-%d-allocs-start.pb.gz", n)); err != nil {
			logf("density: profiles: %v", err)
		}
	}
	bound := e.o.delay + 2*time.Minute
	if e.o.rate > 0 {
		bound += time.Duration(float64(n) / e.o.rate * float64(time.Second))
	}
	deadline := time.Now().Add(bound)
	for h.Done() < n {
		if time.Now().After(deadline) || srv.Exited() || ctx.Err() != nil {
			res.failure = fmt.Sprintf("%d of %d ended within %s", h.Done(), n, bound)
			if srv.Exited() {
				res.failure += "; the server exited: " + oneLine(srv.Stderr())
			}
			h.Abort()
			break
		}
		if held, _, err := backend.Count(); err == nil && held > res.peak {
			// The server's RSS when the most were held.
			res.peak = held
			res.rss, _, _ = bench.RSS(srv.Pid())
			if held == n && e.o.profileDir != "" && strings.HasPrefix(name, "wfn") {
				key := fmt.Sprintf("delay-%d", n)
				if err := saveProfiles(e.o.profileDir, srv.Addr, key); err != nil {
					logf("density: profiles: %v", err)
				}
				if err := saveProfile(e.o.profileDir, srv.Addr, "allocs", key+"-allocs-held.pb.gz"); err != nil {
					logf("density: profiles: %v", err)
				}
				// What the RSS is made of: the runtime's memory classes
				// (go_memstats_*) and the kernel's view of the mappings,
				// both before the collection below.
				if err := saveMemory(e.o.profileDir, srv.Addr, srv.Pid(), key); err != nil {
					logf("density: profiles: %v", err)
				}
				// And the live heap alone, after a collection.
				if err := saveProfile(e.o.profileDir, srv.Addr, "heap?gc=1", key+"-heap-gc.pb.gz"); err != nil {
					logf("density: profiles: %v", err)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.Wait(10 * time.Second)
	if cpu1, err := bench.CPUTime(srv.Pid()); err == nil {
		res.cpu = cpu1 - cpu0
	}
	_, res.hwm, _ = bench.RSS(srv.Pid())
	var over []time.Duration
	for _, l := range h.Latencies() {
		over = append(over, l-e.o.delay)
	}
	slices.Sort(over)
	if len(over) > 0 {
		res.p50, res.p99, res.max = bench.Percentile(over, 50), bench.Percentile(over, 99), over[len(over)-1]
	}
	if strings.HasPrefix(name, "wfn") {
		res.instances = coldStarts(srv.Addr)
	}
	res.ok200, res.bad = h.OK.Load(), h.Non2xx.Load()+h.Errs.Load()
	if f := h.Failure(); f != "" {
		res.failure = strings.TrimPrefix(res.failure+"; "+f, "; ")
	}
	logf("density %s N=%d: %s", name, n, strings.Join(res.row()[1:], " | "))
	return res
}

// densityNativeServer serves what the density guest does, natively: it
// GETs the URL given as the request body (net/http's default client) and
// answers "held", or 502 with the error.
func densityNativeServer(addr string) {
	client := &http.Client{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		url, err := io.ReadAll(io.LimitReader(r.Body, 8192))
		if err == nil {
			var req *http.Request
			if req, err = http.NewRequestWithContext(r.Context(), http.MethodGet, string(url), nil); err == nil {
				var resp *http.Response
				if resp, err = client.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, "held")
	})
	serveNative(addr, h)
}
