package host_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// The JavaScript runtime's Web APIs beyond Request and Response
// (testdata/js/api/web): timers, AbortSignal, crypto.subtle, streams,
// fetch, request.signal, process.

func TestJSWebGlobals(t *testing.T) {
	h, srv, logs := serve(t, host.Config{Dir: "../testdata/js"})
	r := get(t, srv.URL+"/api/web/misc")
	var got struct {
		Order         []string
		Ticks         int
		WithResolvers string
		Timeout       []any
		Any           []any
		Digests       map[string]string
		B64, Unb64    string
		Clone         []any
		Env           string
		BundleHidden  bool
		Headers       map[string]any
		Response      map[string]any
		Request       map[string]any
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("GET = %d %q: %v", r.status, r.body, err)
	}
	sum1, sum256, sum384, sum512 := sha1.Sum([]byte("abc")), sha256.Sum256([]byte("abc")), sha512.Sum384([]byte("abc")), sha512.Sum512([]byte("abc"))
	want := map[string]string{
		"SHA-1":   hex.EncodeToString(sum1[:]),
		"SHA-256": hex.EncodeToString(sum256[:]),
		"SHA-384": hex.EncodeToString(sum384[:]),
		"SHA-512": hex.EncodeToString(sum512[:]),
	}
	for alg, w := range want {
		if got.Digests[alg] != w {
			t.Errorf("digest %s = %q, want %q", alg, got.Digests[alg], w)
		}
	}
	if strings.Join(got.Order, ",") != "first,second" || got.Ticks != 3 || got.WithResolvers != "resolved" {
		t.Errorf("timers: order %v, ticks %d, withResolvers %q", got.Order, got.Ticks, got.WithResolvers)
	}
	if len(got.Timeout) != 2 || got.Timeout[0] != true || got.Timeout[1] != "TimeoutError" {
		t.Errorf("AbortSignal.timeout = %v", got.Timeout)
	}
	if len(got.Any) != 3 || got.Any[0] != true || got.Any[1] != "why" || got.Any[2] != "why" {
		t.Errorf("AbortSignal.any = %v", got.Any)
	}
	if got.B64 != "aGVsbG//" || got.Unb64 != "hello" {
		t.Errorf("btoa = %q, atob = %q", got.B64, got.Unb64)
	}
	if len(got.Clone) != 5 || got.Clone[0] != true || got.Clone[2] != float64(0) || got.Clone[3] != true || got.Clone[4] != "DataCloneError" {
		t.Errorf("structuredClone = %v", got.Clone)
	}
	if got.Env != "hi" || !got.BundleHidden {
		t.Errorf("process.env: GREETING %q, bundle hidden %v", got.Env, got.BundleHidden)
	}
	wantHeaders := map[string]any{
		"get":         "1, 3",
		"missing":     nil,
		"entries":     "b=2|set-cookie=c=1|set-cookie=d=2|x-a=1, 3",
		"keys":        "b,set-cookie,set-cookie,x-a",
		"setCookie":   "c=1|d=2",
		"tag":         "[object Headers]",
		"forEach":     "b:true,set-cookie:true,set-cookie:true,x-a:true",
		"afterSet":    "9 b,set-cookie,set-cookie,x-a",
		"afterDelete": "false true",
		"copy":        "9",
		"subclass":    "v true true",
		"errors":      "TypeError,TypeError,TypeError,TypeError,TypeError",
		"userAgent":   "Go-http-client/1.1",
		"json":        "application/json",
		"text":        "text/plain;charset=UTF-8",
	}
	checkAll(t, "Headers", got.Headers, wantHeaders)
	wantResponse := map[string]any{
		"init":     `201 true Made 1 text/plain;charset=UTF-8 default "" false false`,
		"tag":      "[object Response]",
		"text":     "héllo true héllo 201 Made",
		"empty":    `200 true "" null null true`,
		"bytes":    "null hi",
		"form":     "application/x-www-form-urlencoded;charset=UTF-8",
		"number":   "42",
		"json":     `404 false application/json {"a":1}`,
		"redirect": "307 https://example.com/x",
		"subclass": "true sub s",
		"stream":   "streamed",
		"errors":   "RangeError,TypeError,RangeError,TypeError,TypeError,RangeError",
		"reuse":    "TypeError",
	}
	checkAll(t, "Response", got.Response, wantResponse)
	wantRequest := map[string]any{
		"served":   "GET /api/web/misc true true follow null false [object Request]",
		"clone":    "GET true Go-http-client/1.1 true",
		"made":     "POST https://example.com/a?b=1 1 text/plain;charset=UTF-8 manual false",
		"copied":   "POST null 2 manual true text",
		"streamed": "true TypeError",
		"put":      "PUT",
		"errors":   "TypeError,TypeError,TypeError,TypeError,TypeError",
	}
	checkAll(t, "Request", got.Request, wantRequest)

	// Shutting down calls wfn_on_sigterm on the idle instance: the
	// module's process.on('SIGTERM') listener runs.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !strings.Contains(logs.String(), "SIGTERM received") {
		t.Errorf("the SIGTERM listener did not run:\n%s", logs)
	}
}

