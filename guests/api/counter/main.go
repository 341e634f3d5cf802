// Function counter increments a counter in Redis through go-redis and
// answers its new value, as text. The client's pool is attached with
// wfn.AttachDatabasePool.
//
// The connection string is REDIS_URL (redis://host:port/db; an
// environment variable: set it in the served directory's .env, with
// --env, or in the function's env config); without it the function
// answers 500 naming it. A command that fails (Redis is down or refuses)
// answers 503 with go-redis's error.
//
// A guest has no sockets: the client dials through
// wfnnet.PoolDialContext, so that its connections belong to the instance
// and serve the next invocations. guests/vercel.json allows this function
// 127.0.0.1 and localhost, for a Redis on the same machine:
//
//	wfn serve ./guests --env REDIS_URL=redis://127.0.0.1:6379/0
package main

import (
	"errors"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
)

func init() { wfnhttp.Handle(http.HandlerFunc(handle)) }

// Key is the counter's key.
const Key = "wfn:counter"

// errNoURL is the answer without REDIS_URL.
var errNoURL = errors.New("REDIS_URL is not set: set it in .env, with wfn serve --env REDIS_URL=redis://..., or in the function's env config")

// The client is made at the first request that needs it (see api/db).
var rdb struct {
	mu     sync.Mutex
	client *redis.Client
}

func client() (*redis.Client, error) {
	rdb.mu.Lock()
	defer rdb.mu.Unlock()
	if rdb.client != nil {
		return rdb.client, nil
	}
	url := os.Getenv("REDIS_URL")
	if url == "" {
		return nil, errNoURL
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.Dialer = wfnnet.PoolDialContext
	opt.PoolSize = 4
	c := redis.NewClient(opt)
	if err := wfn.AttachDatabasePool(c); err != nil {
		c.Close()
		return nil, err
	}
	rdb.client = c
	return c, nil
}

func handle(w http.ResponseWriter, r *http.Request) {
	c, err := client()
	if err != nil {
		http.Error(w, "counter: "+err.Error(), http.StatusInternalServerError)
		return
	}
	n, err := c.Incr(r.Context(), Key).Result()
	if err != nil {
		http.Error(w, "counter: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(strconv.FormatInt(n, 10)))
}

func main() {}
