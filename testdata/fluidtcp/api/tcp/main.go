// Command tcp is an ordinary Go function that uses outbound TCP through
// wfnnet, written as for ABI version 1; testdata/fluidtcp/wfn.json's
// "fluid": true builds it for version 2. The fluid TCP tests drive it by
// query:
//
//	?op=incr&redis=ADDR&key=K  INCR K on Redis at ADDR with go-redis, on a
//	                           client of the instance (wfnnet.PoolDialContext,
//	                           attached with wfn.AttachDatabasePool); answers
//	                           "N instance-id"
//	?op=stats                  the client's pool: "total idle"
//	?op=dial&addr=ADDR         dials ADDR with wfnnet.DialContext and answers
//	                           "ok", or 502 with the error and its abi code
//	?op=hold&addr=ADDR         dials ADDR with a connection of the
//	                           invocation, writes "hello\n" and reads until
//	                           the read fails (the host closes it when the
//	                           invocation is aborted); answers the error
//	?op=echo&addr=ADDR&n=N     writes N bytes on a connection of the
//	                           invocation, half-closes it, reads back what a
//	                           echo server returns and answers its length
package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
)

// instance names this instance in the answers.
var instance = func() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

var (
	mu  sync.Mutex
	rdb *redis.Client
)

func client(addr string) *redis.Client {
	mu.Lock()
	defer mu.Unlock()
	if rdb == nil {
		rdb = redis.NewClient(&redis.Options{Addr: addr, Dialer: wfnnet.PoolDialContext, PoolSize: 4})
		if err := wfn.AttachDatabasePool(rdb); err != nil {
			panic(err)
		}
	}
	return rdb
}

func init() { wfnhttp.Handle(http.HandlerFunc(handle)) }

func handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ctx := r.Context()
	switch q.Get("op") {
	case "incr":
		n, err := client(q.Get("redis")).Incr(ctx, q.Get("key")).Result()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%d %s", n, instance)
	case "stats":
		mu.Lock()
		c := rdb
		mu.Unlock()
		if c == nil {
			http.Error(w, "no client", http.StatusNotFound)
			return
		}
		s := c.PoolStats()
		fmt.Fprintf(w, "%d %d", s.TotalConns, s.IdleConns)
	case "dial":
		c, err := wfnnet.DialContext(ctx, "tcp", q.Get("addr"))
		if err != nil {
			var e *wfnnet.Error
			code := ""
			if errors.As(err, &e) {
				code = e.Errno.String()
			}
			http.Error(w, fmt.Sprintf("%s|%v|denied=%v", code, err, errors.Is(err, abi.EDENIED)), http.StatusBadGateway)
			return
		}
		c.Close()
		fmt.Fprint(w, "ok")
	case "hold":
		c, err := wfnnet.DialContext(ctx, "tcp", q.Get("addr"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer c.Close()
		if _, err := io.WriteString(c, "hello\n"); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, err = c.Read(make([]byte, 16))
		fmt.Fprint(w, err)
	case "echo":
		n, _ := strconv.Atoi(q.Get("n"))
		c, err := wfnnet.DialContext(ctx, "tcp", q.Get("addr"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer c.Close()
		done := make(chan error, 1)
		go func() {
			_, err := c.Write(make([]byte, n))
			if err == nil {
				err = c.(interface{ CloseWrite() error }).CloseWrite()
			}
			done <- err
		}()
		got, err := io.Copy(io.Discard, c)
		if werr := <-done; err == nil {
			err = werr
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, got)
	default:
		http.Error(w, "unknown op", http.StatusBadRequest)
	}
}

func main() {}