// checkAll reports each check of what whose result in got is not the one
// in want.
func checkAll(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s check %s = %#v, want %#v", what, k, g, w)
		}
	}
}

// upstream is a loopback server for fetch, outside the host.
func upstream(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// readUntil reads from r until what it read ends with want.
func readUntil(t *testing.T, r *bufio.Reader, want string) string {
	t.Helper()
	var b strings.Builder
	for !strings.HasSuffix(b.String(), want) {
		c, err := r.ReadByte()
		if err != nil {
			t.Fatalf("read %q, then %v; want %q", b.String(), err, want)
		}
		b.WriteByte(c)
	}
	return b.String()
}

// leaveAfter requests url and reads its body until want, then leaves as a
// client that goes away does: its request's context ends and the body is
// closed.
func leaveAfter(t *testing.T, url, want string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	readUntil(t, bufio.NewReader(resp.Body), want)
}

// TestJSStreams: a fetched body piped through a TransformStream reaches
// the client chunk by chunk (the upstream sends its second chunk only once
// the client has the first), and a request body is read in chunks as the
// client sends them, while the response streams back (full duplex).
func TestJSStreams(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/js"})
	release := make(chan struct{})
	var from atomic.Value
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		from.Store(r.Header.Get("X-From"))
		w.Header().Set("X-Upstream", "yes")
		io.WriteString(w, "one ")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "two")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/web/relay?up="+up, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Upstream") != "yes" {
		t.Fatalf("relay = %d %v", resp.StatusCode, resp.Header)
	}
	body := bufio.NewReader(resp.Body)
	readUntil(t, body, "ONE ") // before the upstream sends "two"
	close(release)
	rest, err := io.ReadAll(body)
	if err != nil || string(rest) != "TWO" {
		t.Errorf("rest = %q, %v; want TWO", rest, err)
	}
	if from.Load() != "relay" {
		t.Errorf("the upstream got x-from %q", from.Load())
	}

	// Full duplex: each chunk sent comes back before the next is sent.
	pr, pw := io.Pipe()
	req, _ = http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/web/relay", pr)
	req.ContentLength = -1
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(done)
			return
		}
		done <- resp
	}()
	io.WriteString(pw, "alpha")
	resp = <-done
	if resp == nil {
		t.FailNow()
	}
	defer resp.Body.Close()
	body = bufio.NewReader(resp.Body)
	readUntil(t, body, "1:alpha\n")
	io.WriteString(pw, "beta")
	readUntil(t, body, "2:beta\n")
	pw.Close()
	if rest, err := io.ReadAll(body); err != nil || len(rest) != 0 {
		t.Errorf("after the body: %q, %v", rest, err)
	}
}

// TestJSFetch: several fetches are in flight together (the backend
// answers only once all of them have arrived), an abort while a body is
// read closes the fetch's connection, and the outbound policy refuses what
// is not allowed.
func TestJSFetch(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/js"})
	const n = 4
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	gone := make(chan struct{})
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			io.WriteString(w, "part")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			close(gone)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			io.WriteString(w, "together:"+string(b))
		case <-time.After(30 * time.Second): // a fail-safe, not a wait the test relies on
			io.WriteString(w, "alone")
		}
	})
	r := get(t, srv.URL+"/api/web/fanout?n=4&up="+up)
	want := "together:request 0,together:request 1,together:request 2,together:request 3"
	if r.status != 200 || r.body != want {
		t.Errorf("fanout = %d %q, want %q", r.status, r.body, want)
	}

	r = do(t, "POST", srv.URL+"/api/web/fanout?up="+up+"/hold", nil)
	lines := strings.Split(r.body, "\n")
	if r.status != 200 || len(lines) != 2 || lines[0] != "AbortError" || !strings.HasPrefix(lines[1], "TypeError: ") || !strings.Contains(lines[1], "EDENIED") {
		t.Errorf("POST fanout = %d %q", r.status, r.body)
	}
	select {
	case <-gone:
	case <-time.After(30 * time.Second):
		t.Error("the aborted fetch's connection was not closed")
	}
}

// TestJSCancel: the seed's cancel-with-cleanup shape. The client leaves
// in the middle of a streamed relay: request.signal aborts, its listener
// runs, the upstream fetch given the signal has its connection closed, and
// nothing is reported as an uncaught exception.
func TestJSCancel(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/js"})
	gone := make(chan struct{})
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	})
	leaveAfter(t, srv.URL+"/api/web/cancel?up="+up, "first")
	select {
	case <-gone:
	case <-time.After(30 * time.Second):
		t.Fatal("the upstream's connection was not closed after the client left")
	}
	eventually(t, "the abort listener's line", func() bool {
		return strings.Contains(logs.String(), "request aborted, cancelling pending task")
	})
	if s := logs.String(); strings.Contains(s, "Uncaught") {
		t.Errorf("an uncaught exception after the abort:\n%s", s)
	}
}
