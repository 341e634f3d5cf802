package host_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// TestServeHTTPAfterClose: a request that reaches a closed host, as one
// does when the embedding server still accepts while the host shuts down,
// gets 503 with Retry-After whatever it asks for (a function, a static
// file, a path that matches nothing), never a 404 that a load balancer or a
// cache would take for the site's answer.
func TestServeHTTPAfterClose(t *testing.T) {
	dir := watDir(t, "hello")
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public", "index.html"), []byte("<h1>home</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, srv, _ := serve(t, host.Config{Dir: dir})
	for _, path := range []string{"/api/hello", "/", "/index.html"} {
		if r := get(t, srv.URL+path); r.status != http.StatusOK {
			t.Fatalf("GET %s before Close = %d %q, want 200", path, r.status, r.body)
		}
	}
	if err := h.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/hello", "/", "/index.html", "/api/nothing", "/nothing"} {
		r := get(t, srv.URL+path)
		wantError(t, r, http.StatusServiceUnavailable, host.CodeThrottled)
		if r.header.Get("Retry-After") == "" {
			t.Errorf("GET %s after Close: no Retry-After", path)
		}
	}
}

// TestCloseEndsABlockedBodyRead: Close past its deadline ends an
// invocation whose guest waits in request_body_read for bytes its client
// does not send: the invocation ends within Close and its response with
// it, over HTTP/1.1 and HTTP/2 alike. Before, the guest waited on after
// Close returned, for as long as the client kept the body open.
func TestCloseEndsABlockedBodyRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		h2c  bool
	}{
		{name: "HTTP/1.1"},
		{name: "h2c", h2c: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			h, handler, _, err := newHost(host.Config{Dir: watDir(t, "hold"), Logger: newLogger(logs)})
			if err != nil {
				t.Fatal(err)
			}
			defer closeHost(h)
			srv := httptest.NewUnstartedServer(handler)
			client := &http.Client{Transport: &http.Transport{}}
			if tc.h2c {
				var p http.Protocols
				p.SetUnencryptedHTTP2(true)
				srv.Config.Protocols = &p
				client.Transport.(*http.Transport).Protocols = &p
			}
			srv.Start()
			defer srv.Close()

			pr, pw := io.Pipe()
			defer pw.Close()
			req, _ := http.NewRequest("POST", srv.URL+"/api/hold", pr)
			resp, err := client.Do(req) // hold sends its head, then reads
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if want := 2; tc.h2c && resp.ProtoMajor != want {
				t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
			}
			read := make(chan error, 1)
			go func() {
				_, err := io.ReadAll(resp.Body)
				read <- err
			}()

			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Close = %v, want context.DeadlineExceeded", err)
			}
			select {
			case <-read:
			case <-time.After(30 * time.Second):
				t.Fatalf("the response was still open 30 s after Close returned:\n%s", logs)
			}
			// hold returns when its read fails: an invocation the
			// shutdown aborted, logged so with its id.
			if !logHas(logs, "invocation stopped: the host is shutting down", resp.Header.Get(host.HeaderRequestID)) {
				t.Errorf("the aborted invocation is not logged as stopped by the shutdown:\n%s", logs)
			}
		})
	}
}

// TestCloseCutsAResponseItsClientDoesNotTake: an invocation streaming to a
// client that does not read waits in response_body_write once the
// connection's buffers are full; Close past its deadline and grace cuts
// that response, and the invocation ends, while the client still reads
// nothing. Before, it waited on after Close returned, until the client
// read.
func TestCloseCutsAResponseItsClientDoesNotTake(t *testing.T) {
	logs := &syncBuffer{}
	h, srv, _ := serve(t, host.Config{Dir: watDir(t, "bigflush"), Logger: newLogger(logs)})
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /api/bigflush HTTP/1.1\r\nHost: wfn\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Its head, then nothing more is read: 5 MiB do not fit in the
	// connection's buffers.
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get(host.HeaderRequestID)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want context.DeadlineExceeded", err)
	}
	eventually(t, "the invocation to end, its client reading nothing", func() bool {
		return logHas(logs, "invocation stopped: the host is shutting down", id)
	})
}

