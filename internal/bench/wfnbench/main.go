// Command wfnbench compares wfn with a native net/http handler in one run
// and prints one table: warm throughput and latency of /api/hello through
// a real `wfn serve` against a native server (both child processes, the
// same load generator), cold starts, server start time with 50 functions,
// and density (invocations held at once while they wait on a slow
// backend).
//
//	go run ./internal/bench/wfnbench                 # everything, < 10 min
//	go run ./internal/bench/wfnbench -only warm -rounds 3 -duration 2s
//	go run ./internal/bench/wfnbench -md             # Markdown, for BENCHMARKS.md
//	go run ./internal/bench/wfnbench -only warm -load wrk -warm-base OLD -warm-guests
//	go run ./internal/bench/wfnbench -only warm -warm-v2 -warm-engines wazero,wasmtime -rounds 3 -duration 2s
//
// With -load wrk the warm section is driven by wrk -t1 (Debian package
// wrk), a C generator that leaves the server more of the machine than the
// Go one; without wrk on the PATH that section is skipped with a message.
//
// Everything listens on and connects to 127.0.0.1 only. Child processes
// run in their own process groups and are killed on exit and on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wfn-dev/wfn/internal/bench"
)

const helloBody = "Hello from wfn!"

// nofile is RLIMIT_NOFILE once raised: each held invocation costs wfn two
// descriptors (the client's connection and the backend's).
var nofile int

type options struct {
	rounds     int
	duration   time.Duration
	warmup     time.Duration
	conns      int
	coldN      int
	startN     int
	densityN   int
	goDensity  []int
	maxRSS     int64
	only       map[string]bool
	md         bool
	keep       bool
	wfnBin     string
	startBase  string
	restN      int
	restBase   string
	restUnload time.Duration
	restEngine string
	load       string // the warm section's load generator: go or wrk
	warmBase   string
	warmSite   bool
	densityOf  string        // the guests of the density section
	profileDir string        // where the density section saves wfn's profiles while held
	delay      time.Duration // the density backend's fixed delay (0: hold until released)
	rate       float64       // the density requests' arrivals per second (0: all at once)
	native     bool          // the density section also measures a native net/http server

	// -warm-v2 and -warm-engines (warmv2.go)
	warmV2      bool
	warmEngines string
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-native-server" {
		nativeServer(os.Args[2])
		return
	}
	if len(os.Args) >= 3 && os.Args[1] == "-backend-server" {
		backendServer(os.Args[2], os.Args[3:]...)
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "-density-native-server" {
		densityNativeServer(os.Args[2])
		return
	}
	var o options
	var only, goLevels string
	flag.IntVar(&o.rounds, "rounds", 5, "interleaved rounds of the warm section, and warm-cache starts of the start section")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "measured time of each warm round")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up before each warm round")
	flag.IntVar(&o.conns, "conns", 32, "keep-alive connections of the warm load")
	flag.IntVar(&o.coldN, "cold-n", 200, "sequential requests per cold-start case")
	flag.IntVar(&o.startN, "start-fns", 50, "functions served in the start section")
	flag.IntVar(&o.densityN, "density-n", 10000, "invocations held at once by the minimal guest")
	flag.StringVar(&goLevels, "density-go", "1000,2000,5000,10000", "levels tried in turn for the Go guest, while memory allows")
	flag.StringVar(&o.densityOf, "density-guests", "wat,go,go-v2", "guests of the density section: wat, go (ABI v1, an instance per held invocation), go-v2 (ABI v2, many per instance)")
	flag.StringVar(&o.profileDir, "density-profile", "", "save wfn serve's heap and goroutine profiles (admin /_wfn/debug/pprof) in this directory while each density level is held")
	flag.DurationVar(&o.delay, "density-delay", 0, "the density backend answers each request after this delay (0: it holds every request until all are held, then releases them at once)")
	flag.Float64Var(&o.rate, "density-rate", 0, "with -density-delay, requests start at this rate per second (0: all at once); N are held at once when the delay is at least N/rate")
	flag.BoolVar(&o.native, "density-native", false, "with -density-delay, also measure a native net/http server that makes the same outbound request (a child process, measured the same way)")
	flag.Int64Var(&o.maxRSS, "max-rss-gib", 8, "stop the Go density levels when wfn's RSS would pass this")
	flag.StringVar(&only, "only", "warm,cold,start,density", "sections to run")
	flag.BoolVar(&o.md, "md", false, "print the table as Markdown")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.StringVar(&o.wfnBin, "wfn", "", "a wfn binary to measure (default: go build ./cli/wfn of this repository)")
	flag.StringVar(&o.startBase, "start-base", "", "a second wfn binary (an earlier commit's) that the start section runs too, over the same sites and caches, in interleaved rounds")
	flag.IntVar(&o.restN, "rest-fns", 100, "distinct Go functions served in the rest section (not run by default: -only rest)")
	flag.StringVar(&o.restBase, "rest-base", "", "a second wfn binary (an earlier commit's) that the rest section measures too")
	flag.DurationVar(&o.restUnload, "rest-unload", 10*time.Second, "the rest section's --unload-after, and how long it leaves the functions idle")
	flag.StringVar(&o.restEngine, "rest-engine", "", "the rest section's --engine (default: wfn serve's)")
	flag.StringVar(&o.load, "load", "go", "the warm section's load generator: go (in this process) or wrk (wrk -t1, Debian package wrk; the section is skipped without it)")
	flag.StringVar(&o.warmBase, "warm-base", "", "a second wfn binary (an earlier commit's) that the warm section serves too, in the same interleaved rounds")
	flag.BoolVar(&o.warmSite, "warm-guests", false, "the warm section also serves ./guests whole (every example function loaded) and loads its /api/hello")
	flag.BoolVar(&o.warmV2, "warm-v2", false, "the warm section serves the Go hello built for ABI v1 and for ABI v2 (wfn_fluid) on each -warm-engines engine, instead of the Go and WAT guests, and reports v2/v1")
	flag.StringVar(&o.warmEngines, "warm-engines", "wazero", "the engines of -warm-v2, comma-separated (wasmtime builds wfn with -tags wasmtime)")
	flag.Parse()
	o.only = map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		switch s = strings.TrimSpace(s); s {
		case "warm", "cold", "start", "density", "rest":
			o.only[s] = true
		case "":
		default:
			fmt.Fprintf(os.Stderr, "wfnbench: -only: unknown section %q (want warm, cold, start, density, rest)\n", s)
			os.Exit(2)
		}
	}
	if o.load != "go" && o.load != "wrk" {
		fmt.Fprintf(os.Stderr, "wfnbench: -load %q: want go or wrk\n", o.load)
		os.Exit(2)
	}
	for _, s := range strings.Split(goLevels, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 {
			o.goDensity = append(o.goDensity, n)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "wfnbench:", err)
		os.Exit(1)
	}
}

