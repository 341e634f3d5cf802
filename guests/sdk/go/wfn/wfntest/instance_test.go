package wfntest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// needV2 skips a test of what only ABI version 2 does.
func needV2(t *testing.T) {
	t.Helper()
	if !hostcall.Concurrent {
		t.Skip("ABI version 1 serves one invocation at a time: run with -tags wfn_fluid")
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}

// key is the value of the request's query parameter k.
func key(r *wfn.Request) string {
	_, k, _ := strings.Cut(r.URL(), "k=")
	return k
}

// result is one invocation's outcome.
type result struct {
	status int
	body   string
	err    error
}

// goDo runs h for req on the instance on a goroutine of its own.
func goDo(in *wfntest.Instance, h wfn.HandlerFunc, req *http.Request, opts ...wfntest.Option) <-chan result {
	ch := make(chan result, 1)
	go func() {
		resp, err := in.Do(h, req, nil, opts...)
		if err != nil {
			ch <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		ch <- result{status: resp.StatusCode, body: string(b)}
	}()
	return ch
}

// get waits for an invocation's result, failing the test after a generous
// deadline.
func get(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Do: %v", r.err)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the invocation did not end")
		return result{}
	}
}

func TestInstanceConcurrent(t *testing.T) {
	needV2(t)
	const n = 50
	in := wfntest.NewInstance()
	release := make(chan struct{})
	var results []<-chan result
	for k := range n {
		h := func(w *wfn.ResponseWriter, r *wfn.Request) {
			<-release // every invocation waits here until all are in flight
			fmt.Fprintf(w, "%s", key(r))
		}
		results = append(results, goDo(in, h, httptest.NewRequest("GET", fmt.Sprintf("/?k=%d", k), nil)))
	}
	waitFor(t, fmt.Sprintf("%d invocations in flight", n), func() bool { return in.InFlight() == n })
	close(release)
	for k, ch := range results {
		if r := get(t, ch); r.status != 200 || r.body != fmt.Sprint(k) {
			t.Errorf("invocation %d: %d %q, want 200 %q: each sees its own request and response", k, r.status, r.body, fmt.Sprint(k))
		}
	}
	if got := in.InFlight(); got != 0 {
		t.Errorf("InFlight after the invocations: %d, want 0", got)
	}
}

func TestInstanceAbortOne(t *testing.T) {
	needV2(t)
	in := wfntest.NewInstance()
	release := make(chan struct{})
	var mu sync.Mutex
	errs := map[string]error{}
	causes := map[string]error{}
	h := func(w *wfn.ResponseWriter, r *wfn.Request) {
		ctx := r.Context()
		select {
		case <-ctx.Done():
		case <-release:
		}
		mu.Lock()
		errs[key(r)], causes[key(r)] = ctx.Err(), context.Cause(ctx)
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	aborted := goDo(in, h, httptest.NewRequestWithContext(ctx, "GET", "/?k=aborted", nil))
	others := []<-chan result{
		goDo(in, h, httptest.NewRequest("GET", "/?k=a", nil)),
		goDo(in, h, httptest.NewRequest("GET", "/?k=b", nil)),
	}
	waitFor(t, "3 invocations in flight", func() bool { return in.InFlight() == 3 })
	cancel()
	get(t, aborted)
	if in.InFlight() != 2 {
		t.Errorf("InFlight after one abort: %d, want 2: the others are not touched", in.InFlight())
	}
	close(release)
	for _, ch := range others {
		if r := get(t, ch); r.status != 200 {
			t.Errorf("another invocation answered %d, want 200", r.status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(errs["aborted"], context.Canceled) || !errors.Is(causes["aborted"], abi.ECANCELED) {
		t.Errorf("the aborted one: Err %v, Cause %v; want context.Canceled, abi.ECANCELED", errs["aborted"], causes["aborted"])
	}
	for _, k := range []string{"a", "b"} {
		if errs[k] != nil {
			t.Errorf("invocation %s: Err %v, want nil", k, errs[k])
		}
	}
}

func TestInstanceDeadlineOne(t *testing.T) {
	needV2(t)
	in := wfntest.NewInstance()
	release := make(chan struct{})
	var err, cause, derived error
	timedOut := goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) {
		ctx := r.Context()
		d, cancel := context.WithCancel(ctx)
		defer cancel()
		<-ctx.Done()
		err, cause, derived = ctx.Err(), context.Cause(ctx), d.Err()
		// The guest's timer may come a little before the host's: the
		// handler returns once the host has answered (ECLOSED).
		for end := time.Now().Add(10 * time.Second); w.SetStatus(200) == nil && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
	}, httptest.NewRequest("GET", "/", nil), wfntest.MaxDuration(50*time.Millisecond))
	other := goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) {
		<-release
		w.WriteString("ok")
	}, httptest.NewRequest("GET", "/", nil))
	r := get(t, timedOut)
	if r.status != http.StatusGatewayTimeout {
		t.Errorf("past its deadline: %d, want 504", r.status)
	}
	// The doc of wfn.Request.Context: Err is context.DeadlineExceeded at
	// the deadline, also for contexts derived from it.
	if err != context.DeadlineExceeded || !errors.Is(cause, context.DeadlineExceeded) || derived != context.DeadlineExceeded {
		t.Errorf("at the deadline: Err %v, Cause %v, derived Err %v; want context.DeadlineExceeded for each", err, cause, derived)
	}
	if n := in.InFlight(); n != 1 {
		t.Errorf("InFlight: %d, want 1: the other invocation runs on", n)
	}
	close(release)
	if r := get(t, other); r.status != 200 || r.body != "ok" {
		t.Errorf("the other invocation: %d %q, want 200 \"ok\"", r.status, r.body)
	}
}

