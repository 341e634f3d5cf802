// Command methods is guests/api/methods under ABI version 2: per-method
// exports, GET and POST, and no catch-all, written as for version 1;
// testdata/fluidmethods/wfn.json's "fluid": true builds it for version 2,
// where the host calls each export once per instance to register its
// handler, and answers 405 with "Allow: GET, HEAD, POST" for the other
// methods. The fluid tests drive GET by query:
//
//	(none)            answers "GET ok"
//	?op=hold          counts itself held and waits for ?op=release
//	?op=held          answers the number of invocations held now
//	?op=release       releases the held invocations
//	?op=registered    answers how often the exports ran: "GET 1 POST 1"
//	                  on one instance (the code around wfn.Serve runs at
//	                  the registration, not per request)
//	?op=panic         panics before answering
//	?op=streampanic   flushes a first chunk, then panics
//	?op=headers&n=N   adds N values of 1 KiB to x-big, up to the first
//	                  error, and answers "added K"
package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
)

var (
	gets, posts atomic.Int32 // the runs of the exports

	mu       sync.Mutex
	held     int
	released = make(chan struct{})
)

//go:wasmexport GET
func get() {
	gets.Add(1)
	wfn.Serve(wfn.HandlerFunc(getOK))
}

//go:wasmexport POST
func post() {
	posts.Add(1)
	wfn.Serve(wfn.HandlerFunc(postOK))
}

func getOK(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	u, _ := url.Parse(r.URL())
	switch u.Query().Get("op") {
	case "hold":
		mu.Lock()
		held++
		ch := released
		mu.Unlock()
		<-ch
		mu.Lock()
		held--
		mu.Unlock()
		w.WriteString("released")
	case "held":
		mu.Lock()
		n := held
		mu.Unlock()
		fmt.Fprint(w, n)
	case "release":
		mu.Lock()
		close(released)
		released = make(chan struct{})
		mu.Unlock()
		w.WriteString("released")
	case "registered":
		fmt.Fprintf(w, "GET %d POST %d", gets.Load(), posts.Load())
	case "panic":
		panic("a handler that fails")
	case "streampanic":
		w.WriteString("first chunk")
		w.Flush()
		panic("a streamed handler that fails")
	case "headers":
		want, _ := strconv.Atoi(u.Query().Get("n"))
		added := 0
		for ; added < want; added++ {
			if err := w.AddHeader("x-big", strings.Repeat("b", 1024)); err != nil {
				break
			}
		}
		fmt.Fprintf(w, "added %d", added)
	default:
		w.WriteString("GET ok")
	}
}

func postOK(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("POST ok")
}

func main() {}
