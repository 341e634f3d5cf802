package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wfn-dev/wfn/internal/pgserver"
)

// dbBench is a function that times the query itself, n times per
// invocation (?n=), on the pool's connection (?mode=pool: a pgxpool
// dialing through wfnnet.PoolDialContext, kept across invocations) or on
// a connection dialed, used and closed each time (?mode=fresh), with the
// request's context or (?watch=no) one that cannot end, and answers, as JSON, each query's duration and the part of it spent in
// the connection's Read and Write (the host's tcp_read and tcp_write:
// the wait for the server included), in microseconds.
const dbBench = `package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
)

func init() { wfnhttp.Handle(http.HandlerFunc(handle)) }

var pool *pgxpool.Pool

// timedConn adds the time spent in Read and Write to ioTime.
type timedConn struct{ net.Conn }

var ioTime time.Duration

func (c timedConn) Read(p []byte) (int, error) {
	start := time.Now()
	defer func() { ioTime += time.Since(start) }()
	return c.Conn.Read(p)
}

func (c timedConn) Write(p []byte) (int, error) {
	start := time.Now()
	defer func() { ioTime += time.Since(start) }()
	return c.Conn.Write(p)
}

func timed(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return timedConn{c}, nil
	}
}

func handle(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.URL.Query().Get("watch") == "no" {
		// pgx watches a context that can end with context.AfterFunc
		// around each query; this one cannot.
		ctx = context.WithoutCancel(ctx)
	}
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	cfg.ConnConfig.LookupFunc = wfnnet.LookupHost
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	// Read once, not per query: parsing the URL's query is compute too.
	pooled := r.URL.Query().Get("mode") != "fresh"
	var times benchTimes
	for range n {
		var now time.Time
		io := ioTime
		start := time.Now()
		if pooled {
			if pool == nil {
				cfg.ConnConfig.DialFunc = timed(wfnnet.PoolDialContext)
				if pool, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
			}
			err = pool.QueryRow(ctx, "SELECT NOW()").Scan(&now)
		} else {
			cfg.ConnConfig.DialFunc = timed(wfnnet.DialContext)
			var c *pgx.Conn
			if c, err = pgx.ConnectConfig(ctx, cfg.ConnConfig); err == nil {
				err = c.QueryRow(ctx, "SELECT NOW()").Scan(&now)
				c.Close(ctx)
			}
		}
		if err != nil {
			http.Error(w, err.Error(), 503)
			return
		}
		times.Total = append(times.Total, time.Since(start).Microseconds())
		times.IO = append(times.IO, (ioTime - io).Microseconds())
	}
	json.NewEncoder(w).Encode(times)
}

type benchTimes struct{ Total, IO []int64 }

func main() {}
`

// benchTimes is what dbBench answers: each query's duration and its part
// in Read and Write, in microseconds.
type benchTimes struct{ Total, IO []int64 }

// timedConn adds the time spent in Read and Write to ioTime, as dbBench's
// does.
type timedConn struct{ net.Conn }

// ioTime is in nanoseconds; the native handler's connections add to it
// too, from the server's goroutines.
var ioTime atomic.Int64

func (c timedConn) Read(p []byte) (int, error) {
	start := time.Now()
	defer func() { ioTime.Add(int64(time.Since(start))) }()
	return c.Conn.Read(p)
}

func (c timedConn) Write(p []byte) (int, error) {
	start := time.Now()
	defer func() { ioTime.Add(int64(time.Since(start))) }()
	return c.Conn.Write(p)
}

// timedConfig parses url with a dialer whose connections are timedConns.
func timedConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return timedConn{c}, nil
	}
	return cfg, nil
}

// nativeQueries is the native program's side of dbBench: the same
// queries, timed the same way, with net's dialer.
func nativeQueries(ctx context.Context, cfg *pgxpool.Config, pool *pgxpool.Pool, n int) (benchTimes, error) {
	var times benchTimes
	for range n {
		var now time.Time
		io := ioTime.Load()
		start := time.Now()
		var err error
		if pool != nil {
			err = pool.QueryRow(ctx, "SELECT NOW()").Scan(&now)
		} else {
			var c *pgx.Conn
			if c, err = pgx.ConnectConfig(ctx, cfg.ConnConfig); err == nil {
				err = c.QueryRow(ctx, "SELECT NOW()").Scan(&now)
				c.Close(ctx)
			}
		}
		if err != nil {
			return times, err
		}
		times.Total = append(times.Total, time.Since(start).Microseconds())
		times.IO = append(times.IO, time.Duration(ioTime.Load()-io).Microseconds())
	}
	return times, nil
}

// nativeDB is the native program's handler: the same query and answer as
// api/db, on a pgxpool (pool non-nil) or on a connection per request.
func nativeDB(url string, pool *pgxpool.Pool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var answer struct {
			Now        time.Time `json:"now"`
			BackendPid int32     `json:"backendPid"`
		}
		q := "SELECT NOW(), pg_backend_pid()"
		var err error
		if pool != nil {
			err = pool.QueryRow(r.Context(), q).Scan(&answer.Now, &answer.BackendPid)
		} else {
			var c *pgx.Conn
			if c, err = pgx.Connect(r.Context(), url); err == nil {
				err = c.QueryRow(r.Context(), q).Scan(&answer.Now, &answer.BackendPid)
				c.Close(context.Background())
			}
		}
		if err != nil {
			http.Error(w, err.Error(), 503)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
	}
}

