package bench_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/bench"
)

// Reports of wrk 4.1.0 (Debian) with --latency, against a loopback server.
const (
	wrkOK = `Running 1s test @ http://127.0.0.1:18491/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    89.30us  253.89us   6.37ms   95.73%
    Req/Sec    76.89k     4.40k   81.61k    72.73%
  Latency Distribution
     50%   41.00us
     75%   45.00us
     90%   73.00us
     99%    1.34ms
  84037 requests in 1.10s, 9.46MB read
Requests/sec:  76388.94
Transfer/sec:      8.60MB
`
	wrkFailing = `Running 1s test @ http://127.0.0.1:18491/x
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    91.79us  279.89us   3.95ms   96.24%
    Req/Sec    77.25k     5.32k   80.87k    90.91%
  Latency Distribution
     50%   41.00us
     75%   46.00us
     90%   67.00us
     99%    1.55ms
  84436 requests in 1.10s, 11.03MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 84430
Requests/sec:  76763.35
Transfer/sec:     10.03MB
`
)

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want bench.LoadResult
	}{
		{name: "2xx", out: wrkOK, want: bench.LoadResult{
			Requests: 84037, Elapsed: 1100 * time.Millisecond,
			P50: 41 * time.Microsecond, P90: 73 * time.Microsecond, P99: 1340 * time.Microsecond, Max: 6370 * time.Microsecond,
		}},
		{name: "non-2xx and socket errors", out: wrkFailing, want: bench.LoadResult{
			Requests: 6, Non2xx: 84430, Errors: 3, Elapsed: 1100 * time.Millisecond,
			P50: 41 * time.Microsecond, P90: 67 * time.Microsecond, P99: 1550 * time.Microsecond, Max: 3950 * time.Microsecond,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bench.ParseWrk(tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if (got.FirstErr != nil) != (tt.want.Errors > 0) {
				t.Errorf("FirstErr = %v with %d errors", got.FirstErr, got.Errors)
			}
			got.FirstErr = nil
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := bench.ParseWrk("wrk: connection refused\n"); err == nil {
		t.Error("a report without a request count parsed")
	}
}

// TestWrkRun drives a loopback server with the real wrk for a second, as
// wfnbench's warm section does (-load wrk), and checks that the report
// reads back: every request a 2xx, none a socket error. It skips without
// wrk, except on CI, which installs it.
func TestWrkRun(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("wrk (Debian package wrk) is needed: %v", err)
		}
		t.Skip("wrk (Debian package wrk) is not installed")
	}
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "hello")
	}))
	defer srv.Close()
	res, err := bench.Wrk{URL: srv.URL + "/", Conns: 4, Duration: time.Second}.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Non2xx != 0 || res.Errors != 0 || res.Elapsed <= 0 || res.P50 <= 0 || res.P99 < res.P50 {
		t.Errorf("wrk against a 200 server: %+v", res)
	}
	if int64(res.Requests) > served.Load() {
		t.Errorf("wrk reported %d requests, the server saw %d", res.Requests, served.Load())
	}
	res, err = bench.Wrk{URL: srv.URL + "/missing", Conns: 4, Duration: time.Second}.Run(t.Context())
	if err != nil || res.Non2xx == 0 {
		t.Errorf("wrk against a 404: %+v, %v (want non-2xx counted)", res, err)
	}
}
