// Function db runs the seed's SELECT NOW() against PostgreSQL through pgx,
// on a pgxpool attached with wfn.AttachDatabasePool, and answers
// {"now": "...", "backendPid": N} (the server's time, and the server
// process that ran the query: the same on an instance's next invocations,
// whose queries reuse the pool's connection).
//
// The connection string is DATABASE_URL (an environment variable: set it
// in the served directory's .env, with --env, or in the function's env
// config); without it the function answers 500 naming it. A query that
// fails (the database is down or refuses) answers 503 with pgx's error.
//
// A guest has no sockets: the pool dials through wfnnet.PoolDialContext,
// so that its connections belong to the instance and serve the next
// invocations, and lets the host resolve names (wfnnet.LookupHost). The
// host denies loopback and private destinations by default;
// guests/vercel.json allows this function 127.0.0.1 and localhost, for a
// database on the same machine:
//
//	wfn serve ./guests --env DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
)

func init() { wfnhttp.Handle(http.HandlerFunc(handle)) }

// errNoURL is the answer without DATABASE_URL.
var errNoURL = errors.New("DATABASE_URL is not set: set it in .env, with wfn serve --env DATABASE_URL=postgres://..., or in the function's env config")

// The pool is made at the first request that needs it, not in init: an
// instance starts from a snapshot of its initialisation, and the pool's
// clock readings and goroutines belong to the instance that uses it.
var db struct {
	mu   sync.Mutex
	pool *pgxpool.Pool
}

func pool() (*pgxpool.Pool, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.pool != nil {
		return db.pool, nil
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return nil, errNoURL
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.DialFunc = wfnnet.PoolDialContext
	cfg.ConnConfig.LookupFunc = wfnnet.LookupHost
	// One invocation at a time per instance: a few connections do.
	cfg.MaxConns = 4
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	if err := wfn.AttachDatabasePool(p); err != nil {
		p.Close()
		return nil, err
	}
	db.pool = p
	return p, nil
}

func handle(w http.ResponseWriter, r *http.Request) {
	p, err := pool()
	if err != nil {
		http.Error(w, "db: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var answer struct {
		Now        time.Time `json:"now"`
		BackendPid int32     `json:"backendPid"`
	}
	if err := p.QueryRow(r.Context(), "SELECT NOW(), pg_backend_pid()").Scan(&answer.Now, &answer.BackendPid); err != nil {
		http.Error(w, "db: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}

func main() {}
