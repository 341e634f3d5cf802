package fluid_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// A busy instance at the pool's close gets EventSigterm; when its last
// invocation ends it gets EventStop and returns from its serving export,
// and Close returns then, long before its context ends.
func TestCloseStopsBusyInstanceWhenItsWorkEnds(t *testing.T) {
	srv, p, ended := serveGuestEnded(t, time.Minute, nil)
	sleeper := make(chan string, 1)
	go func() {
		code, body, err := testkit.Get(t.Context(), srv.URL+"/?ms=1000&n=busy")
		sleeper <- fmtResult(code, body, err)
	}()
	waitFor(t, func() bool { return p.Inflight() == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Error("Close returned only when its context ended: the instance was not stopped when its work ended")
	}
	if got := <-sleeper; got != "200 hello busy <nil>" {
		t.Errorf("the invocation in flight at the close: %s, want 200 hello busy", got)
	}
	if err := <-ended; !errors.Is(err, fluid.ErrServeReturned) {
		t.Errorf("the instance ended with %v, want its serving call returned (EventStop)", err)
	}
}

func fmtResult(code int, body string, err error) string {
	return fmt.Sprintf("%d %s %v", code, body, err)
}

// failures records the failures p answers, for the tests that look for
// one answered after the response (no writer).
type failures struct {
	mu  sync.Mutex
	got []failure
}

type failure struct {
	id      string
	f       fluid.Failure
	err     error
	written bool
}

// record wraps p.Answer; it must be called before p serves.
func (fs *failures) record(p *fluid.Pool) {
	answer := p.Answer
	p.Answer = func(w http.ResponseWriter, r *http.Request, req fluid.Request, f fluid.Failure, err error) {
		fs.mu.Lock()
		fs.got = append(fs.got, failure{id: req.ID, f: f, err: err, written: w != nil})
		fs.mu.Unlock()
		answer(w, r, req, f, err)
	}
}

// list returns the failures answered so far.
func (fs *failures) list() []failure {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.got)
}

// afterResponse reports whether a TimedOut failure with
// ErrPastDeadlineAfterResponse, and no writer, was answered.
func (fs *failures) afterResponse() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.got {
		if f.f == fluid.TimedOut && errors.Is(f.err, fluid.ErrPastDeadlineAfterResponse) && !f.written {
			return true
		}
	}
	return false
}

// An invocation whose work goes on after its response (a WaitUntil task
// waiting on a backend that does not answer, with no deadline of its
// own) is aborted at its deadline: its outbound request is cancelled, the
// invocation ends and is answered TimedOut with
// ErrPastDeadlineAfterResponse, and its instance serves on.
func TestDeadlineEndsWorkAfterResponse(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer backend.Close()
	defer close(release)
	srv, p := serveGuest(t, 2*time.Second)
	var fs failures
	fs.record(p)
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?hang="+url.QueryEscape(backend.URL)); code != 200 || body != "hanging" {
		t.Fatalf("hang: %d %q %v", code, body, err)
	}
	waitFor(t, func() bool { return p.Inflight() == 0 })
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?hangs"); code != 200 || body != "hangs 1" {
		t.Errorf("the task's context: %d %q %v, want hangs 1 (the fetch ended by the abort)", code, body, err)
	}
	if !fs.afterResponse() {
		t.Errorf("failures %+v lack a TimedOut with ErrPastDeadlineAfterResponse", fs.list())
	}
	if got := p.Created(); got != 1 {
		t.Errorf("%d instances made, want 1 (the deadline ends the invocation, not its instance)", got)
	}
}

// Work after the response that computes without yielding starves its
// instance: past the invocation's deadline the watchdog stops the
// instance, and the next request gets a new one.
func TestWatchdogStopsSpinningWorkAfterResponse(t *testing.T) {
	srv, p, ended := serveGuestEnded(t, 2*time.Second, nil)
	var fs failures
	fs.record(p)
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?spinafter"); code != 200 || body != "spinning after" {
		t.Fatalf("spinafter: %d %q %v", code, body, err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, fluid.ErrWatchdog) {
			t.Errorf("the instance ended with %v, want the watchdog's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the instance spinning after a response past its deadline was not stopped within 30 s")
	}
	if !fs.afterResponse() {
		t.Errorf("failures %+v lack a TimedOut with ErrPastDeadlineAfterResponse", fs.list())
	}
	waitFor(t, func() bool { return p.Instances() == 0 })
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=after"); code != 200 || body != "hello after" {
		t.Errorf("after the watchdog: %d %q %v", code, body, err)
	}
	if got := p.Created(); got != 2 {
		t.Errorf("%d instances made, want 2", got)
	}
}
