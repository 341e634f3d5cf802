// Command sdk is an ordinary Go function of the SDK's user API (wfnhttp's
// net/http handler through catchall, wfncache, WaitUntil, AddCacheTag),
// written as for ABI version 1; testdata/fluidsdk/wfn.json's "fluid": true
// builds it for version 2. The fluid tests drive it by query:
//
//	?op=hold&id=X    counts itself held, waits until r.Context() is done or
//	                 ?op=release; then stores "held-X" = why in the cache
//	?op=held         answers the number of invocations held now
//	?op=release      releases the held invocations
//	?op=panic        panics in the handler
//	?op=streampanic  streams "partial", then panics
//	?op=set&key=K&val=V&tag=T   stores K = V with tag T (wfncache)
//	?op=get&key=K    answers the value of K, or 404
//	?op=expire&tag=T expires the entries tagged T
//	?op=task&key=K   starts a WaitUntil task, answers once it runs (it runs
//	                 alongside the response), the task then waits for
//	                 ?op=open and stores K = "task done"
//	?op=tag&tag=T    answers "tagged N" (N counts these calls), cached by
//	                 the CDN for 60 s with tag T (AddCacheTag)
//	?op=purge&tag=T  deletes the CDN's entries tagged T (DangerouslyDeleteByTag)
package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

var (
	held    atomic.Int64
	tagged  atomic.Int64
	mu      sync.Mutex
	release = make(chan struct{})
	gate    = make(chan struct{})
	cache   = wfncache.GetCache(wfncache.Namespace("fluidsdk"))
)

func init() { wfnhttp.Handle(http.HandlerFunc(handle)) }

func handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("op") {
	case "hold":
		held.Add(1)
		mu.Lock()
		ch := release
		mu.Unlock()
		why := "released"
		select {
		case <-r.Context().Done():
			why = "cancelled: " + context.Cause(r.Context()).Error()
		case <-ch:
		}
		held.Add(-1)
		if err := cache.Set("held-"+q.Get("id"), why); err != nil {
			why += " (cache: " + err.Error() + ")"
		}
		fmt.Fprint(w, why)
	case "held":
		fmt.Fprint(w, held.Load())
	case "release":
		mu.Lock()
		close(release)
		release = make(chan struct{})
		mu.Unlock()
		fmt.Fprint(w, "released")
	case "panic":
		panic("on purpose")
	case "streampanic":
		fmt.Fprint(w, "partial")
		w.(http.Flusher).Flush()
		panic("on purpose, while streaming")
	case "set":
		if err := cache.Set(q.Get("key"), q.Get("val"), wfncache.Tags(q.Get("tag"))); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "stored")
	case "get":
		var v string
		ok, err := cache.Get(q.Get("key"), &v)
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case !ok:
			http.Error(w, "not found", http.StatusNotFound)
		default:
			fmt.Fprint(w, v)
		}
	case "expire":
		if err := cache.ExpireTag(q.Get("tag")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "expired")
	case "task":
		started := make(chan struct{})
		key := q.Get("key")
		err := wfnhttp.WaitUntil(r, func(ctx context.Context) {
			close(started)
			<-gate
			cache.Set(key, "task done")
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		select {
		case <-started:
			fmt.Fprint(w, "task running")
		case <-time.After(5 * time.Second):
			fmt.Fprint(w, "task not started")
		}
	case "open":
		close(gate)
		fmt.Fprint(w, "open")
	case "tag":
		if err := wfn.AddCacheTag(q.Get("tag")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "s-maxage=60")
		fmt.Fprint(w, "tagged ", tagged.Add(1))
	case "purge":
		if err := wfn.DangerouslyDeleteByTag([]string{q.Get("tag")}, 0); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "purged")
	default:
		http.Error(w, "unknown op", http.StatusBadRequest)
	}
}

func main() {}
