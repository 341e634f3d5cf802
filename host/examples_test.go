package host_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// The examples under guests/api, built from source and served for real.

func examples(t *testing.T) string {
	t.Helper()
	requireGo(t)
	_, srv, _ := serveShared(t, "../guests")
	return srv.URL
}

func TestExamples(t *testing.T) {
	url := examples(t)
	tests := []struct {
		name, method, path string
		status             int
		body               string
		header             [2]string // a response header to expect
	}{
		{"hello", "GET", "/api/hello", 200, "Hello from wfn!", [2]string{"Content-Type", "text/plain; charset=utf-8"}},
		{"greet", "GET", "/api/greet/Ada", 200, "Hello Ada!", [2]string{}},
		{"greet escaped", "GET", "/api/greet/Ada%20Lovelace", 200, "Hello Ada Lovelace!", [2]string{}},
		{"greet trailing slash", "GET", "/api/greet/Bob/", 200, "Hello Bob!", [2]string{}},
		{"methods GET", "GET", "/api/methods", 200, "GET ok", [2]string{}},
		{"methods POST", "POST", "/api/methods", 200, "POST ok", [2]string{}},
		{"methods PUT", "PUT", "/api/methods", 405, "", [2]string{"Allow", "GET, HEAD, POST"}},
		{"methods DELETE", "DELETE", "/api/methods", 405, "", [2]string{"Allow", "GET, HEAD, POST"}},
		// RFC 9110 section 9.1: HEAD is answered from GET, headers and no body.
		{"methods HEAD from GET", "HEAD", "/api/methods", 200, "", [2]string{"Content-Length", "6"}},
		{"methods HEAD from GET, same headers", "HEAD", "/api/methods", 200, "", [2]string{"Content-Type", "text/plain; charset=utf-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, url+tt.path, nil)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", r.status, tt.status, r.body)
			}
			if tt.method == "HEAD" {
				if r.body != "" {
					t.Errorf("HEAD body = %q, want none", r.body)
				}
			} else if tt.status == 405 {
				wantError(t, r, 405, host.CodeMethodNotAllowed)
			} else if strings.TrimSpace(r.body) != tt.body {
				t.Errorf("body = %q, want %q", r.body, tt.body)
			}
			if tt.header[0] != "" && r.header.Get(tt.header[0]) != tt.header[1] {
				t.Errorf("%s = %q, want %q", tt.header[0], r.header.Get(tt.header[0]), tt.header[1])
			}
		})
	}
}

func TestEchoStreams4MB(t *testing.T) {
	url := examples(t)
	payload := make([]byte, 4<<20)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	r := do(t, "POST", url+"/api/echo", bytes.NewReader(payload), "Content-Type", "application/x-test")
	if r.status != 200 {
		t.Fatalf("status = %d, body %q", r.status, r.body)
	}
	if r.body != string(payload) {
		t.Fatalf("echo returned %d bytes, not the %d sent byte for byte", len(r.body), len(payload))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-test" {
		t.Errorf("Content-Type = %q, want the request's", ct)
	}
}

func TestStreamFlushesEachChunk(t *testing.T) {
	url := examples(t)
	resp, err := http.Get(url + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	gotFirst := time.Now()
	if first != "chunk 1\n" {
		t.Fatalf("first line = %q", first)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if want := "chunk 2\nchunk 3\nchunk 4\nchunk 5\n"; string(rest) != want {
		t.Fatalf("rest = %q, want %q", rest, want)
	}
	// Four 200 ms pauses follow the first chunk, so if it was flushed on
	// its own the client held it at least 800 ms before the end. A
	// buffered response would deliver everything at once.
	if held := time.Since(gotFirst); held < 700*time.Millisecond {
		t.Errorf("first chunk arrived only %v before the end: not streamed", held)
	}
}

func TestNotFoundAndHealth(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "hello")})
	wantError(t, get(t, srv.URL+"/api/nope"), 404, host.CodeNotFound)
	wantError(t, get(t, srv.URL+"/"), 404, host.CodeNotFound)
	r := do(t, "GET", srv.URL+"/api/nope", nil, "Accept", "application/json")
	wantError(t, r, 404, host.CodeNotFound)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || !strings.HasPrefix(r.body, `{"error":{"code":"NOT_FOUND","status":404`) {
		t.Errorf("JSON error = %q (%s)", r.body, r.header.Get("Content-Type"))
	}
	if r := get(t, srv.URL+"/_wfn/healthz"); r.status != 200 {
		t.Errorf("healthz = %d", r.status)
	}
	if r := get(t, srv.URL+"/api/hello"); r.body != "Hello from wfn!" {
		t.Errorf("hello = %q", r.body)
	}
}

