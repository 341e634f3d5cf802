package host_test

import (
	"bufio"
	"bytes"
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
	_, srv, _ := serve(t, host.Config{Dir: "../guests"})
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
		{"methods PUT", "PUT", "/api/methods", 405, "", [2]string{"Allow", "GET, POST"}},
		{"methods DELETE", "DELETE", "/api/methods", 405, "", [2]string{"Allow", "GET, POST"}},
		{"methods HEAD is not GET", "HEAD", "/api/methods", 405, "", [2]string{"Allow", "GET, POST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, url+tt.path, nil)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", r.status, tt.status, r.body)
			}
			if tt.method == "HEAD" {
				if got := r.header.Get("X-Wfn-Error"); got != host.CodeMethodNotAllowed {
					t.Errorf("x-wfn-error = %q", got)
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
