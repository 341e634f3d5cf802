package host_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// testdata/fluid serves api/sleep, a Go guest built for ABI v2 (its
// "fluid": true: the Go SDK's build tag wfn_fluid), beside api/hello.wasm,
// a version 1 guest. 200 requests to api/sleep, each sleeping 2 s in
// its handler, all answer right from one instance, far sooner than the
// 400 s they would take one after another; the version 1 guest answers as
// before. The sleep outlasts the burst of arrivals: sleeps that end while
// a loaded machine (CI under -race) still takes the burst in make the
// guest count as computing through its invocations (CPU-busy, abi/SPEC-v2.md
// section 4), and a second instance is made.
func TestFluidManyInvocationsOneInstance(t *testing.T) {
	requireGo(t)
	h, srv, _ := serve(t, host.Config{Dir: "../testdata/fluid"})
	fetch := func(path string) (int, string, error) { return testkit.Get(t.Context(), srv.URL+path) }
	if code, body, err := fetch("/api/sleep?n=first"); err != nil || code != 200 || body != "hello first" {
		t.Fatalf("first request: %d %q %v", code, body, err)
	}
	const n = 200
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for i := range n {
		wg.Go(func() {
			code, body, err := fetch(fmt.Sprintf("/api/sleep?ms=2000&n=%d", i))
			if want := fmt.Sprintf("hello %d", i); err != nil || code != 200 || body != want {
				errs <- fmt.Errorf("request %d: %d %q %v, want 200 %q", i, code, body, err, want)
			}
		})
	}
	wg.Go(func() {
		if code, body, err := fetch("/api/hello"); err != nil || code != 200 || body != "Hello from wfn!" {
			errs <- fmt.Errorf("the v1 guest: %d %q %v", code, body, err)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("%d sleeps of 2 s took %v: they did not run at once", n, elapsed)
	}
	// Outbound HTTP through the host: wfn.json lets api/sleep reach
	// loopback.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	if code, body, err := fetch("/api/sleep?backend=" + backend.URL); err != nil || code != 200 || body != "backend 200 ok" {
		t.Errorf("outbound: %d %q %v", code, body, err)
	}
	// One instance when the machine keeps up with the burst; a guest
	// taking it in on a loaded machine (CI under -race) may count as
	// CPU-busy for a while, and the pool then grows to at most one
	// instance per processor (abi/SPEC-v2.md section 4): either way far
	// from one per invocation.
	for _, fs := range h.Stats().Functions {
		if max := uint64(runtime.GOMAXPROCS(0)); fs.Source == "api/sleep" && (fs.ColdStarts < 1 || fs.ColdStarts > max) {
			t.Errorf("api/sleep: %d instances made for %d invocations at once, want 1 to %d (GOMAXPROCS)", fs.ColdStarts, n+2, max)
		}
	}
}

// A v2 guest's plain stdout line (fmt.Println, not wfn.Stdout) carries the
// request id while its invocation is the only one in flight on the
// instance, and none while another is (abi/SPEC-v2.md section 10).
func TestFluidStdoutLineHasTheSoleInvocationsID(t *testing.T) {
	requireGo(t)
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/fluid"})
	line := func(text string) string {
		for l := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(l, "msg="+text+" ") {
				return l
			}
		}
		return ""
	}
	alone := get(t, srv.URL+"/api/sleep?say=alone-line")
	if alone.status != 200 || alone.body != "said" {
		t.Fatalf("say: %d %q", alone.status, alone.body)
	}
	id := alone.header.Get(host.HeaderRequestID)
	eventually(t, "the line logged", func() bool { return line("alone-line") != "" })
	if l := line("alone-line"); !strings.Contains(l, " id="+id) || !strings.Contains(l, "stream=stdout") {
		t.Errorf("the line %q, want id=%s and stream=stdout", l, id)
	}

	// With another invocation held on a backend, a line cannot be told
	// to be either's.
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held <- struct{}{}
		<-release
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	defer close(release)
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, body, err := testkit.Get(t.Context(), srv.URL+"/api/sleep?backend="+backend.URL)
		done <- result{code, body, err}
	}()
	<-held
	if r := get(t, srv.URL+"/api/sleep?say=shared-line"); r.status != 200 {
		t.Fatalf("say beside another: %d %q", r.status, r.body)
	}
	eventually(t, "the line logged", func() bool { return line("shared-line") != "" })
	if l := line("shared-line"); strings.Contains(l, " id=") {
		t.Errorf("the line %q has an id, written while two invocations were in flight", l)
	}
	release <- struct{}{}
	if r := <-done; r.err != nil || r.code != 200 || r.body != "backend 200 ok" {
		t.Errorf("held: %d %q %v", r.code, r.body, r.err)
	}
}

// When the host shuts down past its grace, a version 2 invocation in flight
// is aborted as a version 1 one is (abi/SPEC-v2.md section 3, EventAbort
// value 3): its context ends, its handler returns, and it counts as
// aborted. Before, nothing told it: it was stopped with its instance 500 ms
// later, and its client got a 500.
func TestFluidShutdownPastGraceAborts(t *testing.T) {
	requireGo(t)
	h, srv, _ := serve(t, host.Config{Dir: "../testdata/fluidsdk"})
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, body, err := testkit.Get(context.Background(), srv.URL+"/api/sdk?op=hold&id=shutdown")
		done <- result{code, body, err}
	}()
	eventually(t, "the invocation held", func() bool {
		_, body, err := testkit.Get(t.Context(), srv.URL+"/api/sdk?op=held")
		return err == nil && body == "1"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close past the grace = %v, want context.DeadlineExceeded", err)
	}
	// Its response imports answer ECANCELED from the abort on (section
	// 4), so its handler's answer cannot be sent: the host answers 503
	// as version 1 does for an invocation the shutdown stopped (before,
	// it sent an empty 200, the response as the guest's end left it).
	if r := <-done; r.err != nil || r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, host.CodeInvocationFailed) {
		t.Errorf("the invocation in flight: %d %q %v, want 503 %s", r.code, r.body, r.err, host.CodeInvocationFailed)
	}
	for _, fs := range h.Stats().Functions {
		if fs.Source == "api/sdk" && fs.Aborted != 1 {
			t.Errorf("api/sdk: %d invocations aborted, want 1", fs.Aborted)
		}
	}
}

// The access log's fresh says whether a version 2 invocation's instance
// was made for it, as for version 1: the first request to api/sleep makes
// the instance, the next one finds it.
func TestFluidAccessFresh(t *testing.T) {
	requireGo(t)
	var mu sync.Mutex
	var fresh []bool
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/fluid", AccessLog: true, OnAccess: func(e host.AccessEntry) {
		mu.Lock()
		fresh = append(fresh, e.Fresh)
		mu.Unlock()
	}})
	for _, n := range []string{"first", "second"} {
		if code, body, err := testkit.Get(t.Context(), srv.URL+"/api/sleep?n="+n); code != 200 || body != "hello "+n {
			t.Fatalf("%s: %d %q %v", n, code, body, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(fresh, []bool{true, false}) {
		t.Errorf("fresh = %v, want [true false]", fresh)
	}
}