// The lifecycle examples, configured by guests/vercel.json.
func TestLifecycleExamples(t *testing.T) {
	requireGo(t)
	_, srv, logs := serveShared(t, "../guests")
	url := srv.URL
	t.Run("group", func(t *testing.T) {
		for _, path := range []string{"/api/slow", "/api/spin"} {
			t.Run(path, func(t *testing.T) {
				t.Parallel()
				start := time.Now()
				wantError(t, get(t, url+path), 504, host.CodeInvocationTimeout)
				// maxDuration is 2 s in vercel.json: never sooner.
				if took := time.Since(start); took < 2*time.Second {
					t.Errorf("504 after %v, before the 2 s maxDuration", took)
				} else if took > 8*time.Second {
					// slow sleeps 10 s: a sleep must end at the deadline.
					t.Errorf("504 after %v: the deadline did not stop the guest", took)
				}
			})
		}
		t.Run("/api/after", func(t *testing.T) {
			t.Parallel()
			r := get(t, url+"/api/after")
			if r.status != 200 || r.body != "scheduled" {
				t.Fatalf("after = %d %q", r.status, r.body)
			}
			eventually(t, "the task's log line", func() bool {
				return logHas(logs, "after-task done", r.header.Get("X-Vercel-Id"))
			})
		})
		t.Run("/api/cancel", func(t *testing.T) {
			t.Parallel()
			id := leave(t, url+"/api/cancel")
			eventually(t, "the abort and the cleanup task in the log", func() bool {
				return logHas(logs, "request aborted", id) && logHas(logs, "cleanup done", id)
			})
		})
		t.Run("/api/nocancel", func(t *testing.T) {
			t.Parallel()
			id := leave(t, url+"/api/nocancel")
			eventually(t, "the function to complete after the client left", func() bool {
				return logHas(logs, "msg=completed", id)
			})
		})
	})
}

// The request-context examples: ip, geo, region and proxy.
func TestRequestContextExamples(t *testing.T) {
	requireGo(t)
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("hang") {
			<-r.Context().Done()
			return
		}
		w.Header().Set("X-Backend", "yes")
		w.WriteHeader(207)
		w.Write([]byte("backend says " + r.Method + " " + r.URL.RawQuery))
	})
	_, srv, _ := serve(t, host.Config{Dir: "../guests", Region: "sfo1", Env: map[string]string{"BACKEND_URL": be.URL}})

	if r := get(t, srv.URL+"/api/ip"); r.body != "Your ip is 127.0.0.1" {
		t.Errorf("ip = %q", r.body)
	}
	if r := get(t, srv.URL+"/api/geo"); !strings.Contains(r.body, `"region":"sfo1"`) || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("geo = %q (%s)", r.body, r.header.Get("Content-Type"))
	}
	if r := get(t, srv.URL+"/api/region"); r.body != "Hello from sfo1" {
		t.Errorf("region = %q", r.body)
	}
	r := get(t, srv.URL+"/api/proxy?q=1")
	if r.status != 207 || r.header.Get("X-Backend") != "yes" || r.body != "backend says GET q=1" {
		t.Errorf("proxy = %d %v %q", r.status, r.header, r.body)
	}
	for len(be.requests) > 0 {
		<-be.requests
	}
	// The client leaves while the backend is still thinking: the proxy's
	// outbound connection closes (supportsCancellation in vercel.json).
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/proxy?hang", nil)
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitForConn(t, be)
	for len(be.closed) > 0 {
		<-be.closed
	}
	left := time.Now()
	cancel()
	closed := waitClosed(t, be)
	t.Logf("the backend saw its connection close %v after the client left", closed.Sub(left))
}