// TestNewRejectsWrongConfig: a Config that cannot be what its embedder
// meant fails New with an error that errors.Is matches (ErrDir or
// ErrConfig) and that names the field, rather than a host that serves
// something else: the working directory, for an unset Dir, or no cache,
// for a Cache URL that is not Redis's (logged at the first request only).
func TestNewRejectsWrongConfig(t *testing.T) {
	dir := watDir(t, "hello")
	for _, tc := range []struct {
		name  string
		cfg   host.Config
		is    error
		names string
	}{
		{name: "no Dir", cfg: host.Config{}, is: host.ErrDir, names: "Dir"},
		{name: "Cache not Redis", cfg: host.Config{Dir: dir, Cache: "memcached://127.0.0.1:11211"}, is: host.ErrConfig, names: "memcached://"},
		{name: "Cache not a URL", cfg: host.Config{Dir: dir, Cache: "redis://[::1"}, is: host.ErrConfig, names: "Cache"},
		{name: "Cache password not shown", cfg: host.Config{Dir: dir, Cache: "redis://:secret@127.0.0.1:6379/x"}, is: host.ErrConfig, names: "redis://:xxxxx@127.0.0.1:6379/x"},
		{name: "GeoIPDB missing", cfg: host.Config{Dir: dir, GeoIPDB: filepath.Join(dir, "none.mmdb")}, is: host.ErrConfig, names: "GeoIPDB"},
		{name: "Environment", cfg: host.Config{Dir: dir, Environment: "staging"}, is: host.ErrConfig, names: "staging"},
		{name: "Region with a colon", cfg: host.Config{Dir: dir, Region: "a::b"}, is: host.ErrConfig, names: "a::b"},
		{name: "MinInstances over the bound", cfg: host.Config{Dir: dir, MinInstances: 3, MaxInstancesPerFunction: 2}, is: host.ErrConfig, names: "MinInstances 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = newLogger(&syncBuffer{})
			tc.cfg.CacheDir = t.TempDir()
			h, err := host.New(t.Context(), tc.cfg)
			if err == nil {
				closeHost(h)
				t.Fatalf("New = a host, want %v", tc.is)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.names) || strings.Count(err.Error(), "wfn:") != 1 {
				t.Errorf("New = %v, want %v naming %s, prefixed wfn: once", err, tc.is, tc.names)
			}
		})
	}
}

// TestCloseEndsAnOutboundRequestInFlight: Close past its deadline ends an
// invocation waiting for an outbound request's response, as a client
// that leaves does with supportsCancellation: the outbound connection is
// closed and the guest gets its answer (ECANCELED) instead of waiting on
// after Close returned for a backend that does not answer.
func TestCloseEndsAnOutboundRequestInFlight(t *testing.T) {
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	dir := watDir(t, "fetch")
	writeConfig(t, dir, "vercel.json", `{"functions": {"api/fetch.wasm": {"allowedOutboundHosts": ["127.0.0.1:*"]}}}`)
	h, srv, _ := serve(t, host.Config{Dir: dir})
	answered := make(chan response, 1)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+"/api/fetch", strings.NewReader(be.URL))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- response{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- response{resp.StatusCode, resp.Header, string(b)}
	}()
	waitForConn(t, be)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want context.DeadlineExceeded", err)
	}
	waitClosed(t, be)
	select {
	case r := <-answered:
		t.Logf("the client got %d %q", r.status, r.body)
	case <-time.After(30 * time.Second):
		t.Fatal("no answer 30 s after Close returned")
	}
}

