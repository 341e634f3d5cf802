package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wfn-dev/wfn/internal/bench"
)

// ---- rest ----

// restSection measures memory at rest: wfn serve over restN distinct Go
// functions (one guest under restN names, each with a custom section of
// its own so that none shares compiled code) and over the repository's
// guests/, with each binary (this one and, with -rest-base, an earlier
// one), after start and after the functions have been idle past
// -rest-unload; then what a request to a released function costs.
func restSection(ctx context.Context, e *env) error {
	bins := []string{e.wfn}
	names := []string{"this binary"}
	if e.o.restBase != "" {
		bins, names = append(bins, e.o.restBase), append(names, "base binary")
	}
	dir := filepath.Join(e.tmp, "rest")
	cache := filepath.Join(dir, ".cache")
	fns := map[string][]byte{}
	for j := range e.o.restN {
		fns["fn"+strconv.Itoa(j)] = bench.AppendCustomSection(e.goHello, "wfnbench", []byte(strconv.Itoa(j)))
	}
	if err := bench.WriteSite(dir, fns, ""); err != nil {
		return err
	}
	guests := filepath.Join(e.root, "guests")
	guestsCache := filepath.Join(e.tmp, "rest-guests-cache")
	// Fill the caches first (compiling 100 Go guests takes minutes): a
	// start that is not measured.
	logf("rest: filling the compilation caches")
	if r, err := restRun(ctx, e, e.wfn, dir, cache, e.o.restN, 0); err != nil {
		return err
	} else {
		r.srv.Stop()
	}
	if r, err := restRun(ctx, e, e.wfn, guests, guestsCache, 0, 0); err != nil {
		return err
	} else {
		r.srv.Stop()
	}
	engine := ""
	if e.o.restEngine != "" {
		engine = ", --engine " + e.o.restEngine
	}
	e.table.Section(fmt.Sprintf("Memory at rest: RSS of wfn serve (default flags, --min-instances 1%s), then idle past --unload-after %s", engine, e.o.restUnload))
	for i, bin := range bins {
		for _, c := range []struct {
			name, dir, cache string
			n                int
		}{{fmt.Sprintf("%d Go functions", e.o.restN), dir, cache, e.o.restN}, {"guests/", guests, guestsCache, 0}} {
			r, err := restRun(ctx, e, bin, c.dir, c.cache, c.n, e.o.restUnload)
			if err != nil {
				e.table.Add(names[i]+", "+c.name, "FAILED", "", "", "", "", oneLine(err.Error()))
				continue
			}
			r.srv.Stop()
			per := func(b int64) string { return mib(float64(b) / float64(r.fns)) }
			e.table.Add(names[i]+", "+c.name+": RSS loaded", mib(float64(r.loaded)), "", "", "", "",
				fmt.Sprintf("%d functions, %s each; %s", r.fns, per(r.loaded), r.when))
			e.table.Add(names[i]+", "+c.name+": RSS idle", mib(float64(r.idle)), "", "", "", "",
				fmt.Sprintf("%s each, after %s idle", per(r.idle), r.waited.Round(time.Second)))
			if len(r.first) > 0 {
				slices.Sort(r.first)
				slices.Sort(r.second)
				e.table.Add(names[i]+", "+c.name+": first request after idle", dur(bench.Median(r.first)), "", "", "", "",
					fmt.Sprintf("time to first byte, %d functions; the next request to each %s; compiled code loaded again in %s (server log)",
						len(r.first), dur(bench.Median(r.second)), r.loads))
			}
		}
	}
	return nil
}

type restResult struct {
	srv           *bench.Server
	fns           int
	loaded, idle  int64 // RSS, bytes
	when          string
	waited        time.Duration
	first, second []float64 // ns
	loads         string    // the server's "loaded again" times
}

var (
	loadedRE = regexp.MustCompile(`functions loaded.* ready=(\d+)`)
	againRE  = regexp.MustCompile(`function loaded again.* took=(\S+)`)
)

