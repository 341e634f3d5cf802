package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wfn-dev/wfn/internal/pgserver"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// fluidPg is an ordinary pgx function (a pgxpool dialing through
// wfnnet.PoolDialContext, attached with wfn.AttachDatabasePool) that the
// served directory's "fluid": true builds for ABI version 2, so that many
// invocations share one instance and its pool (abi/SPEC-v2.md section 8):
//
//	?op=query&sleep=S  SELECT pg_backend_pid() after pg_sleep(S); answers
//	                   "pid instance"
//	?op=stats          the pool's connections
//	?op=down           connects to DOWN_URL (nothing listens there) with a
//	                   connection of the invocation; 503 with pgx's error
const fluidPg = `package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
)

func init() { wfnhttp.Handle(http.HandlerFunc(handle)) }

var instance = func() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

var (
	mu   sync.Mutex
	pool *pgxpool.Pool
)

func getPool() (*pgxpool.Pool, error) {
	mu.Lock()
	defer mu.Unlock()
	if pool != nil {
		return pool, nil
	}
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.DialFunc = wfnnet.PoolDialContext
	cfg.ConnConfig.LookupFunc = wfnnet.LookupHost
	cfg.MaxConns = 4
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	if err := wfn.AttachDatabasePool(p); err != nil {
		return nil, err
	}
	pool = p
	return p, nil
}

func handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("op") {
	case "query":
		p, err := getPool()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		var pid int32
		if err := p.QueryRow(r.Context(), "SELECT pg_backend_pid() FROM pg_sleep($1::float8)", q.Get("sleep")).Scan(&pid); err != nil {
			http.Error(w, err.Error(), 503)
			return
		}
		fmt.Fprintf(w, "%d %s", pid, instance)
	case "stats":
		p, err := getPool()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, p.Stat().TotalConns())
	case "down":
		cfg, err := pgx.ParseConfig(os.Getenv("DOWN_URL"))
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
		c.Close(r.Context())
		fmt.Fprint(w, "connected")
	}
}

func main() {}
`

