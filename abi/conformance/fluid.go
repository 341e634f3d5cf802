package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The cases of ABI version 2 (abi/SPEC-v2.md): many invocations at once
// in one instance. They run against the guest's copy api/fluid/[case].wasm,
// whose function has maxDuration fluidMaxDuration and supportsCancellation,
// through the handlers hold, held, release, instance and trap (see the
// package documentation).
var fluidCases = []Case{
	{Name: "fluid-concurrency", Spec: "2, 4", Fluid: true, run: fluidConcurrencyCase,
		Checks: fmt.Sprintf("%d requests held at once are in one instance (the guest counts them in its memory), and all complete with that instance's id once released.", fluidHeld)},
	{Name: "fluid-abort", Spec: "3, 4", Fluid: true, run: fluidAbortCase,
		Checks: "One client of several held at once leaves (supportsCancellation): only its invocation's context is cancelled; the others stay held and complete when released."},
	{Name: "fluid-deadline", Spec: "4", Fluid: true, run: fluidDeadlineCase,
		Checks: "One invocation held past maxDuration (4 s) gets 504 FUNCTION_INVOCATION_TIMEOUT and its context is cancelled, while the others held on its instance, started 2 s later, are untouched and complete when released."},
	{Name: "fluid-trap", Spec: "2, 4", Fluid: true, run: fluidTrapCase,
		Checks: "A trap (a Go panic no handler recovers ends the runtime) ends every invocation of the instance: those whose head was not sent get 500 FUNCTION_INVOCATION_FAILED, those whose head was sent a cut body; each request id is in an error line of the host's log; the next request is served by a new instance."},
}

const (
	// fluidMaxDuration is the maxDuration of api/fluid/[case].
	fluidMaxDuration = 4 * time.Second
	// fluidHeld is how many requests the concurrency case holds at once.
	fluidHeld = 16
	// The host's error codes of SPEC.md section 3's table.
	codeFailed  = "FUNCTION_INVOCATION_FAILED"
	codeTimeout = "FUNCTION_INVOCATION_TIMEOUT"
)

// flight is a GET request sent in the background.
type flight struct {
	n      string
	head   chan struct{} // closed when the head is in, or the request failed
	done   chan struct{} // closed when the body is read, or the request failed
	resp   *http.Response
	body   []byte
	err    error // of the request, or of reading its body
	cancel context.CancelFunc
}

// fly sends GET path in the background.
func (s *suite) fly(path, n string) *flight {
	ctx, cancel := context.WithCancel(context.Background())
	f := &flight{n: n, head: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(f.done)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
		if err != nil {
			f.err = err
			close(f.head)
			return
		}
		resp, err := s.client.Do(req)
		if err != nil {
			f.err = err
			close(f.head)
			return
		}
		defer resp.Body.Close()
		f.resp = resp
		close(f.head)
		f.body, f.err = io.ReadAll(resp.Body)
	}()
	return f
}

// wait waits for the whole response, at most timeout.
func (f *flight) wait(r *report, timeout time.Duration) bool {
	select {
	case <-f.done:
		return true
	case <-time.After(timeout):
		r.errorf("request %s: no response within %s", f.n, timeout)
		return false
	}
}

// holdAll holds n requests under key: hold?key=KEY&n=I for I in 0..n-1,
// with flush for those flush says.
func (s *suite) holdAll(key string, n int, flush func(i int) bool) []*flight {
	var fs []*flight
	for i := range n {
		path := "/api/fluid/hold?key=" + key + "&n=" + strconv.Itoa(i)
		if flush != nil && flush(i) {
			path += "&flush=1"
		}
		fs = append(fs, s.fly(path, strconv.Itoa(i)))
	}
	return fs
}

// landAll releases key's requests and cancels the flights that are still
// in the air: the cleanup of a fluid case, whatever its outcome.
func (s *suite) landAll(key string, fs []*flight) {
	hreq, err := http.NewRequest(http.MethodGet, s.base+"/api/fluid/release?key="+key, nil)
	if err == nil {
		if resp, err := s.client.Do(hreq); err == nil {
			resp.Body.Close()
		}
	}
	for _, f := range fs {
		select {
		case <-f.done:
		case <-time.After(s.opts.timeout):
		}
		f.cancel()
	}
}