// BenchmarkPgxQuery runs SELECT NOW() through pgx in a Go guest served by
// wfn and in this native Go program, on the same PostgreSQL, with the
// pool's connection reused and with a connection dialed per query. Each
// iteration runs, in turn, 10 timed queries in the guest (one request
// to api/dbbench) and 10 natively, for each mode, so that the machine's
// load falls on both alike; the metrics are the median query time of
// each and the ratios guest/native, and the same for each query's part
// in the connection's Read and Write (-io: the host's tcp_read and
// tcp_write for the guest, the wait for the server included) and outside
// them (-compute: pgx's own work). pool-nowatch is pool with a context
// that cannot end on both sides (context.WithoutCancel), which pgx does
// not watch: the difference is the cost of pgx's context.AfterFunc and
// its stop around each query. It also times whole HTTP requests to
// api/db and to the same handler served natively (net/http, pgxpool),
// which adds the invocation's own cost. Run it with a fixed count (see
// BENCHMARKS.md):
//
//	cd guests/api && go test -run '^$' -bench PgxQuery -benchtime 100x ./db
//
// With WFN_TEST_ENGINE=wasmtime the guest runs on the Wasmtime engine.
func BenchmarkPgxQuery(b *testing.B) {
	const n = 10
	url := pgserver.URL(b)
	guest := serveHost(b, servedDir(b, map[string]string{"dbbench": dbBench}), map[string]string{"DATABASE_URL": url})
	cfg, err := timedConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	native := httptest.NewServer(nativeDB(url, pool))
	defer native.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(url string, into any) time.Duration {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(into)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil {
			b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		return time.Since(start)
	}
	samples := map[string][]int64{}
	// add files each query's duration under name, and its parts in Read
	// and Write (name-io) and outside them (name-compute: the driver's own
	// work, in WebAssembly for the guest).
	add := func(name string, t benchTimes) {
		samples[name] = append(samples[name], t.Total...)
		samples[name+"-io"] = append(samples[name+"-io"], t.IO...)
		for i, total := range t.Total {
			samples[name+"-compute"] = append(samples[name+"-compute"], total-t.IO[i])
		}
	}
	round := func() {
		for _, mode := range []string{"pool", "fresh", "pool-nowatch"} {
			var times benchTimes
			query := "&mode=" + mode
			if mode == "pool-nowatch" {
				query = "&mode=pool&watch=no"
			}
			get(guest+"/api/dbbench?n="+strconv.Itoa(n)+query, &times)
			add("guest-"+mode, times)
			p := pool
			if mode == "fresh" {
				p = nil
			}
			// A context that can end, as the guest's request context: pgx
			// watches it during each query; pool-nowatch's cannot end.
			ctx, cancel := context.WithCancel(context.Background())
			if mode == "pool-nowatch" {
				ctx = context.WithoutCancel(ctx)
			}
			times, err := nativeQueries(ctx, cfg, p, n)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			add("native-"+mode, times)
		}
		var a answer
		samples["guest-http"] = append(samples["guest-http"], get(guest+"/api/db", &a).Microseconds())
		samples["native-http"] = append(samples["native-http"], get(native.URL, &a).Microseconds())
	}
	med := medianRounds(b, round, samples)
	b.ReportMetric(med["guest-pool"]/med["native-pool"], "pool-guest/native")
	b.ReportMetric(med["guest-pool-io"]/med["native-pool-io"], "pool-io-guest/native")
	b.ReportMetric(med["guest-pool-compute"]/med["native-pool-compute"], "pool-compute-guest/native")
	b.ReportMetric(med["guest-pool-nowatch"]/med["native-pool-nowatch"], "pool-nowatch-guest/native")
	b.ReportMetric(med["guest-pool-nowatch-compute"]/med["native-pool-nowatch-compute"], "pool-nowatch-compute-guest/native")
	b.ReportMetric(med["guest-fresh"]/med["native-fresh"], "fresh-guest/native")
	b.ReportMetric(med["guest-http"]/med["native-http"], "http-guest/native")
	logLoad(b)
}

// medianRounds runs round 3 times to warm up (built, compiled, an
// instance and a pooled connection each), then b.N times timed, and
// returns the median of each series round appended to samples (µs),
// reporting each as a metric.
func medianRounds(b *testing.B, round func(), samples map[string][]int64) map[string]float64 {
	for range 3 {
		round()
	}
	clear(samples)
	b.ResetTimer()
	for range b.N {
		round()
	}
	b.StopTimer()
	med := map[string]float64{}
	for name, s := range samples {
		slices.Sort(s)
		med[name] = float64(s[len(s)/2])
		b.ReportMetric(med[name], name+"-µs")
	}
	return med
}

// logLoad logs the machine's load average, which the figures depend on.
func logLoad(b *testing.B) {
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average: %s", load)
	}
}