// restRun serves dir with bin. With n > 0 it asks each of /api/fn0..n-1
// once, else it waits for the host's "functions loaded" line. Then it
// reads the RSS, and with unload > 0 waits past it, reads the RSS again
// and times the first and second requests to ten functions.
func restRun(ctx context.Context, e *env, bin, dir, cache string, n int, unload time.Duration) (*restResult, error) {
	args := []string{"serve", dir, "--listen", "127.0.0.1:0", "--cache-dir", cache, "--log-level", "info"}
	if e.o.restEngine != "" {
		args = append(args, "--engine", e.o.restEngine)
	}
	help, _ := exec.CommandContext(ctx, bin, "serve", "--help").CombinedOutput()
	if unload > 0 && strings.Contains(string(help), "--unload-after") {
		args = append(args, "--unload-after", unload.String())
	}
	srv, err := bench.StartServer(ctx, 20*time.Minute, bin, args...)
	if err != nil {
		return nil, err
	}
	r := &restResult{srv: srv, fns: n}
	fail := func(err error) (*restResult, error) {
		srv.Stop()
		return nil, err
	}
	client := &http.Client{Timeout: 20 * time.Minute}
	base := "http://" + srv.Addr
	if n > 0 {
		for j := range n {
			if _, err := ttfb(ctx, client, base+"/api/fn"+strconv.Itoa(j)); err != nil {
				return fail(err)
			}
		}
		r.when = "after one request each"
	} else {
		for {
			if m := loadedRE.FindStringSubmatch(srv.Stderr()); m != nil {
				r.fns, _ = strconv.Atoi(m[1])
				break
			}
			if srv.Exited() {
				return fail(errors.New("wfn serve exited: " + oneLine(srv.Stderr())))
			}
			select {
			case <-ctx.Done():
				return fail(ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
		r.when = "after start, no request"
	}
	if unload == 0 {
		return r, nil
	}
	settle := func() int64 {
		// Reserves are made, and functions unloaded, in the background:
		// read once the RSS held still for 3 s (at most 3 minutes).
		var last int64
		still := 0
		for range 180 {
			rss, _, _ := bench.RSS(srv.Pid())
			if rss == last {
				if still++; still == 3 {
					break
				}
			} else {
				still = 0
			}
			last = rss
			time.Sleep(time.Second)
		}
		return last
	}
	r.loaded = settle()
	t0 := time.Now()
	// Past the bound and two of the unloader's ticks (unload/4 each).
	select {
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(unload + unload/2 + time.Second):
	}
	r.idle = settle()
	r.waited = time.Since(t0)
	if n > 0 {
		for j := range min(n, 10) {
			url := base + "/api/fn" + strconv.Itoa(j)
			first, err := ttfb(ctx, client, url)
			if err != nil {
				return fail(err)
			}
			second, err := ttfb(ctx, client, url)
			if err != nil {
				return fail(err)
			}
			r.first, r.second = append(r.first, float64(first)), append(r.second, float64(second))
		}
		var loads []string
		for _, m := range againRE.FindAllStringSubmatch(srv.Stderr(), -1) {
			loads = append(loads, m[1])
		}
		r.loads = "none"
		if len(loads) > 0 {
			r.loads = strings.Join(loads, ", ")
		}
	}
	return r, nil
}

// ttfb asks url once and returns the time to its response's head; the
// answer must be the hello.
func ttfb(ctx context.Context, client *http.Client, url string) (time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	t := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	d := time.Since(t)
	defer resp.Body.Close()
	b := make([]byte, len(helloBody)+1)
	k, _ := resp.Body.Read(b)
	if resp.StatusCode != 200 || (strings.Contains(url, "/api/fn") && string(b[:k]) != helloBody) {
		return 0, fmt.Errorf("GET %s = %d %q", url, resp.StatusCode, b[:k])
	}
	return d, nil
}
