package host_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// TestJSTimeoutDuringFetch: AbortSignal.timeout(100) fires while the
// runtime waits for a backend that never answers (http_wait bounds the
// wait for the response head by the next timer), and while it waits for
// the rest of a body that stalls after its first part: the fetch (or the
// body's read) rejects with a TimeoutError, the function answers, and the
// backend's connection closes. Without the bounded wait the function would
// wait for the backend, here for ever (the function's maxDuration is 300
// s, past the client's timeout).
func TestJSTimeoutDuringFetch(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/jsloop"})
	release := make(chan struct{})
	defer close(release)
	for _, c := range []struct{ at, want string }{{"head", "TimeoutError"}, {"body", "TimeoutError after first"}} {
		gone := make(chan struct{})
		up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
			if c.at == "body" {
				io.WriteString(w, "first")
				w.(http.Flusher).Flush()
			}
			select {
			case <-r.Context().Done():
				close(gone)
			case <-release:
			}
		})
		client := &http.Client{Timeout: 60 * time.Second}
		resp, err := client.Get(srv.URL + "/api/timeout?up=" + up)
		if err != nil {
			t.Fatalf("a timeout during the %s: %v (did the timer fire while the fetch waited?)", c.at, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != c.want {
			t.Errorf("a timeout during the %s: %d %q, want 200 %q", c.at, resp.StatusCode, b, c.want)
		}
		select {
		case <-gone:
		case <-time.After(30 * time.Second):
			t.Errorf("a timeout during the %s: the fetch's connection was not closed", c.at)
		}
	}
}

// TestJSCleanupAfterAbort: the seed's cancel-with-cleanup. The client
// leaves in the middle of a relay: the relayed fetch (sent with
// request.signal before the abort) has its connection closed, and the
// cleanup fetch the abort listener sends afterwards reaches the backend
// and gets its answer, under waitUntil.
func TestJSCleanupAfterAbort(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/jsloop"})
	gone, cancelled := make(chan struct{}), make(chan struct{})
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cancel" {
			close(cancelled)
			io.WriteString(w, "cancelled")
			return
		}
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	})
	leaveAfter(t, srv.URL+"/api/cleanup?up="+up, "first")
	for what, ch := range map[string]chan struct{}{"the relayed fetch's connection closed": gone, "the cleanup request reached the backend": cancelled} {
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Errorf("after the client left: %s did not happen", what)
		}
	}
	eventually(t, "the cleanup's answer in the log", func() bool {
		return strings.Contains(logs.String(), "cleanup answered 200: cancelled")
	})
	if s := logs.String(); strings.Contains(s, "cleanup failed") || strings.Contains(s, "Uncaught") {
		t.Errorf("the cleanup failed:\n%s", s)
	}
}

// TestJSEncodingStreams: TextDecoder's stream mode, encodeInto,
// TextDecoderStream and TextEncoderStream with chunks that cut characters.
func TestJSEncodingStreams(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/jsloop"})
	r := get(t, srv.URL+"/api/encoding")
	want := strings.Join([]string{
		"bytewise true",
		`bom "A"`,
		`cut at the end "A` + "\ufffd" + `"`,
		"encodeInto 3/5 1/1",
		"TextDecoderStream true",
		"TextEncoderStream true",
	}, "\n")
	if r.status != 200 || r.body != want {
		t.Errorf("GET /api/encoding = %d\n%s\nwant\n%s", r.status, r.body, want)
	}
}

// TestJSRouteParamsInURL: a Web handler's request.url carries the dynamic
// route segments in its query, as on Vercel.
func TestJSRouteParamsInURL(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/jsloop"})
	r := get(t, srv.URL+"/api/params/42?x=1")
	if want := "/api/params/42?x=1&id=42 id=42"; r.status != 200 || r.body != want {
		t.Errorf("GET /api/params/42?x=1 = %d %q, want %q", r.status, r.body, want)
	}
}

// TestJSWellFormedBody: a string body's lone surrogates go out as U+FFFD
// (USVString, as toWellFormed makes them), whether the runtime sends the
// Response in C (a handler that returns one) or in the prelude (a
// promise of one); a HEAD answered from GET has no body, and the
// Content-Length GET has (RFC 9110 section 9.3.2).
func TestJSWellFormedBody(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/jsloop"})
	want := "a\ufffdb\ufffdc\U0001F600\u00e9"
	for _, path := range []string{"/api/wellformed", "/api/wellformed?async"} {
		for _, method := range []string{"GET", "POST", "HEAD"} {
			r := do(t, method, srv.URL+path, nil)
			w := want
			if method == "HEAD" {
				w = ""
			}
			if r.status != 200 || r.body != w {
				t.Errorf("%s %s = %d %q, want 200 %q", method, path, r.status, r.body, w)
			}
			if cl := r.header.Get("Content-Length"); cl != strconv.Itoa(len(want)) {
				t.Errorf("%s %s: Content-Length %q, want %d", method, path, cl, len(want))
			}
		}
	}
}

// TestJSKeptRequest: a request the function keeps past its invocation
// keeps its URL and headers: a later invocation on the same instance
// reads an earlier one's ("none" on an instance that kept none yet).
func TestJSKeptRequest(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/jsloop"})
	earlier := map[string]bool{}
	kept := 0
	for n := range 5 {
		url := fmt.Sprintf("%s/api/kept?n=%d", srv.URL, n)
		r := do(t, http.MethodGet, url, nil, "X-N", strconv.Itoa(n))
		if r.status != 200 || (r.body != "none" && !earlier[r.body]) {
			t.Errorf("GET %s = %d %q, want 200 and an earlier request's URL and x-n", url, r.status, r.body)
		}
		if r.body != "none" {
			kept++
		}
		earlier[fmt.Sprintf("%s %d", url, n)] = true
	}
	if kept == 0 {
		t.Errorf("no invocation read a kept request's URL")
	}
}