// waitHeld asks held?key=KEY until ok accepts its headers, and returns
// them; nil, with a failure naming what, after the suite's timeout.
func (s *suite) waitHeld(r *report, key, what string, ok func(h http.Header) bool) http.Header {
	deadline := time.Now().Add(s.opts.timeout)
	var last http.Header
	for {
		var probe report
		if resp := s.get(&probe, "/api/fluid/held?key="+key); resp != nil && resp.StatusCode == 200 {
			last = resp.Header
			if ok(last) {
				return last
			}
		} else if probe.failed() {
			r.failures = append(r.failures, probe.failures...)
			return nil
		} else if resp != nil {
			wantStatus(r, resp, 200)
			return nil
		}
		if time.Now().After(deadline) {
			r.errorf("waiting %s for %s: the guest's last report: held %q, cancelled %q, instance %q",
				s.opts.timeout, what, last.Get("x-wfn-held"), last.Get("x-wfn-cancelled"), last.Get("x-wfn-instance"))
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// heldCount accepts a report of n held requests.
func heldCount(n int) func(http.Header) bool {
	return func(h http.Header) bool { return h.Get("x-wfn-held") == strconv.Itoa(n) }
}

// release releases key's requests, n of them held.
func (s *suite) release(r *report, key string, n int) bool {
	resp := s.get(r, "/api/fluid/release?key="+key)
	return resp != nil && wantStatus(r, resp, 200) && wantHeader(r, resp, "x-wfn-released", strconv.Itoa(n))
}

// wantReleased checks that each flight completed with 200, "released\n"
// and the instance id inst.
func (s *suite) wantReleased(r *report, fs []*flight, inst string) {
	for _, f := range fs {
		if !f.wait(r, s.opts.timeout) {
			continue
		}
		if f.err != nil {
			r.errorf("request %s: %v", f.n, f.err)
			continue
		}
		resp := &response{Response: f.resp, body: f.body}
		if wantStatus(r, resp, 200) && wantBody(r, resp, "released\n") {
			wantHeader(r, resp, "x-wfn-instance", inst)
		}
	}
}

func fluidConcurrencyCase(s *suite, r *report) {
	key := "concurrency-" + s.token
	fs := s.holdAll(key, fluidHeld, nil)
	defer s.landAll(key, fs)
	h := s.waitHeld(r, key, fmt.Sprintf("%d requests held at once in one instance", fluidHeld), heldCount(fluidHeld))
	if h == nil || !s.release(r, key, fluidHeld) {
		return
	}
	s.wantReleased(r, fs, h.Get("x-wfn-instance"))
}

func fluidAbortCase(s *suite, r *report) {
	const n, leaves = 6, 2
	key := "abort-" + s.token
	fs := s.holdAll(key, n, nil)
	defer s.landAll(key, fs)
	h := s.waitHeld(r, key, fmt.Sprintf("%d requests held at once", n), heldCount(n))
	if h == nil {
		return
	}
	fs[leaves].cancel() // the client leaves
	after := s.waitHeld(r, key, fmt.Sprintf("request %d's context to be cancelled (its client left)", leaves), func(h http.Header) bool {
		return h.Get("x-wfn-cancelled") != ""
	})
	if after == nil {
		return
	}
	if got, want := after.Get("x-wfn-cancelled"), strconv.Itoa(leaves); got != want {
		r.errorf("cancelled contexts: %q, want only %q, the request whose client left", got, want)
	}
	if after.Get("x-wfn-held") != strconv.Itoa(n-1) {
		r.errorf("%s requests held after one client left, want %d", after.Get("x-wfn-held"), n-1)
	}
	if !s.release(r, key, n-1) {
		return
	}
	s.wantReleased(r, slices.Delete(slices.Clone(fs), leaves, leaves+1), h.Get("x-wfn-instance"))
	if f := fs[leaves]; f.wait(r, s.opts.timeout) && !errors.Is(f.err, context.Canceled) {
		r.errorf("request %d, whose client left: %v, want context.Canceled", leaves, f.err)
	}
}

func fluidDeadlineCase(s *suite, r *report) {
	const n = 4
	lateKey, key := "deadline-late-"+s.token, "deadline-"+s.token
	late := s.fly("/api/fluid/hold?key="+lateKey+"&n=late", "late")
	defer s.landAll(lateKey, []*flight{late})
	// The others start when the late one has less than half of
	// maxDuration left, so that theirs end at least that much later.
	half := fluidMaxDuration / 2
	lh := s.waitHeld(r, lateKey, fmt.Sprintf("the late request to have less than %s left", half), func(h http.Header) bool {
		ms, err := strconv.ParseInt(h.Get("x-wfn-remaining-ms"), 10, 64)
		return err == nil && time.Duration(ms)*time.Millisecond < half
	})
	if lh == nil {
		return
	}
	fs := s.holdAll(key, n, nil)
	defer s.landAll(key, fs)
	if s.waitHeld(r, key, fmt.Sprintf("%d more requests held", n), heldCount(n)) == nil {
		return
	}
	if !late.wait(r, s.opts.timeout) {
		return
	}
	if late.resp == nil {
		r.errorf("the late request: %v, want 504 at its deadline", late.err)
		return
	}
	resp := &response{Response: late.resp, body: late.body}
	if wantStatus(r, resp, http.StatusGatewayTimeout) {
		wantHeader(r, resp, headerError, codeTimeout)
	}
	if s.waitHeld(r, lateKey, "the late request's context to be cancelled at its deadline", func(h http.Header) bool {
		return h.Get("x-wfn-cancelled") == "late"
	}) == nil {
		return
	}
	h := s.waitHeld(r, key, "the others to be held still", func(http.Header) bool { return true })
	if h == nil {
		return
	}
	if h.Get("x-wfn-held") != strconv.Itoa(n) || h.Get("x-wfn-cancelled") != "" {
		r.errorf("after the late request's deadline: held %q, cancelled %q; want %d held, none cancelled", h.Get("x-wfn-held"), h.Get("x-wfn-cancelled"), n)
	}
	if h.Get("x-wfn-instance") != lh.Get("x-wfn-instance") {
		r.errorf("the late request ran in instance %q and the others in %q: want one instance", lh.Get("x-wfn-instance"), h.Get("x-wfn-instance"))
	}
	if !s.release(r, key, n) {
		return
	}
	s.wantReleased(r, fs, h.Get("x-wfn-instance"))
}

func fluidTrapCase(s *suite, r *report) {
	const n = 6
	key := "trap-" + s.token
	flushed := func(i int) bool { return i%2 == 0 }
	fs := s.holdAll(key, n, flushed)
	defer s.landAll(key, fs)
	h := s.waitHeld(r, key, fmt.Sprintf("%d requests held", n), heldCount(n))
	if h == nil {
		return
	}
	for i, f := range fs {
		if !flushed(i) {
			continue
		}
		select {
		case <-f.head:
		case <-time.After(s.opts.timeout):
			r.errorf("request %d flushed its head, which did not come within %s", i, s.opts.timeout)
			return
		}
	}
	trap := s.fly("/api/fluid/trap?key="+key, "trap")
	defer trap.cancel()
	var ids []string
	for i, f := range append(slices.Clone(fs), trap) {
		if !f.wait(r, s.opts.timeout) {
			continue
		}
		if f.resp == nil {
			r.errorf("request %s: %v", f.n, f.err)
			continue
		}
		ids = append(ids, f.resp.Header.Get(headerRequestID))
		resp := &response{Response: f.resp, body: f.body}
		if i < n && flushed(i) {
			// The head was sent: the body is cut after what was written.
			if resp.StatusCode != 200 || string(f.body) != "held\n" || f.err == nil {
				r.errorf("request %s (head sent): status %d, body %s, error %v; want 200, \"held\\n\" and a cut body", f.n, resp.StatusCode, clip(f.body), f.err)
			}
			continue
		}
		if wantStatus(r, resp, http.StatusInternalServerError) {
			wantHeader(r, resp, headerError, codeFailed)
		}
	}
	// Each request id is logged with the failure.
	deadline := time.Now().Add(s.opts.timeout)
	for _, id := range ids {
		for !s.logs.hasError(id) {
			if time.Now().After(deadline) {
				r.errorf("no error line in the host's log with request id %q within %s", id, s.opts.timeout)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The host keeps serving, with a new instance.
	if resp := s.get(r, "/api/fluid/instance"); resp != nil && wantStatus(r, resp, 200) {
		if got := resp.Header.Get("x-wfn-instance"); got == "" || got == h.Get("x-wfn-instance") {
			r.errorf("after the trap: instance %q, want a new one (the trapped one was %q)", got, h.Get("x-wfn-instance"))
		}
	}
}

// hasError reports whether the log has a line at level ERROR with request
// id id.
func (l *logBuffer) hasError(id string) bool {
	if id == "" {
		return false
	}
	for line := range strings.SplitSeq(l.String(), "\n") {
		if !strings.Contains(line, id) {
			continue
		}
		var ll logLine
		if json.Unmarshal([]byte(line), &ll) == nil && ll.Level == "ERROR" && ll.ID == id {
			return true
		}
	}
	return false
}