// fluidDir is servedDir with the functions of extra, those named in fluid
// built for ABI version 2 ("fluid": true) and cancelled when their client
// leaves.
func fluidDir(t testing.TB, extra map[string]string, fluid ...string) string {
	dir := servedDir(t, extra)
	p := filepath.Join(dir, "vercel.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, fn := range fluid {
		rule := `"api/` + fn + `": {`
		if !strings.Contains(s, rule) {
			t.Fatalf("no api/%s rule in %s", fn, b)
		}
		s = strings.Replace(s, rule, rule+`"fluid": true, "supportsCancellation": true, `, 1)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFluidPgx serves fluidPg under ABI version 2 with real PostgreSQL:
// thirty queries at once run on one instance and share its pool of four
// connections; a query whose client leaves is cancelled and the pool goes
// on serving; a database that is down answers pgx's error.
func TestFluidPgx(t *testing.T) {
	url := pgserver.URL(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "postgres://postgres@" + l.Addr().String() + "/postgres?sslmode=disable&connect_timeout=5"
	l.Close()
	// The server ends a query whose client has closed its connection
	// within 100 ms (PostgreSQL 14's client_connection_check_interval, a
	// run-time parameter pgx sends at the start).
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	checked := url + sep + "client_connection_check_interval=100"
	base := serveHost(t, fluidDir(t, map[string]string{"fluidpg": fluidPg}, "fluidpg"), map[string]string{"DATABASE_URL": checked, "DOWN_URL": down})
	fetch := func(ctx context.Context, query string) (int, string, error) {
		return testkit.Get(ctx, base+"/api/fluidpg?"+query)
	}
	if code, body, err := fetch(context.Background(), "op=query&sleep=0"); err != nil || code != 200 {
		t.Fatalf("first query: %d %q %v", code, body, err)
	}

	const n, sleep = 30, 0.3
	answers := make([]string, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			code, body, err := fetch(context.Background(), fmt.Sprintf("op=query&sleep=%g", sleep))
			if err != nil || code != 200 {
				body = fmt.Sprintf("error %d %q %v", code, body, err)
			}
			answers[i] = body
		})
	}
	wg.Wait()
	took := time.Since(start)
	pids, instances := map[string]bool{}, map[string]bool{}
	for _, a := range answers {
		pid, inst, ok := strings.Cut(a, " ")
		if !ok || strings.HasPrefix(a, "error") {
			t.Fatalf("query answered %q", a)
		}
		pids[pid], instances[inst] = true, true
	}
	t.Logf("%d queries of %gs at once took %s on %d backends", n, sleep, took, len(pids))
	if len(instances) != 1 {
		t.Errorf("served by %d instances, want 1", len(instances))
	}
	if len(pids) > 4 {
		t.Errorf("%d backends, want at most the pool's 4", len(pids))
	}
	if len(pids) < 2 {
		t.Errorf("%d backend: the invocations did not run their queries at once", len(pids))
	}
	if code, body, _ := fetch(context.Background(), "op=stats"); code != 200 || body > "4" || body < "1" {
		t.Errorf("the pool holds %q connections, want 1..4", body)
	}

	// A client that leaves cancels its query: pgx's context watcher
	// moves the connection's deadline, the read through the host fails,
	// pgx closes the connection (tcp_close) and the server ends the
	// query; the pool serves on.
	mon, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close(context.Background())
	sleeping := func() int {
		var n int
		if err := mon.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ctx, leave := context.WithCancel(context.Background())
	left := make(chan struct{})
	go func() {
		defer close(left)
		fetch(ctx, "op=query&sleep=30")
	}()
	eventually(t, "the 30 s query to run", func() bool { return sleeping() == 1 })
	leave()
	<-left
	eventually(t, "the server to end the query of the client that left", func() bool { return sleeping() == 0 })
	if code, body, err := fetch(context.Background(), "op=query&sleep=0"); err != nil || code != 200 {
		t.Errorf("query after an abort: %d %q %v", code, body, err)
	}

	// The database is down: pgx's error.
	code, body, err := fetch(context.Background(), "op=down")
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(strings.ToLower(body), "connection refused") {
		t.Errorf("down: %d %q %v, want 503 with pgx's connection refused", code, body, err)
	}
}

// BenchmarkPgxQueryFluid runs dbBench's pooled SELECT NOW() (10 timed
// queries per request, on a pgxpool dialing through
// wfnnet.PoolDialContext) built for ABI version 1 (api/dbbench) and for
// version 2 (api/dbbench2, "fluid": true), side by side in one wfn serve
// on the same PostgreSQL, one request to each in turn per iteration. The
// metrics are the median query time of each, its parts in the
// connection's Read and Write (-io: the host's tcp_read and tcp_write,
// the wait for the server included) and outside them (-compute), and the
// ratios v2/v1:
//
//	cd guests/api && go test -run '^$' -bench PgxQueryFluid -benchtime 30x ./db
func BenchmarkPgxQueryFluid(b *testing.B) {
	const n = 10
	url := pgserver.URL(b)
	dir := fluidDir(b, map[string]string{"dbbench": dbBench, "dbbench2": dbBench}, "dbbench2")
	guest := serveHost(b, dir, map[string]string{"DATABASE_URL": url})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(url string) benchTimes {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		var t benchTimes
		err = json.NewDecoder(resp.Body).Decode(&t)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil {
			b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		return t
	}
	samples := map[string][]int64{}
	round := func() {
		for _, v := range []struct{ name, fn string }{{"v1", "dbbench"}, {"v2", "dbbench2"}} {
			t := get(guest + "/api/" + v.fn + "?mode=pool&n=" + strconv.Itoa(n))
			samples[v.name] = append(samples[v.name], t.Total...)
			samples[v.name+"-io"] = append(samples[v.name+"-io"], t.IO...)
			for i, total := range t.Total {
				samples[v.name+"-compute"] = append(samples[v.name+"-compute"], total-t.IO[i])
			}
		}
	}
	med := medianRounds(b, round, samples)
	b.ReportMetric(med["v2"]/med["v1"], "v2/v1")
	b.ReportMetric(med["v2-io"]/med["v1-io"], "io-v2/v1")
	b.ReportMetric(med["v2-compute"]/med["v1-compute"], "compute-v2/v1")
	logLoad(b)
}