// TestEmbedderServerTimeoutsHold: an embedder's http.Server ReadTimeout
// and WriteTimeout bound a function's request and response as they bound
// any handler's, though the invocation's own deadline (MaxDuration) is
// later. The host sets a connection's read and write deadlines for each
// invocation, and before, those replaced the server's: a body the client
// kept open was read until MaxDuration, and a response written after the
// server's WriteTimeout still went out.
func TestEmbedderServerTimeoutsHold(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name       string
		read       bool // ReadTimeout, else WriteTimeout
		closeAfter bool // the client ends its body after the timeout
	}{
		{name: "ReadTimeout", read: true},
		{name: "WriteTimeout", closeAfter: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			h, handler, _, err := newHost(host.Config{Dir: watDir(t, "hold"), Logger: newLogger(logs), MaxDuration: 2 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			defer closeHost(h)
			srv := httptest.NewUnstartedServer(handler)
			if tc.read {
				srv.Config.ReadTimeout = timeout
			} else {
				srv.Config.WriteTimeout = timeout
			}
			srv.Start()
			defer srv.Close()

			pr, pw := io.Pipe()
			defer pw.Close()
			req, _ := http.NewRequest("POST", srv.URL+"/api/hold", pr)
			start := time.Now()
			resp, err := srv.Client().Do(req) // hold sends its head, then reads
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tc.closeAfter {
				// hold answers "done" once the body ends: past the
				// server's WriteTimeout.
				time.Sleep(timeout - time.Since(start) + 50*time.Millisecond)
				pw.Close()
			}
			read := make(chan string, 1)
			go func() {
				b, err := io.ReadAll(resp.Body)
				read <- fmt.Sprintf("%q, %v", b, err)
			}()
			select {
			case got := <-read:
				// hold answers "done" when its read fails too: a
				// ReadTimeout is met when the response ends at all.
				if !tc.read && got == `"done", <nil>` {
					t.Errorf("the response went out whole past the server's %v; want it cut", timeout)
				}
			case <-time.After(time.Minute):
				t.Fatalf("the response was still open a minute in, under a server %s of %v:\n%s", tc.name, timeout, logs)
			}
		})
	}
}

// readSignal is a request body that says when it is first read.
type readSignal struct {
	io.ReadCloser
	once sync.Once
	read chan struct{}
}

func (b *readSignal) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.read) })
	return b.ReadCloser.Read(p)
}

// TestCloseEndsABlockedBodyReadV2 is TestCloseEndsABlockedBodyRead for
// an ABI version 2 guest (testdata/fluid's POST reads its body to the
// end before it answers): Close past its deadline ends the invocation
// whose body its client keeps open, and the client gets 503. Before, the
// guest's response imports failed after the abort (ECANCELED), and its
// end made an empty 200 of the response.
func TestCloseEndsABlockedBodyReadV2(t *testing.T) {
	requireGo(t)
	logs := &syncBuffer{}
	h, handler, _, err := newHost(host.Config{Dir: "../testdata/fluid", Logger: newLogger(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeHost(h)
	reading := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &readSignal{ReadCloser: r.Body, read: reading}
		handler.ServeHTTP(w, r)
	}))
	defer srv.Close()

	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/sleep", pr)
	answered := make(chan response, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err != nil {
			answered <- response{body: err.Error()}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b = fmt.Appendf(b, " (%v)", err)
		}
		answered <- response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	}()
	if _, err := pw.Write([]byte("part of the body")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reading:
	case <-time.After(time.Minute):
		t.Fatalf("the invocation did not read its body within a minute:\n%s", logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want context.DeadlineExceeded", err)
	}
	select {
	case got := <-answered:
		// Its response imports failed from the abort on: not the
		// empty 200 its end made of it, but the shutdown's 503,
		// logged with its id as version 1's is.
		wantError(t, got, http.StatusServiceUnavailable, host.CodeInvocationFailed)
		if !logHas(logs, "invocation stopped: the host is shutting down", got.header.Get(host.HeaderRequestID)) {
			t.Errorf("the aborted invocation is not logged as stopped by the shutdown:\n%s", logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the client had no answer 30 s after Close returned:\n%s", logs)
	}
}

// TestCloseCutsAStreamV2: a version 2 response streaming when Close
// aborts its invocation (testdata/fluid's ?flood writes until a write
// fails) is cut, never ended cleanly: its writes fail from the abort on,
// so what the client has is not the whole response.
func TestCloseCutsAStreamV2(t *testing.T) {
	requireGo(t)
	logs := &syncBuffer{}
	h, handler, _, err := newHost(host.Config{Dir: "../testdata/fluid", Logger: newLogger(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeHost(h)
	srv := httptest.NewServer(handler)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/api/sleep?flood")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
		t.Fatalf("the stream's first chunk: %v", err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		read <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want context.DeadlineExceeded", err)
	}
	select {
	case err := <-read:
		if err == nil {
			t.Errorf("the stream ended cleanly after the shutdown's abort; want it cut")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the stream was still open 30 s after Close returned:\n%s", logs)
	}
	if !logHas(logs, "invocation stopped: the host is shutting down", resp.Header.Get(host.HeaderRequestID)) {
		t.Errorf("the aborted invocation is not logged as stopped by the shutdown:\n%s", logs)
	}
}
