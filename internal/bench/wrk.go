package bench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrNoWrk is returned by Wrk.Run when wrk (the Debian package wrk) is not
// on the PATH.
var ErrNoWrk = errors.New("bench: wrk is not installed (Debian package wrk)")

// Wrk is a closed-loop load by wrk, the C load generator: one thread and
// Conns keep-alive connections (wrk -t1 -cN), so that the generator takes
// one core's worth at most from the server it shares the machine with,
// less than the Go generator (Load) does at the same load.
type Wrk struct {
	URL      string // such as http://127.0.0.1:3000/api/hello
	Conns    int
	Duration time.Duration // whole seconds; wrk has no warm-up of its own
}

// Run runs wrk and parses its report. Non-2xx responses and socket errors
// are counted, not failures: the caller decides.
func (l Wrk) Run(ctx context.Context) (LoadResult, error) {
	path, err := exec.LookPath("wrk")
	if err != nil {
		return LoadResult{}, ErrNoWrk
	}
	secs := max(int(l.Duration.Round(time.Second)/time.Second), 1)
	out, err := exec.CommandContext(ctx, path, "-t1", "-c"+strconv.Itoa(l.Conns), "-d"+strconv.Itoa(secs)+"s", "--latency", l.URL).CombinedOutput()
	if err != nil {
		return LoadResult{}, fmt.Errorf("bench: wrk: %w\n%s", err, out)
	}
	return ParseWrk(string(out))
}

var (
	wrkTotalRE   = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m),`)
	wrkPctRE     = regexp.MustCompile(`(?m)^\s*(50|90|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	wrkMaxRE     = regexp.MustCompile(`(?m)^\s*Latency\s+\S+\s+\S+\s+([0-9.]+)(us|ms|s|m)`)
	wrkNon2xxRE  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkSocketsRE = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// ParseWrk reads the report of `wrk --latency`: requests, the window, the
// 50th, 90th and 99th latency percentiles, the maximum, non-2xx (wrk
// counts 3xx with them) and socket errors.
func ParseWrk(out string) (LoadResult, error) {
	var res LoadResult
	m := wrkTotalRE.FindStringSubmatch(out)
	if m == nil {
		return res, fmt.Errorf("bench: no request count in wrk's report:\n%s", out)
	}
	total, _ := strconv.Atoi(m[1])
	res.Elapsed = wrkDuration(m[2], m[3])
	for _, p := range wrkPctRE.FindAllStringSubmatch(out, -1) {
		d := wrkDuration(p[2], p[3])
		switch p[1] {
		case "50":
			res.P50 = d
		case "90":
			res.P90 = d
		case "99":
			res.P99 = d
		}
	}
	if m := wrkMaxRE.FindStringSubmatch(out); m != nil {
		res.Max = wrkDuration(m[1], m[2])
	}
	if m := wrkNon2xxRE.FindStringSubmatch(out); m != nil {
		res.Non2xx, _ = strconv.Atoi(m[1])
	}
	if m := wrkSocketsRE.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			res.Errors += n
		}
		if res.Errors > 0 {
			res.FirstErr = errors.New(strings.TrimSpace(m[0]))
		}
	}
	res.Requests = max(total-res.Non2xx, 0)
	return res, nil
}

// wrkDuration reads one of wrk's durations: a number and us, ms, s or m.
func wrkDuration(num, unit string) time.Duration {
	f, _ := strconv.ParseFloat(num, 64)
	scale := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9}[unit]
	return time.Duration(f * scale)
}
