// Command sleep is an ABI v2 guest for the fluid tests: GET /?ms=N&n=K
// sleeps N ms and answers "hello K"; an invocation aborted while it sleeps
// is counted, and GET /?stats answers "aborted C" (GET /?deadlines answers
// "deadlines D", those of them whose context ended with
// context.DeadlineExceeded); POST echoes its body;
// GET /?exit ends the instance (proc_exit); GET /?spin computes forever
// without yielding; GET /?backend=URL fetches URL through the host and
// answers "backend STATUS BODY"; GET /?after answers at once and counts a
// WaitUntil task 300 ms later, and GET /?tasks answers "tasks N"; GET
// /?compute=MS computes for MS ms without waiting; GET /?hang=URL answers
// at once and works on after the response (a WaitUntil task): it fetches
// URL through the host without a deadline of its own, so that only the
// host's abort ends the fetch, and GET /?hangs answers "hangs C", C the
// fetches that failed; GET /?spinafter answers at once and then computes
// forever without yielding (a WaitUntil task); GET /?grow=MB allocates MB
// MiB that the instance keeps, and answers "grown"; GET /?say=TEXT writes
// TEXT to stdout with fmt.Println and answers "said"; GET /?flood streams
// 64 KiB chunks until a write fails or the request's context ends. It is
// written with the
// SDK's user API (wfnhttp, wfnfetch, WaitUntil) and built for ABI v2 with
// the build tag wfn_fluid.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnfetch"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

var (
	aborted   atomic.Int64
	deadlines atomic.Int64
	tasks     atomic.Int64
	spins     int
	hangs     atomic.Int64
	kept      [][]byte // grown memory, kept for the instance's life
)

func init() {
	wfnhttp.Handle(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPost:
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Write(b)
			return
		case q.Has("flood"):
			chunk := make([]byte, 64<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
			return
		case q.Has("after"):
			wfn.WaitUntil(func(context.Context) { panic("a task that fails stops no other") })
			wfn.WaitUntil(func(context.Context) {
				time.Sleep(300 * time.Millisecond)
				tasks.Add(1)
			})
			io.WriteString(w, "scheduled")
			return
		case q.Has("hang"):
			url := q.Get("hang")
			wfn.WaitUntil(func(ctx context.Context) {
				// Not ended by the context's own deadline: only the
				// host's abort (EventAbort) ends the wait.
				req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, url, nil)
				if err == nil {
					var resp *http.Response
					if resp, err = (&http.Client{Transport: wfnfetch.Transport}).Do(req); err == nil {
						resp.Body.Close()
					}
				}
				if err != nil {
					hangs.Add(1)
				}
			})
			io.WriteString(w, "hanging")
			return
		case q.Has("leak"):
			// A task that never returns, whatever the host does: its
			// invocation never ends.
			wfn.WaitUntil(func(context.Context) { <-make(chan struct{}) })
			io.WriteString(w, "leaking")
			return
		case q.Has("hangs"):
			fmt.Fprintf(w, "hangs %d", hangs.Load())
			return
		case q.Has("spinafter"):
			wfn.WaitUntil(func(context.Context) {
				// After the response is complete.
				time.Sleep(50 * time.Millisecond)
				for {
					spins++
				}
			})
			io.WriteString(w, "spinning after")
			return
		case q.Has("grow"):
			mb, _ := strconv.Atoi(q.Get("grow"))
			b := make([]byte, mb<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			kept = append(kept, b)
			io.WriteString(w, "grown")
			return
		case q.Has("say"):
			// A plain stdout line, not wfn.Stdout.
			fmt.Println(q.Get("say"))
			io.WriteString(w, "said")
			return
		case q.Has("tasks"):
			fmt.Fprintf(w, "tasks %d", tasks.Load())
			return
		case q.Has("deadlines"):
			fmt.Fprintf(w, "deadlines %d", deadlines.Load())
			return
		case q.Has("stats"):
			fmt.Fprintf(w, "aborted %d", aborted.Load())
			return
		case q.Has("exit"):
			os.Exit(3)
		case q.Has("backend"):
			req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, q.Get("backend"), nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			resp, err := (&http.Client{Transport: wfnfetch.Transport}).Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			fmt.Fprintf(w, "backend %d %s", resp.StatusCode, b)
			return
		case q.Has("compute"):
			ms, _ := strconv.Atoi(q.Get("compute"))
			end := time.Now().Add(time.Duration(ms) * time.Millisecond)
			for time.Now().Before(end) {
				spins++
			}
			fmt.Fprintf(w, "computed")
			return
		case q.Has("spin"):
			for {
				spins++
			}
		}
		ms, _ := strconv.Atoi(q.Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			aborted.Add(1)
			if r.Context().Err() == context.DeadlineExceeded {
				deadlines.Add(1)
			}
			return
		}
		fmt.Fprintf(w, "hello %s", q.Get("n"))
	}))
}

func main() {}
