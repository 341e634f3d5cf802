package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wfn-dev/wfn/internal/pgserver"
)

// dbFresh is a function that runs the same query as api/db on a
// connection of its own, dialed and closed in each invocation: the
// benchmark's case without a pool.
const dbFresh = `package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
)

func init() { wfnhttp.Handle(http.HandlerFunc(handle)) }

func handle(w http.ResponseWriter, r *http.Request) {
	cfg, err := pgx.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	cfg.DialFunc = wfnnet.DialContext
	cfg.LookupFunc = wfnnet.LookupHost
	c, err := pgx.ConnectConfig(r.Context(), cfg)
	if err != nil {
		http.Error(w, err.Error(), 503)
		return
	}
	defer c.Close(context.Background())
	var answer struct {
		Now        time.Time ` + "`json:\"now\"`" + `
		BackendPid int32     ` + "`json:\"backendPid\"`" + `
	}
	if err := c.QueryRow(r.Context(), "SELECT NOW(), pg_backend_pid()").Scan(&answer.Now, &answer.BackendPid); err != nil {
		http.Error(w, err.Error(), 503)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}

func main() {}
`

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
// wfn and in a native Go program (net/http and pgx, no WebAssembly) on
// the same PostgreSQL, with the pool reused across requests and with a
// connection dialed per request. Each iteration sends one HTTP request to
// each of the four, in turn, so that the machine's load falls on all
// alike; the metrics are the median round trip of each and the ratios
// guest/native. Run it with a fixed count (see BENCHMARKS.md):
//
//	cd guests/api && go test -run '^$' -bench PgxQuery -benchtime 400x ./db
func BenchmarkPgxQuery(b *testing.B) {
	url := pgserver.URL(b)
	guest := serveHost(b, servedDir(b, map[string]string{"dbfresh": dbFresh}), map[string]string{"DATABASE_URL": url})
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	pooled := httptest.NewServer(nativeDB(url, pool))
	defer pooled.Close()
	fresh := httptest.NewServer(nativeDB(url, nil))
	defer fresh.Close()

	targets := []struct{ name, url string }{
		{"guest-pool", guest + "/api/db"},
		{"native-pool", pooled.URL},
		{"guest-fresh", guest + "/api/dbfresh"},
		{"native-fresh", fresh.URL},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(url string) time.Duration {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		var a struct{ BackendPid int32 }
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || a.BackendPid == 0 {
			b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		return time.Since(start)
	}
	// Warm up: built, compiled, an instance and a pooled connection each.
	for range 5 {
		for _, tg := range targets {
			get(tg.url)
		}
	}
	times := make([][]time.Duration, len(targets))
	b.ResetTimer()
	for range b.N {
		for i, tg := range targets {
			times[i] = append(times[i], get(tg.url))
		}
	}
	b.StopTimer()
	med := make([]float64, len(targets))
	for i, tg := range targets {
		slices.Sort(times[i])
		med[i] = float64(times[i][len(times[i])/2].Microseconds())
		b.ReportMetric(med[i], tg.name+"-µs")
	}
	b.ReportMetric(med[0]/med[1], "pool-guest/native")
	b.ReportMetric(med[2]/med[3], "fresh-guest/native")
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average: %s", load)
	}
}
