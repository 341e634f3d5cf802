package host_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// rawResult is what a client writing raw bytes got back.
type rawResult struct {
	resp    *http.Response
	body    string
	bodyErr error // reading the body: nil for a clean end
}

// rawRequest writes raw to a new connection to srv, closes its writing
// side when halfClose is set, and reads one response.
func rawRequest(t *testing.T, srv *httptest.Server, raw string, halfClose bool) rawResult {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		_ = c.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	return rawResult{resp, string(b), err}
}

// A request body the guest cannot read because the client sent it wrong
// (malformed chunked encoding, a body cut short) is the client's fault:
// 400 BAD_REQUEST when the head was not sent, a cut response when it was
// (never a clean end, as if the body were whole), and one log line at info
// saying so, with the request id; not a function failure.
func TestMalformedRequestBody(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "drain", "hold")})
	chunked := func(path, body string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body
	}
	for _, tc := range []struct {
		name, raw string
		halfClose bool
		log       string
	}{
		{"bad chunk size", chunked("/api/drain", "5\r\nhello\r\nzz\r\nabc\r\n0\r\n\r\n"), false, "the request body is malformed"},
		{"no CRLF after a chunk", chunked("/api/drain", "5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n"), false, "the request body is malformed"},
		{"garbage trailer", chunked("/api/drain", "5\r\nhello\r\n0\r\nno colon here\r\n\r\n"), false, "the request body is malformed"},
		{"chunk cut short", chunked("/api/drain", "50\r\nhello"), true, "closed its connection before sending the whole request body"},
		{"shorter than its length", "POST /api/drain HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhello", true, "closed its connection before sending the whole request body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rawRequest(t, srv, tc.raw, tc.halfClose)
			wantError(t, response{r.resp.StatusCode, r.resp.Header, r.body}, 400, host.CodeBadRequest)
			id := r.resp.Header.Get("X-Vercel-Id")
			eventually(t, "the client error's log line", func() bool {
				return logHas(logs, "level=INFO", "client error: ", tc.log, "id="+id, "body_err=")
			})
			if logHas(logs, "invocation failed", "id="+id) {
				t.Errorf("the client's fault is logged as the function's:\n%s", logs)
			}
		})
	}
	t.Run("after the head was sent", func(t *testing.T) {
		// hold flushes its head before it reads: the host can only cut
		// the response, so that the client does not take it for whole.
		r := rawRequest(t, srv, chunked("/api/hold", "5\r\nhello\r\nzz\r\n"), false)
		if r.resp.StatusCode != 200 || r.bodyErr == nil {
			t.Errorf("got %d %q ending cleanly (%v), want a cut 200", r.resp.StatusCode, r.body, r.bodyErr)
		}
		id := r.resp.Header.Get("X-Vercel-Id")
		eventually(t, "the client error's log line", func() bool {
			return logHas(logs, "level=INFO", "client error: the request body is malformed", "id="+id)
		})
	})
	t.Run("the instance serves on", func(t *testing.T) {
		if r := do(t, "POST", srv.URL+"/api/drain", strings.NewReader("fine")); r.status != 200 || r.body != "drained" {
			t.Errorf("a good request after bad ones: %d %q", r.status, r.body)
		}
	})
}

// A streamed request body over 4.5 MB is the client's fault: 413, logged
// as a client error at info, not as a failed invocation.
func TestRequestTooLargeLoggedAsClientError(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "drain")})
	var raw bytes.Buffer
	raw.WriteString("POST /api/drain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for n := 0; n < 4_700_000; n += len(chunk) {
		fmt.Fprintf(&raw, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	raw.WriteString("0\r\n\r\n")
	r := rawRequest(t, srv, raw.String(), false)
	wantError(t, response{r.resp.StatusCode, r.resp.Header, r.body}, 413, host.CodePayloadTooLarge)
	id := r.resp.Header.Get("X-Vercel-Id")
	eventually(t, "the client error's log line", func() bool {
		return logHas(logs, "level=INFO", "client error: the request body is over the limit", "id="+id, "code="+host.CodePayloadTooLarge)
	})
	if logHas(logs, "invocation failed", "id="+id) {
		t.Errorf("the client's fault is logged as the function's:\n%s", logs)
	}
}

// A client that asks for a streamed response and never reads it does not
// hold the invocation, and its instance, past maxDuration: a write that
// waits on the client ends at the deadline, as a body read does, under ABI
// version 1 and under version 2 (the serving goroutine's write).
func TestClientThatDoesNotReadCannotHoldAnInvocation(t *testing.T) {
	t.Run("v1", func(t *testing.T) {
		dir := watDir(t, "flood", "hello")
		writeConfig(t, dir, "vercel.json", `{"functions": {"api/flood.wasm": {"maxDuration": 1}}}`)
		_, srv, logs := serve(t, host.Config{Dir: dir})
		floodUnread(t, srv, logs, "/api/flood", "api/flood.wasm")
	})
	t.Run("v2", func(t *testing.T) {
		requireGo(t)
		_, srv, logs := serve(t, host.Config{Dir: "../testdata/fluid", MaxDuration: 2 * time.Second})
		floodUnread(t, srv, logs, "/api/sleep?flood", "api/sleep")
	})
}

// floodUnread asks srv for target, which streams without end, never reads
// the response, and waits for function fn's timeout in the log.
func floodUnread(t *testing.T, srv *httptest.Server, logs *syncBuffer, target, fn string) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The connection stays open and unread until the invocation ends.
	eventually(t, "the unread invocation to end at its deadline", func() bool {
		return logHas(logs, "invocation timed out", "fn="+fn)
	})
}