func TestInstanceWaitUntil(t *testing.T) {
	needV2(t)
	in := wfntest.NewInstance()
	started := make(chan struct{})
	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	ch := goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) {
		if err := wfn.WaitUntil(func(context.Context) {
			note("task started")
			close(started)
			panic("a failing task")
		}); err != nil {
			t.Errorf("WaitUntil: %v", err)
		}
		if err := wfn.WaitUntil(func(context.Context) {
			<-started
			note("second task")
		}); err != nil {
			t.Errorf("WaitUntil: %v", err)
		}
		// The task starts at once, alongside the handler.
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Error("the task did not start while the handler ran")
		}
		note("handler")
		w.WriteString("done")
	}, httptest.NewRequest("GET", "/", nil))
	r := get(t, ch)
	if r.status != 200 || r.body != "done" {
		t.Errorf("got %d %q, want 200 \"done\": a task's panic does not fail the response", r.status, r.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 3 || order[0] != "task started" {
		t.Errorf("order %q: want the task started before the handler returned, and the second task run despite the first's panic", order)
	}
}

// Under version 2 as under version 1 one invocation starts at most
// MaxTasks tasks: the next WaitUntil returns ETOOLARGE and starts nothing,
// though the tasks before it have all returned.
func TestInstanceTaskLimit(t *testing.T) {
	needV2(t)
	in := wfntest.NewInstance()
	var ran atomic.Int32
	var over error
	r := get(t, goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) {
		for i := range wfntest.MaxTasks {
			if err := wfn.After(func() { ran.Add(1) }); err != nil {
				t.Errorf("task %d: %v", i+1, err)
			}
		}
		waitFor(t, "the tasks returned", func() bool { return ran.Load() == wfntest.MaxTasks })
		over = wfn.After(func() { ran.Add(1) })
		w.WriteString("done")
	}, httptest.NewRequest("GET", "/", nil)))
	if r.status != 200 {
		t.Errorf("status %d", r.status)
	}
	if !errors.Is(over, abi.ETOOLARGE) {
		t.Errorf("task %d: %v, want ETOOLARGE", wfntest.MaxTasks+1, over)
	}
	waitFor(t, "the invocation ended", func() bool { return in.InFlight() == 0 })
	if n := ran.Load(); n != wfntest.MaxTasks {
		t.Errorf("%d tasks ran, want %d", n, wfntest.MaxTasks)
	}
}

func TestInstancePanicFailsOnlyItsInvocation(t *testing.T) {
	needV2(t)
	in := wfntest.NewInstance()
	release := make(chan struct{})
	other := goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) {
		<-release
		w.WriteString("ok")
	}, httptest.NewRequest("GET", "/", nil))
	waitFor(t, "the other invocation in flight", func() bool { return in.InFlight() == 1 })
	r := get(t, goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) {
		panic("boom")
	}, httptest.NewRequest("GET", "/", nil)))
	if r.status != http.StatusInternalServerError {
		t.Errorf("the panicking invocation: %d, want 500", r.status)
	}
	close(release)
	if r := get(t, other); r.status != 200 || r.body != "ok" {
		t.Errorf("the other invocation: %d %q, want 200 \"ok\"", r.status, r.body)
	}
}

func TestInstanceProcExitFailsOnlyItsInvocation(t *testing.T) {
	needV2(t)
	in := wfntest.NewInstance()
	r := get(t, goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) {
		hostcall.ProcExit(2)
	}, httptest.NewRequest("GET", "/", nil)))
	if r.status != http.StatusInternalServerError {
		t.Errorf("after proc_exit: %d, want 500", r.status)
	}
	if r := get(t, goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) { w.WriteString("ok") }, httptest.NewRequest("GET", "/", nil))); r.status != 200 {
		t.Errorf("the next invocation: %d, want 200", r.status)
	}
}

func TestInstanceClosed(t *testing.T) {
	tests := []struct {
		name  string
		close func(in *wfntest.Instance) error
	}{
		{"Stop", func(in *wfntest.Instance) error { return in.Stop(t.Context()) }},
		{"Sigterm", func(in *wfntest.Instance) error { return in.Sigterm() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := wfntest.NewInstance()
			if r := get(t, goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) {}, httptest.NewRequest("GET", "/", nil))); r.status != 200 {
				t.Fatalf("before closing: %d, want 200", r.status)
			}
			if err := tt.close(in); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if _, err := in.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {}), httptest.NewRequest("GET", "/", nil), nil); !errors.Is(err, wfntest.ErrInstanceClosed) {
				t.Errorf("Do after %s: %v, want ErrInstanceClosed", tt.name, err)
			}
			if err := tt.close(in); !errors.Is(err, wfntest.ErrInstanceClosed) {
				t.Errorf("%s again: %v, want ErrInstanceClosed", tt.name, err)
			}
		})
	}
}

func TestInstanceStopFailsInvocationsLeft(t *testing.T) {
	needV2(t)
	in := wfntest.NewInstance()
	release := make(chan struct{})
	defer close(release)
	ch := goDo(in, func(w *wfn.ResponseWriter, r *wfn.Request) {
		<-release
	}, httptest.NewRequest("GET", "/", nil))
	waitFor(t, "the invocation in flight", func() bool { return in.InFlight() == 1 })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := in.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop with a done context: %v, want context.Canceled", err)
	}
	release <- struct{}{}
	if r := get(t, ch); r.status != http.StatusInternalServerError {
		t.Errorf("the invocation left at the stop: %d, want 500", r.status)
	}
}