// env is what the sections share: the wfn binary, the guests, a scratch
// directory.
type env struct {
	o        options
	root     string
	tmp      string
	wfn      string
	self     string
	flags    map[string]bool // wfn serve's flags
	goHello  []byte
	watHello []byte
	goWait   []byte
	goWaitV2 []byte // the same, built for ABI v2
	watWait  []byte
	table    *bench.Table

	goHelloV2 []byte // the Go hello built for ABI v2 (-warm-v2)
	v2n       int    // the -warm-v2 sites written
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, o options) error {
	began := time.Now()
	// 10,000 held invocations need 10,000 client and 10,000 backend
	// sockets on each side; children inherit the limit.
	lim := syscall.Rlimit{Cur: 200000, Max: 200000}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		// Without CAP_SYS_RESOURCE only the soft limit can rise, to the hard one.
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		logf("cannot raise RLIMIT_NOFILE to 200000 (%v): it stays at %d", err, lim.Max)
	}
	nofile = int(lim.Cur)
	root, err := bench.RepoRoot(".")
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "wfnbench-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("scratch directory %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	e := &env{o: o, root: root, tmp: tmp, table: &bench.Table{
		Header: []string{"case", "value", "p50", "p90", "p99", "ratio", "notes"},
	}}
	if e.self, err = os.Executable(); err != nil {
		return err
	}
	logf("building wfn and the guests")
	e.wfn = filepath.Join(tmp, "wfn")
	if o.wfnBin != "" {
		e.wfn = o.wfnBin
	} else {
		build := exec.CommandContext(ctx, "go", "build", "-tags", strings.Join(o.wfnBuildTags(), ","), "-o", e.wfn, "./cli/wfn")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("cannot build wfn (use -wfn BIN to measure a binary built elsewhere): %w\n%s", err, out)
		}
	}
	help, _ := exec.CommandContext(ctx, e.wfn, "serve", "--help").CombinedOutput()
	e.flags = map[string]bool{}
	for _, f := range strings.Fields(string(help)) {
		if strings.HasPrefix(f, "--") {
			e.flags[strings.TrimPrefix(f, "--")] = true
		}
	}
	if e.goHello, err = buildGo(ctx, tmp, filepath.Join(root, "guests", "api"), "./hello"); err != nil {
		return err
	}
	if e.goWait, err = buildGo(ctx, tmp, filepath.Join(root, "internal", "bench", "testdata", "guests"), "./api/wait"); err != nil {
		return err
	}
	if e.goWaitV2, err = buildGo(ctx, tmp, filepath.Join(root, "internal", "bench", "testdata", "guests"), "./api/waitv2", "wfn_fluid"); err != nil {
		return err
	}
	if e.watHello, err = os.ReadFile(filepath.Join(root, "testdata", "wat", "hello.wasm")); err != nil {
		return err
	}
	if e.watWait, err = os.ReadFile(filepath.Join(root, "internal", "bench", "testdata", "wait.wasm")); err != nil {
		return err
	}

	sections := []struct {
		name string
		run  func(context.Context, *env) error
	}{
		{"warm", warmSection},
		{"cold", coldSection},
		{"start", startSection},
		{"density", densitySection},
		{"rest", restSection},
	}
	for _, s := range sections {
		if !o.only[s.name] {
			continue
		}
		t0 := time.Now()
		logf("section %s", s.name)
		if err := s.run(ctx, e); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			e.table.Add(s.name, "FAILED", "", "", "", "", oneLine(err.Error()))
			logf("section %s failed: %v", s.name, err)
		}
		logf("section %s took %s", s.name, time.Since(t0).Round(time.Second))
	}
	e.table.Note("machine: %s", bench.Machine())
	args := strings.Join(os.Args[1:], " ")
	if args == "" {
		args = "default flags"
	}
	e.table.Note("wfnbench %s: took %s", args, time.Since(began).Round(time.Second))
	fmt.Println()
	if o.md {
		return e.table.WriteMarkdown(os.Stdout)
	}
	return e.table.WriteText(os.Stdout)
}

func buildGo(ctx context.Context, tmp, moduleDir, pkg string, tags ...string) ([]byte, error) {
	out := filepath.Join(tmp, strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "-")+"-go.wasm")
	if err := bench.BuildGoGuest(ctx, moduleDir, pkg, out, tags...); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// serve starts `wfn serve dir` with a cache directory and extra flags.