// A version 2 function's request body that the client sent wrong is
// logged as the client's error too, with the request id, and answered as
// version 1 answers it (400 BAD_REQUEST, 413 FUNCTION_PAYLOAD_TOO_LARGE):
// the guest gets EIO or ETOOLARGE, where it got them with no log line and
// answered as it would.
func TestFluidMalformedRequestBody(t *testing.T) {
	requireGo(t)
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/fluid"})
	var big bytes.Buffer
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for n := 0; n < 4_700_000; n += len(chunk) {
		fmt.Fprintf(&big, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	big.WriteString("0\r\n\r\n")
	for _, tc := range []struct {
		name, body string
		halfClose  bool
		log        string
		status     int
		code       string
	}{
		{"bad chunk size", "5\r\nhello\r\nzz\r\nabc\r\n0\r\n\r\n", false, "client error: the request body is malformed", 400, host.CodeBadRequest},
		{"chunk cut short", "50\r\nhello", true, "client error: the client closed its connection before sending the whole request body", 400, host.CodeBadRequest},
		{"over 4.5 MB", big.String(), false, "client error: the request body is over the limit", 413, host.CodePayloadTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rawRequest(t, srv, "POST /api/sleep HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+tc.body, tc.halfClose)
			// As version 1 answers it, whatever the guest answers.
			if r.resp.StatusCode != tc.status || r.resp.Header.Get("X-Wfn-Error") != tc.code {
				t.Errorf("%d %s %q, want %d %s", r.resp.StatusCode, r.resp.Header.Get("X-Wfn-Error"), r.body, tc.status, tc.code)
			}
			id := r.resp.Header.Get("X-Vercel-Id")
			eventually(t, "the client error's log line", func() bool {
				return logHas(logs, "level=INFO", tc.log, "fn=api/sleep", "id="+id)
			})
		})
	}
}

// A Range of a static file that selects nothing, a suffix of length 0
// ("bytes=-0"), is unsatisfiable: 416 with Content-Range "bytes */N", not
// a 206 with the malformed Content-Range "bytes N-(N-1)/N". Alongside a
// satisfiable range it is ignored.
func TestStaticEmptySuffixRange(t *testing.T) {
	dir := t.TempDir()
	mustCopy(t, "../testdata/wat/hello.wat", dir+"/public/a.txt")
	_, srv, _ := serve(t, host.Config{Dir: dir})
	whole := get(t, srv.URL+"/a.txt")
	if whole.status != 200 || whole.body == "" {
		t.Fatalf("GET /a.txt: %d %q", whole.status, whole.body)
	}
	n := itoa(len(whole.body))
	for _, tc := range []struct {
		rng, contentRange, body string
		status                  int
	}{
		{"bytes=-0", "bytes */" + n, "", 416},
		{"bytes=-000", "bytes */" + n, "", 416},
		{"bytes=-0, 0-1", "bytes 0-1/" + n, whole.body[:2], 206},
		{"bytes=-0,-2", "bytes " + itoa(len(whole.body)-2) + "-" + itoa(len(whole.body)-1) + "/" + n, whole.body[len(whole.body)-2:], 206},
		{"bytes=0-0", "bytes 0-0/" + n, whole.body[:1], 206},
	} {
		r := do(t, "GET", srv.URL+"/a.txt", nil, "Range", tc.rng)
		if r.status != tc.status || r.header.Get("Content-Range") != tc.contentRange || (tc.status == 206 && r.body != tc.body) {
			t.Errorf("Range %q: %d, Content-Range %q, body %q; want %d, %q, %q", tc.rng, r.status, r.header.Get("Content-Range"), r.body, tc.status, tc.contentRange, tc.body)
		}
	}
}

// A client that announces a request body and sends none, to a path that
// no function serves (a 404, a static file), gets its answer at once, and
// its connection goes idle, to be closed by the server's IdleTimeout, once
// the host gives up on the body: net/http waited for the body before
// sending the head, and after it, without end (wfn serve sets no
// ReadTimeout), and the connection, never idle, escaped IdleTimeout.
func TestAnnouncedBodyNeverSent(t *testing.T) {
	dir := t.TempDir()
	mustCopy(t, "../testdata/wat/hello.wat", dir+"/public/a.txt")
	h, handler, _, err := newHost(host.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// As wfn serve's server, with a short IdleTimeout.
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Config.IdleTimeout = time.Second
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := closeHost(h); err != nil {
			t.Error(err)
		}
	})
	for _, tc := range []struct {
		name, head string
		status     int
	}{
		{"404 with a length", "POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", 404},
		{"404 chunked", "POST /nothing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 404},
		{"static file", "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			// The answer comes well before the wait for the body ends.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer while the body is awaited: %v", err)
			}
			if _, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != tc.status {
				t.Errorf("got %d (%v), want %d", resp.StatusCode, err, tc.status)
			}
			// Then the host gives up on the body, and the idle
			// connection is closed.
			_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
			if _, err := io.Copy(io.Discard, br); err != nil {
				t.Errorf("the server did not close the connection: %v", err)
			}
		})
	}
}
