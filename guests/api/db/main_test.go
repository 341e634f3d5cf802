package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
	"github.com/wfn-dev/wfn/internal/pgserver"
)

// allowLocal is this function's allowedOutboundHosts in guests/vercel.json.
var allowLocal = wfntest.AllowedOutboundHosts("127.0.0.1:*", "localhost:*")

type answer struct {
	Now        time.Time `json:"now"`
	BackendPid int32     `json:"backendPid"`
}

// get runs one invocation of the function.
func get(t *testing.T) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	wfntest.Serve(rec, httptest.NewRequest("GET", "/api/db", nil), nil, catchall.Serve, allowLocal)
	return rec.Code, rec.Body.String()
}

func query(t *testing.T) answer {
	t.Helper()
	status, body := get(t)
	var a answer
	if status != 200 || json.Unmarshal([]byte(body), &a) != nil {
		t.Fatalf("GET /api/db = %d %q", status, body)
	}
	return a
}

// usePool makes the next request build its pool from url, closing the
// last test's.
func usePool(t *testing.T, url string) {
	t.Setenv("DATABASE_URL", url)
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.pool != nil {
		db.pool.Close()
		db.pool = nil
	}
}

// backendAlive reports whether the server has a backend of this pid.
func backendAlive(t *testing.T, url string, pid int32) bool {
	t.Helper()
	c, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMissingURL(t *testing.T) {
	usePool(t, "")
	status, body := get(t)
	if status != 500 || !strings.Contains(body, "DATABASE_URL") {
		t.Fatalf("without DATABASE_URL: %d %q, want 500 naming it", status, body)
	}
}

// The pool's connection serves the instance's next invocations; the
// host's suspension releases it, and the next request dials again.
func TestSelectNow(t *testing.T) {
	url := pgserver.URL(t)
	usePool(t, url)
	first := query(t)
	if d := time.Since(first.Now); d < -time.Minute || d > time.Minute {
		t.Errorf("NOW() = %v, not about now", first.Now)
	}
	second := query(t)
	if second.BackendPid != first.BackendPid || !second.Now.After(first.Now) {
		t.Errorf("second query %+v after %+v: want the same backend, later", second, first)
	}
	if err := wfntest.Suspend(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the idle connection closed at suspension", func() bool { return !backendAlive(t, url, first.BackendPid) })
	if third := query(t); third.BackendPid == first.BackendPid {
		t.Errorf("after suspension the query ran on the released backend %d", third.BackendPid)
	}
}

// The database stops: the driver's error is the function's answer, and
// it serves again once the database is back.
func TestDatabaseStopped(t *testing.T) {
	pg := pgserver.StartForTest(t)
	usePool(t, pg.URL())
	query(t)
	pg.Stop()
	status, body := get(t)
	if status != 503 || !strings.Contains(body, "db: ") {
		t.Fatalf("database stopped: %d %q, want 503 with pgx's error", status, body)
	}
	t.Logf("answer with the database stopped: %s", strings.TrimSpace(body))
}

// database/sql through pgx's stdlib driver, dialing through wfnnet, with
// its idle connections released at suspension.
func TestDatabaseSQL(t *testing.T) {
	cfg, err := pgx.ParseConfig(pgserver.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DialFunc = wfnnet.PoolDialContext
	cfg.LookupFunc = wfnnet.LookupHost
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	if err := wfn.AttachDatabasePool(sqlDB); err != nil {
		t.Fatal(err)
	}
	var pids []int32
	for range 2 {
		wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
			var pid int32
			if err := sqlDB.QueryRowContext(r.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				t.Error(err)
			}
			pids = append(pids, pid)
		}), httptest.NewRequest("GET", "/", nil), nil, allowLocal)
	}
	if len(pids) != 2 || pids[0] != pids[1] {
		t.Errorf("backends %v: want one, reused", pids)
	}
	if err := wfntest.Suspend(); err != nil {
		t.Fatal(err)
	}
	if s := sqlDB.Stats(); s.Idle != 0 || s.OpenConnections != 0 {
		t.Errorf("after suspension: %d idle, %d open; want none", s.Idle, s.OpenConnections)
	}
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		if err := sqlDB.PingContext(r.Context()); err != nil {
			t.Errorf("after suspension: %v", err)
		}
	}), httptest.NewRequest("GET", "/", nil), nil, allowLocal)
}

func TestAttachUnknownPool(t *testing.T) {
	if err := wfn.AttachDatabasePool(&sql.Conn{}); err == nil || !strings.Contains(err.Error(), "unsupported database pool type") {
		t.Errorf("AttachDatabasePool(*sql.Conn) = %v", err)
	}
}