func (e *env) serve(ctx context.Context, dir, cache string, extra ...string) (*bench.Server, error) {
	return e.serveWith(ctx, e.wfn, dir, cache, extra...)
}

// serveWith is serve with another wfn binary.
func (e *env) serveWith(ctx context.Context, bin, dir, cache string, extra ...string) (*bench.Server, error) {
	args := append([]string{"serve", dir, "--listen", "127.0.0.1:0", "--cache-dir", cache, "--log-level", "warn"}, extra...)
	return bench.StartServer(ctx, 3*time.Minute, bin, args...)
}

func (e *env) has(flag string) bool { return e.flags[flag] }

// ---- warm ----

type target struct {
	name   string
	srv    *bench.Server
	rps    []float64
	p50    []float64
	p90    []float64
	p99    []float64
	cpu    []float64 // the server's CPU time per request, in ns
	errs   int
	non2xx int
	first  error
	pair   *target // -warm-v2: the v1 target of this v2 one
}

func warmSection(ctx context.Context, e *env) error {
	if e.o.load == "wrk" {
		if _, err := exec.LookPath("wrk"); err != nil {
			logf("section warm skipped: %v", bench.ErrNoWrk)
			e.table.Add("warm (wrk)", "skipped", "", "", "", "", bench.ErrNoWrk.Error())
			return nil
		}
	}
	native, err := bench.StartServer(ctx, 30*time.Second, e.self, "-native-server", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer native.Stop()
	targets := []*target{{name: "native net/http", srv: native}}
	bins := []struct{ label, bin string }{{"wfn", e.wfn}}
	if e.o.warmBase != "" {
		bins = append(bins, struct{ label, bin string }{"wfn before", e.o.warmBase})
	}
	for _, b := range bins {
		if e.o.warmV2 {
			ts, err := e.warmV2Targets(ctx, b.label, b.bin)
			for _, t := range ts {
				defer t.srv.Stop()
			}
			if err != nil {
				return err
			}
			targets = append(targets, ts...)
			continue
		}
		for _, g := range []struct {
			name string
			wasm []byte
		}{{"Go guest", e.goHello}, {"WAT guest", e.watHello}} {
			dir := filepath.Join(e.tmp, "warm-"+strconv.Itoa(len(targets)))
			if err := bench.WriteSite(dir, map[string][]byte{"hello": g.wasm}, ""); err != nil {
				return err
			}
			srv, err := e.serveWith(ctx, b.bin, dir, filepath.Join(dir, ".cache"))
			if err != nil {
				return err
			}
			defer srv.Stop()
			targets = append(targets, &target{name: b.label + ", " + g.name, srv: srv})
		}
		if e.o.warmSite {
			srv, err := e.serveWith(ctx, b.bin, filepath.Join(e.root, "guests"), filepath.Join(e.tmp, "warm-guests-cache"))
			if err != nil {
				return err
			}
			defer srv.Stop()
			if err := waitLoaded(ctx, srv.Addr); err != nil {
				return fmt.Errorf("%s ./guests: %w", b.label, err)
			}
			targets = append(targets, &target{name: b.label + ", ./guests Go guest", srv: srv})
		}
	}
	for _, t := range targets {
		if err := checkHello(ctx, "http://"+t.srv.Addr+"/api/hello"); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	ratios := make([][]float64, len(targets))
	cpuRatios := make([][]float64, len(targets))
	for r := range e.o.rounds {
		roundRPS := make([]float64, len(targets))
		roundCPU := make([]float64, len(targets))
		for i := range targets {
			t := targets[(i+r)%len(targets)] // rotate the order each round
			res, cpu, err := e.warmLoad(ctx, t.srv)
			if err != nil {
				return err
			}
			t.cpu = append(t.cpu, cpu)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			logf("round %d  %-24s %s, %s CPU per request", r+1, t.name, res, dur(cpu))
			t.rps = append(t.rps, res.RPS())
			t.p50 = append(t.p50, float64(res.P50))
			t.p90 = append(t.p90, float64(res.P90))
			t.p99 = append(t.p99, float64(res.P99))
			t.errs += res.Errors
			t.non2xx += res.Non2xx
			if t.first == nil {
				t.first = res.FirstErr
			}
			roundRPS[(i+r)%len(targets)] = res.RPS()
			roundCPU[(i+r)%len(targets)] = cpu
		}
		for i := range targets {
			ratios[i] = append(ratios[i], roundRPS[i]/roundRPS[0])
			cpuRatios[i] = append(cpuRatios[i], roundCPU[0]/roundCPU[i])
		}
	}
	gen := "the Go load generator in this process"
	if e.o.load == "wrk" {
		gen = "wrk -t1"
	}
	e.table.Section(fmt.Sprintf("Warm /api/hello over loopback: %s, %d keep-alive connections, %s rounds, %d interleaved rounds (medians; load average %s)",
		gen, e.o.conns, e.o.duration, e.o.rounds, loadAverage()))
	for i, t := range targets {
		notes := "req/s per round: " + joinFloats(t.rps, "%.0f") + "; server CPU per request " + dur(bench.Median(t.cpu)) + " (" + joinDur(t.cpu) + ")"
		if t.errs+t.non2xx > 0 {
			notes += fmt.Sprintf("; %d errors, %d non-2xx", t.errs, t.non2xx)
			if t.first != nil {
				notes += ": " + oneLine(t.first.Error())
			}
		}
		ratio := "1.00x"
		if i > 0 {
			ratio = fmt.Sprintf("%.2fx native; by CPU per request %.2fx", bench.Median(ratios[i]), bench.Median(cpuRatios[i]))
		}
		e.table.Add(t.name, fmt.Sprintf("%.0f req/s", bench.Median(t.rps)), dur(bench.Median(t.p50)), dur(bench.Median(t.p90)), dur(bench.Median(t.p99)), ratio, notes)
	}
	e.addV2Ratios(targets)
	return nil
}

// warmLoad runs one warm round against srv with the chosen generator, and
// measures the server's CPU time per request over the round's window:
// native's against wfn's is the throughput ratio of a server that has
// the CPU to itself, which the machine's other load moves less than it
// moves requests per second. wrk has no warm-up window, so it runs a
// warm-up of its own first.
func (e *env) warmLoad(ctx context.Context, srv *bench.Server) (res bench.LoadResult, cpu float64, err error) {
	url := "http://" + srv.Addr + "/api/hello"
	if e.o.load == "wrk" && e.o.warmup > 0 {
		if _, err := (bench.Wrk{URL: url, Conns: e.o.conns, Duration: e.o.warmup}).Run(ctx); err != nil {
			return res, 0, err
		}
	}
	before, err := bench.CPUTime(srv.Pid())
	if err != nil {
		return res, 0, err
	}
	if e.o.load == "wrk" {
		res, err = bench.Wrk{URL: url, Conns: e.o.conns, Duration: e.o.duration}.Run(ctx)
	} else {
		// The warm-up's CPU time counts too: requests per CPU time are
		// the same in it, give or take.
		res, err = bench.Load{Addr: srv.Addr, Path: "/api/hello", Conns: e.o.conns, Warmup: e.o.warmup, Duration: e.o.duration}.Run(ctx)
	}
	if err != nil {
		return res, 0, err
	}
	after, err := bench.CPUTime(srv.Pid())
	if err != nil {
		return res, 0, err
	}
	n := res.Requests + res.Non2xx
	if e.o.load != "wrk" {
		n = int(float64(n) * float64(e.o.warmup+e.o.duration) / float64(e.o.duration))
	}
	return res, float64(after-before) / float64(max(n, 1)), nil
}

// waitLoaded waits until every function of the server at addr is loaded,
// as its dashboard's /_wfn/api/functions lists them.
func waitLoaded(ctx context.Context, addr string) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/_wfn/api/functions", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET /_wfn/api/functions = %d %s", resp.StatusCode, b)
		}
		if !strings.Contains(string(b), `"state":"loading"`) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("functions still loading after 10 minutes")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// loadAverage is the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func checkHello(ctx context.Context, url string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != helloBody {
		return fmt.Errorf("GET %s = %d %q, want 200 %q", url, resp.StatusCode, b, helloBody)
	}
	return nil
}

// ---- native server mode ----

// nativeServer serves the same bytes and headers as wfn's /api/hello
// (Content-Type, an x-vercel-id of the same shape), and prints the Ready
// line as wfn serve does.
func nativeServer(addr string) {
	var seq atomic.Uint64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := make([]byte, 0, 48)
		id = append(id, "dev1::000000-"...)
		id = strconv.AppendInt(id, time.Now().UnixMilli(), 10)
		id = append(id, '-')
		id = fmt.Appendf(id, "%012x", seq.Add(1))
		w.Header().Set("X-Vercel-Id", string(id))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, helloBody)
	})
	serveNative(addr, h)
}

// backendServer runs the slow backend of the density section in its own
// process, so that its sockets do not count against the harness's limit;
// hold, if given, is its fixed delay (a time.Duration).
func backendServer(addr string, hold ...string) {
	var d time.Duration
	if len(hold) > 0 {
		var err error
		if d, err = time.ParseDuration(hold[0]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	b, err := bench.StartBackend(addr, d)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("Ready on http://%s\n", b.Addr())
	select {}
}

// ---- cold ----

type coldCase struct {
	name   string
	extra  []string
	config string
	srv    *bench.Server
	probe  *bench.Prober
	ttfb   []time.Duration
	fails  int
	note   string
}

func coldSection(ctx context.Context, e *env) error {
	for _, g := range []struct {
		name string
		wasm []byte
	}{{"Go guest", e.goHello}, {"WAT guest", e.watHello}} {
		if err := coldGuest(ctx, e, g.name, g.wasm); err != nil {
			e.table.Add("cold, "+g.name, "FAILED", "", "", "", "", oneLine(err.Error()))
		}
	}
	return nil
}

func coldGuest(ctx context.Context, e *env, name string, wasm []byte) error {
	base := filepath.Join(e.tmp, "cold-"+strings.Fields(name)[0])
	cache := filepath.Join(base, "cache")
	invocation := `{"functions": {"api/hello.wasm": {"isolation": "invocation"}}}`
	noReserve := []string{}
	if e.has("min-instances") {
		noReserve = []string{"--min-instances", "0"}
	}
	cases := []*coldCase{{name: "warm (isolation instance)", note: "reference"}}
	supported := false
	// Probe for per-invocation isolation: a server that rejects the key
	// or the flag does not start.
	dir := filepath.Join(base, "probe")
	if err := bench.WriteSite(dir, map[string][]byte{"hello": wasm}, invocation); err != nil {
		return err
	}
	if srv, err := e.serve(ctx, dir, cache); err == nil {
		srv.Stop()
		supported = true
		cases = append(cases, &coldCase{name: "fresh instance per request", extra: noReserve, config: invocation})
		if e.has("snapshot") {
			cases = append(cases, &coldCase{name: "fresh instance, --snapshot=false", extra: append([]string{"--snapshot=false"}, noReserve...), config: invocation})
		}
		if e.has("min-instances") {
			cases = append(cases, &coldCase{name: "fresh instance, default reserve", config: invocation, note: "the default --min-instances refills a spare in the background"})
		}
	} else if ctx.Err() != nil {
		return ctx.Err()
	} else {
		logf("cold %s: isolation \"invocation\" not supported (%s); measuring the first request after each start", name, oneLine(err.Error()))
	}
	for i, c := range cases {
		dir := filepath.Join(base, strconv.Itoa(i))
		if err := bench.WriteSite(dir, map[string][]byte{"hello": wasm}, c.config); err != nil {
			return err
		}
		srv, err := e.serve(ctx, dir, cache, c.extra...)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		defer srv.Stop()
		c.srv = srv
		c.probe = bench.NewProber("http://" + srv.Addr + "/api/hello")
		defer c.probe.Close()
		// Open the connection (and warm the reference).
		for range 5 {
			if _, _, body, err := c.probe.Probe(ctx); err != nil && !errors.Is(err, bench.ErrNotReused) || body != helloBody {
				return fmt.Errorf("%s: first request: %v %q", c.name, err, body)
			}
		}
	}
	// Interleave: batches of each case in turn.
	const batches = 4
	per := max(e.o.coldN/batches, 1)
	for range batches {
		for _, c := range cases {
			for range per {
				ttfb, status, body, err := c.probe.Probe(ctx)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil || status != 200 || body != helloBody {
					c.fails++
					continue
				}
				c.ttfb = append(c.ttfb, ttfb)
			}
		}
	}
	if !supported {
		// The fallback: one cold start per process start.
		c := &coldCase{name: "first request after a start (fallback)", note: "isolation \"invocation\" is not available: one cold request per wfn start"}
		cases = append(cases, c)
		starts := 15
		for range starts {
			srv, err := e.serve(ctx, filepath.Join(base, "0"), cache)
			if err != nil {
				return err
			}
			p := bench.NewProber("http://" + srv.Addr + "/_wfn/healthz")
			_, _, _, _ = p.Probe(ctx) // open the connection
			ttfb, status, body, err := p.ProbeURL(ctx, "http://"+srv.Addr+"/api/hello")
			p.Close()
			srv.Stop()
			if err != nil || status != 200 || body != helloBody {
				c.fails++
				continue
			}
			c.ttfb = append(c.ttfb, ttfb)
		}
	}
	slices.Sort(cases[0].ttfb)
	warm := bench.Percentile(cases[0].ttfb, 50)
	e.table.Section(fmt.Sprintf("Cold start, %s (%d B): time to first response byte on an open keep-alive connection, compiled code cached on disk, %d sequential requests per case in %d interleaved batches",
		name, len(wasm), per*batches, batches))
	for _, c := range cases {
		slices.Sort(c.ttfb)
		p50, p90, p99 := bench.Percentile(c.ttfb, 50), bench.Percentile(c.ttfb, 90), bench.Percentile(c.ttfb, 99)
		ratio, notes := "1.00x", c.note
		if c != cases[0] {
			ratio = fmt.Sprintf("%.1fx warm", float64(p50)/float64(warm))
			notes = strings.TrimPrefix(notes+"; cold - warm = "+dur(float64(p50-warm)), "; ")
		}
		if c.fails > 0 {
			notes += fmt.Sprintf("; %d failed", c.fails)
		}
		if len(c.extra) > 0 {
			notes += "; " + strings.Join(c.extra, " ")
		}
		e.table.Add(name+": "+c.name, fmt.Sprintf("n=%d", len(c.ttfb)), dur(float64(p50)), dur(float64(p90)), dur(float64(p99)), ratio, notes)
	}
	return nil
}

// ---- start ----

func startSection(ctx context.Context, e *env) error {
	type guest struct {
		name        string
		bin         string // the wfn binary
		dir, cache  string
		first       *startResult
		ready, f200 []float64
		fails       []string
	}
	guests := []*guest{{name: "Go guest", bin: e.wfn}, {name: "WAT guest", bin: e.wfn}}
	wasms := [][]byte{e.goHello, e.watHello}
	for i, g := range guests {
		g.dir = filepath.Join(e.tmp, "start-"+strconv.Itoa(i))
		g.cache = filepath.Join(g.dir, ".cache")
		fns := map[string][]byte{}
		for j := range e.o.startN {
			fns["fn"+strconv.Itoa(j)] = bench.AppendCustomSection(wasms[i], "wfnbench", []byte(strconv.Itoa(j)))
		}
		if err := bench.WriteSite(g.dir, fns, ""); err != nil {
			return err
		}
		// The first start compiles and fills the cache: with a base binary,
		// that one, which compiles every function before Ready (a binary
		// that loads in the background is stopped after /api/fn0 answers,
		// with the others maybe not compiled yet).
		bin := g.bin
		if e.o.startBase != "" {
			bin = e.o.startBase
		}
		r, err := startOnce(ctx, e, bin, g.dir, g.cache)
		if err != nil {
			return fmt.Errorf("%s: first start: %w", g.name, err)
		}
		logf("start %s, empty cache: ready %s, first 200 %s", g.name, dur(r.ready), dur(r.first200))
		g.first = r
	}
	if e.o.startBase != "" {
		// The base binary starts over the same sites and warm caches.
		for i := range 2 {
			b := *guests[2*i]
			b.name, b.bin = b.name+", base binary", e.o.startBase
			guests = slices.Insert(guests, 2*i+1, &b)
		}
		wasms = [][]byte{e.goHello, e.goHello, e.watHello, e.watHello}
	}
	for range e.o.rounds {
		for _, g := range guests {
			r, err := startOnce(ctx, e, g.bin, g.dir, g.cache)
			if err != nil {
				g.fails = append(g.fails, oneLine(err.Error()))
				continue
			}
			logf("start %s, warm cache: ready %s, first 200 %s", g.name, dur(r.ready), dur(r.first200))
			g.ready = append(g.ready, r.ready)
			g.f200 = append(g.f200, r.first200)
		}
	}
	flags := ""
	if e.has("min-instances") {
		flags = " (default flags: --min-instances 1 makes one instance per function at start)"
	}
	e.table.Section(fmt.Sprintf("Start: wfn serve with %d distinct functions, warm compilation cache (medians of %d starts)%s", e.o.startN, e.o.rounds, flags))
	for i, g := range guests {
		notes := fmt.Sprintf("to Ready per start: %s; empty cache: Ready %s, first 200 %s; %d B each", joinDur(g.ready), dur(g.first.ready), dur(g.first.first200), len(wasms[i]))
		if len(g.fails) > 0 {
			notes += "; failures: " + strings.Join(g.fails, " | ")
		}
		e.table.Add(g.name+": exec to Ready", dur(bench.Median(g.ready)), "", "", "", "", notes)
		e.table.Add(g.name+": exec to first 200 on /api/fn0", dur(bench.Median(g.f200)), "", "", "", "", "first 200 per start: "+joinDur(g.f200))
	}
	return nil
}

type startResult struct{ ready, first200 float64 }

// startOnce starts wfn serve on a port chosen beforehand and polls
// /api/fn0 from the moment of exec, so that the first 200 is timed from
// exec whether or not it comes after the Ready line.
func startOnce(ctx context.Context, e *env, bin, dir, cache string) (*startResult, error) {
	addr, err := bench.FreePort()
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	got := make(chan time.Time, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 3 * time.Minute}
		for pctx.Err() == nil {
			req, _ := http.NewRequestWithContext(pctx, "GET", "http://"+addr+"/api/fn0", nil)
			resp, err := client.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && string(b) == helloBody {
					got <- time.Now()
					return
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	args := []string{"serve", dir, "--listen", addr, "--cache-dir", cache, "--log-level", "warn"}
	srv, err := bench.StartServer(ctx, 10*time.Minute, bin, args...)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	select {
	case t := <-got:
		return &startResult{ready: float64(srv.Ready), first200: float64(t.Sub(srv.Started))}, nil
	case <-pctx.Done():
		return nil, errors.New("no 200 on /api/fn0 within 10 minutes")
	}
}

// ---- density ----

func densitySection(ctx context.Context, e *env) error {
	if e.o.delay > 0 {
		return delaySection(ctx, e)
	}
	bsrv, err := bench.StartServer(ctx, 30*time.Second, e.self, "-backend-server", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer bsrv.Stop()
	backend := bench.NewRemoteBackend("http://" + bsrv.Addr + "/")
	e.table.Section("Density: invocations held at once, each waiting on a slow backend (a child process that counts them), one wfn serve, one connection per request")
	// wfn holds two descriptors per invocation (client, backend).
	fdMax := (nofile - 200) / 2
	n := e.o.densityN
	if n > fdMax {
		e.table.Note("density: N=%d clamped to %d: RLIMIT_NOFILE is %d and cannot be raised here (no CAP_SYS_RESOURCE); wfn needs 2 descriptors per held invocation", n, fdMax, nofile)
		n = fdMax
	}
	guests := strings.Split(e.o.densityOf, ",")
	if slices.Contains(guests, "wat") {
		r := densityLevel(ctx, e, backend, "WAT guest", e.watWait, n)
		e.table.Add(r.row()...)
	}
	for _, g := range []struct{ key, name string }{{"go", "Go guest"}, {"go-v2", "Go guest, ABI v2"}} {
		if !slices.Contains(guests, g.key) {
			continue
		}
		wasm := e.goWait
		if g.key == "go-v2" {
			wasm = e.goWaitV2
		}
		if err := densityLevels(ctx, e, backend, g.name, wasm, fdMax); err != nil {
			return err
		}
	}
	return nil
}

// densityLevels tries the levels of -density-go in turn for one Go guest,
// while memory allows and every level is held.
func densityLevels(ctx context.Context, e *env, backend *bench.RemoteBackend, name string, wasm []byte, fdMax int) error {
	var perHeld float64
	largest := 0
	defer func() {
		e.table.Note("density: largest N the %s held with every request answered 200: %d (levels tried: %v)", name, largest, e.o.goDensity)
	}()
	for _, n := range e.o.goDensity {
		n = min(n, fdMax)
		if perHeld > 0 {
			if predicted := perHeld * float64(n); predicted > float64(e.o.maxRSS<<30) {
				e.table.Add(fmt.Sprintf("%s: N=%d", name, n), "skipped", "", "", "", "", fmt.Sprintf("predicted RSS %.1f GiB > %d GiB", predicted/(1<<30), e.o.maxRSS))
				break
			}
		}
		r := densityLevel(ctx, e, backend, name, wasm, n)
		e.table.Add(r.row()...)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !r.ok() {
			break
		}
		largest, perHeld = n, r.perHeld
	}
	return nil
}

type densityResult struct {
	name          string
	n, reached    int
	idle, rss     int64
	hwm           int64
	perHeld       float64
	took          time.Duration
	ok200, non2xx int64
	errs          int64
	failure       string
	// cpu is wfn's CPU time from the first held request to the last
	// response; instances the cold starts it counts (/_wfn/metrics)
	// over the level, warm-up included (-1: not read); p50 and p99 the
	// time from the backend's release to each response's head.
	cpu       time.Duration
	instances int64
	p50, p99  time.Duration
}

func (r densityResult) ok() bool {
	return r.failure == "" && r.reached == r.n && r.ok200 == int64(r.n)
}

func (r densityResult) row() []string {
	name := fmt.Sprintf("%s: N=%d", r.name, r.n)
	if r.reached == 0 && r.failure != "" {
		return []string{name, "FAILED", "", "", "", "", oneLine(r.failure)}
	}
	value := fmt.Sprintf("%d held", r.reached)
	notes := fmt.Sprintf("%s per held invocation: RSS %s held - %s idle; VmHWM %s; all held after %s; after release %d x 200, release to response p50 %s p99 %s; wfn CPU %.2f s; instances made %d",
		mib(r.perHeld), mib(float64(r.rss)), mib(float64(r.idle)), mib(float64(r.hwm)), r.took.Round(100*time.Millisecond), r.ok200,
		dur(float64(r.p50)), dur(float64(r.p99)), r.cpu.Seconds(), r.instances)
	if r.non2xx+r.errs > 0 {
		notes += fmt.Sprintf(", %d non-2xx, %d errors", r.non2xx, r.errs)
	}
	if r.failure != "" {
		notes += "; " + oneLine(r.failure)
	}
	return []string{name, value, "", "", "", "", notes}
}

// warmDensity warms srv up with the backend answering at once, so that a
// few instances and outbound connections exist, as on a server that has
// served (the first request compiles the guest: minutes on a loaded
// machine), then makes the backend hold its requests. It returns srv's
// RSS in bytes a second later, or why the warm-up failed.
func warmDensity(ctx context.Context, srv *bench.Server, backend *bench.RemoteBackend, body []byte) (idle int64, failure string) {
	if err := backend.SetPass(true); err != nil {
		return 0, err.Error()
	}
	warm := bench.Hold(ctx, srv.Addr, "/api/wait", body, 8, 8)
	warm.Wait(3 * time.Minute)
	if err := backend.SetPass(false); err != nil || warm.OK.Load() != 8 {
		return 0, fmt.Sprintf("warm-up failed: %d of 8 answered 200 within 3 minutes: %v %s", warm.OK.Load(), err, warm.Failure())
	}
	time.Sleep(time.Second)
	idle, _, _ = bench.RSS(srv.Pid())
	return idle, ""
}

func densityLevel(ctx context.Context, e *env, backend *bench.RemoteBackend, name string, wasm []byte, n int) (res densityResult) {
	res = densityResult{name: name, n: n}
	logf("density %s N=%d", name, n)
	key := strings.NewReplacer(" ", "-", ",", "").Replace(name)
	dir := filepath.Join(e.tmp, fmt.Sprintf("density-%s-%d", key, n))
	// instanceConcurrency lets one instance of an ABI v2 guest hold them
	// all; a v1 guest's instances serve one invocation each regardless.
	config := `{"functions": {"api/wait.wasm": {"allowedOutboundHosts": ["127.0.0.1:*"], "instanceConcurrency": 100000}}}`
	if err := bench.WriteSite(dir, map[string][]byte{"wait": wasm}, config); err != nil {
		res.failure = err.Error()
		return res
	}
	limit := strconv.Itoa(n + 100)
	srv, err := e.serve(ctx, dir, filepath.Join(e.tmp, "density-cache-"+key),
		"--max-instances", limit, "--max-instances-per-function", limit, "--max-queue", limit)
	if err != nil {
		res.failure = err.Error()
		return res
	}
	defer srv.Stop()
	body := []byte(backend.URL)
	if res.idle, res.failure = warmDensity(ctx, srv, backend, body); res.failure != "" {
		return res
	}

	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cpu0, _ := bench.CPUTime(srv.Pid())
	start := time.Now()
	h := bench.Hold(hctx, srv.Addr, "/api/wait", body, n, 256)
	// Wait until the backend holds all N, nothing more can come (every
	// request held or failed), or the time bound.
	bound := 60*time.Second + time.Duration(n)*20*time.Millisecond
	deadline := time.Now().Add(bound)
	lastProgress, last := time.Now(), 0
	for {
		in, _, err := backend.Count()
		if err != nil {
			res.failure = "backend: " + err.Error()
			break
		}
		if in >= n {
			break
		}
		if in+h.Done() >= n && h.Done() > 0 {
			res.failure = "some requests ended before they were held"
			break
		}
		if in != last {
			last, lastProgress = in, time.Now()
		}
		if time.Since(lastProgress) > 30*time.Second || time.Now().After(deadline) {
			res.failure = fmt.Sprintf("stalled at %d held after %s", in, time.Since(start).Round(time.Second))
			break
		}
		if srv.Exited() {
			res.failure = "wfn exited: " + oneLine(srv.Stderr())
			break
		}
		if rss, _, err := bench.RSS(srv.Pid()); err == nil && rss > e.o.maxRSS<<30 {
			res.failure = fmt.Sprintf("RSS passed %d GiB at %d held", e.o.maxRSS, in)
			break
		}
		if ctx.Err() != nil {
			res.failure = ctx.Err().Error()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.took = time.Since(start)
	res.reached, _, _ = backend.Count()
	// Let the server settle, then sample.
	time.Sleep(time.Second)
	var samples []float64
	for range 3 {
		rss, hwm, err := bench.RSS(srv.Pid())
		if err == nil {
			samples = append(samples, float64(rss))
			res.hwm = hwm
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.rss = int64(bench.Median(samples))
	if e.o.profileDir != "" {
		if err := saveProfiles(e.o.profileDir, srv.Addr, key+"-"+strconv.Itoa(n)); err != nil {
			logf("density: profiles: %v", err)
		}
	}
	if res.reached > 0 {
		res.perHeld = float64(res.rss-res.idle) / float64(res.reached)
	}
	logf("density %s N=%d: %d held after %s, RSS %s (idle %s), %s each", name, n, res.reached, res.took.Round(time.Millisecond), mib(float64(res.rss)), mib(float64(res.idle)), mib(res.perHeld))
	var cpuProf sync.WaitGroup
	if e.o.profileDir != "" {
		// The CPU profile of the release: every held invocation ends.
		cpuProf.Go(func() {
			if err := saveProfile(e.o.profileDir, srv.Addr, "profile?seconds=10", key+"-"+strconv.Itoa(n)+"-release-cpu.pb.gz"); err != nil {
				logf("density: CPU profile: %v", err)
			}
		})
		time.Sleep(100 * time.Millisecond)
	}
	defer cpuProf.Wait()
	released := time.Now()
	if err := backend.Release(); err != nil {
		res.failure = strings.TrimPrefix(res.failure+"; release: "+err.Error(), "; ")
	}
	if !h.Wait(2 * time.Minute) {
		h.Abort()
		if res.failure == "" {
			res.failure = "responses did not all come back within 2 minutes of the release"
		}
		h.Wait(10 * time.Second)
	}
	if cpu1, err := bench.CPUTime(srv.Pid()); err == nil {
		res.cpu = cpu1 - cpu0
	}
	var lat []float64
	for _, t := range h.Ends() {
		lat = append(lat, float64(t.Sub(released)))
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.p50, res.p99 = time.Duration(lat[len(lat)/2]), time.Duration(lat[len(lat)*99/100])
	}
	res.instances = coldStarts(srv.Addr)
	res.ok200, res.non2xx, res.errs = h.OK.Load(), h.Non2xx.Load(), h.Errs.Load()
	if f := h.Failure(); f != "" {
		res.failure = strings.TrimPrefix(res.failure+"; "+f, "; ")
	}
	if res.reached < n && res.failure == "" {
		res.failure = fmt.Sprintf("only %d of %d held", res.reached, n)
	}
	return res
}

// coldStarts is the sum of wfn_cold_starts_total on wfn's /_wfn/metrics
// (the instances made, both ABIs), or -1.
func coldStarts(addr string) int64 {
	resp, err := http.Get("http://" + addr + "/_wfn/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return -1
	}
	var n int64 = -1
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, "wfn_cold_starts_total") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		n = max(n, 0) + int64(v)
	}
	return n
}

// saveProfiles saves wfn's heap profile and its goroutines (text) from
// the admin endpoints under the functions' listener, as name-heap.pb.gz,
// name-heap.txt (with the runtime's MemStats) and name-goroutine.txt in
// dir.
func saveProfiles(dir, addr, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range []struct{ path, file string }{
		{"heap", name + "-heap.pb.gz"},
		{"heap?debug=1", name + "-heap.txt"},
		{"goroutine?debug=1", name + "-goroutine.txt"},
	} {
		if err := saveProfile(dir, addr, p.path, p.file); err != nil {
			return err
		}
	}
	return nil
}

// saveMemory saves, as dir/name-memory.txt, wfn's Go runtime metrics
// (/_wfn/metrics, its go_memstats_* and go_gc_* lines) and the kernel's
// /proc/PID/smaps_rollup and /proc/PID/status of the process pid.
func saveMemory(dir, addr string, pid int, name string) error {
	b, err := adminGet(addr, "/_wfn/metrics")
	if err != nil {
		return err
	}
	var out strings.Builder
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(l, "go_memstats_") || strings.HasPrefix(l, "go_gc_") || strings.HasPrefix(l, "go_goroutines") || strings.HasPrefix(l, "process_resident") {
			out.WriteString(l + "\n")
		}
	}
	for _, f := range []string{"smaps_rollup", "status"} {
		k, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			return err
		}
		fmt.Fprintf(&out, "\n# /proc/%d/%s\n%s", pid, f, k)
	}
	return os.WriteFile(filepath.Join(dir, name+"-memory.txt"), []byte(out.String()), 0o644)
}

// saveProfile saves wfn's /_wfn/debug/pprof/path as dir/file.
func saveProfile(dir, addr, path, file string) error {
	b, err := adminGet(addr, "/_wfn/debug/pprof/"+path)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, file), b, 0o644)
}

// adminGet returns the body of GET path on wfn's server at addr; a status
// other than 200 is an error.
func adminGet(addr, path string) ([]byte, error) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", path, resp.Status)
	}
	return b, nil
}

// ---- formatting ----

func dur(ns float64) string {
	d := time.Duration(ns)
	switch {
	case d == 0:
		return "0"
	case d < 0:
		return "-" + dur(-ns)
	case d < 100*time.Microsecond:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	default:
		return fmt.Sprintf("%.2f s", ns/1e9)
	}
}

func mib(b float64) string {
	switch {
	case b < 0:
		return "-" + mib(-b)
	case b < 1<<20:
		return fmt.Sprintf("%.0f KiB", b/(1<<10))
	case b < 1<<30:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	default:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	}
}

func joinFloats(xs []float64, format string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(s, " ")
}

func joinDur(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = dur(x)
	}
	return strings.Join(s, ", ")
}

// serveNative serves h on addr as the native servers of the benchmark do
// (net/http with header and idle timeouts), printing "Ready on URL" once
// it listens; it exits the process with the error if serving fails.
func serveNative(addr string, h http.Handler) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("Ready on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
