package host_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wfn-dev/wfn/host"
)

// TestForwardNotModifiedWithContentLength: an origin that revalidates
// with a 304 carrying the Content-Length of the selected representation
// (RFC 9110 section 8.6) and no body, through a Go guest that forwards
// with wfnhttp.Transport (testdata/httpcache's api/[kind]/[id]): the
// client gets the 304 and its validator, and no body. (net/http's server
// never sends Content-Length on a 304, which RFC 9110 allows.)
func TestForwardNotModifiedWithContentLength(t *testing.T) {
	requireGo(t)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "no-store")
		if r.Header.Get("If-None-Match") == `"v1"` {
			// net/http's server drops Content-Length from a 304: the
			// head is written by hand, as node's http module (the
			// suite's origin) writes it.
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			buf.WriteString("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nCache-Control: no-store\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
			if err := buf.Flush(); err != nil {
				t.Errorf("writing the 304: %v", err)
			}
			return
		}
		w.Write([]byte("hello"))
	}))
	t.Cleanup(origin.Close)
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "httpcache"))
	if err != nil {
		t.Fatal(err)
	}
	_, srv, _ := serve(t, host.Config{Dir: dir, Env: map[string]string{"ORIGIN_URL": origin.URL}})

	if r := get(t, srv.URL+"/api/test/a"); r.status != http.StatusOK || r.body != "hello" {
		t.Fatalf("GET = %d %q, want 200 \"hello\"", r.status, r.body)
	}
	r := do(t, http.MethodGet, srv.URL+"/api/test/a", nil, "If-None-Match", `"v1"`)
	if r.status != http.StatusNotModified {
		t.Fatalf("conditional GET = %d (body %q, x-wfn-error %q), want 304", r.status, r.body, r.header.Get("X-Wfn-Error"))
	}
	if got := r.header.Get("ETag"); got != `"v1"` {
		t.Errorf("ETag = %q, want %q", got, `"v1"`)
	}
	if r.body != "" {
		t.Errorf("body = %q, want none", r.body)
	}
}

// TestCDNRewriteKeyAndLocation: testdata/httpcache's vercel.json rewrites
// /test/... to the forwarding function under /api/test/...; the CDN cache
// keys the rewritten request by its destination (Vercel's CDN routes
// before it looks in a cache), so the direct URL shares the entry, a
// purge by path names the destination's path, a successful DELETE drops
// the entry of its URL, and under the RFC 9111 rules the Location of an
// unsafe request's response, a client URL that is rewritten, invalidates
// the destination's entry (RFC 9111 section 4.4).
func TestCDNRewriteKeyAndLocation(t *testing.T) {
	requireGo(t)
	var runs atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/test/x":
			w.Header().Set("Location", "/test/x/target")
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodDelete && r.URL.Path == "/test/x/target":
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodGet && r.URL.Path == "/test/x/target":
			w.Header().Set("Cache-Control", "max-age=600")
			fmt.Fprintf(w, "target %d", runs.Add(1))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(origin.Close)
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "httpcache"))
	if err != nil {
		t.Fatal(err)
	}
	_, srv, _ := serve(t, host.Config{Dir: dir, CDNRules: "rfc9111", Env: map[string]string{"ORIGIN_URL": origin.URL}})
	target := srv.URL + "/test/x/target"

	wantCDN(t, rawGet(t, target), "MISS", "target 1")
	wantCDN(t, rawGet(t, target), "HIT", "target 1")
	wantCDN(t, rawGet(t, srv.URL+"/api/test/x/target"), "HIT", "target 1")

	if r := do(t, http.MethodPost, srv.URL+"/test/x", strings.NewReader("abc")); r.status != http.StatusCreated {
		t.Fatalf("POST = %d %q, want 201", r.status, r.body)
	}
	wantCDN(t, rawGet(t, target), "MISS", "target 2")
	wantCDN(t, rawGet(t, target), "HIT", "target 2")

	// A successful unsafe request drops what is stored for its own URL.
	if r := do(t, http.MethodDelete, target, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE = %d %q, want 204", r.status, r.body)
	}
	wantCDN(t, rawGet(t, target), "MISS", "target 3")
	wantCDN(t, rawGet(t, target), "HIT", "target 3")

	purge(t, srv.URL, `{"srcImages": ["/test/x/target"]}`, 200)
	wantCDN(t, rawGet(t, target), "HIT", "target 3")
	purge(t, srv.URL, `{"srcImages": ["/api/test/x/target"]}`, 200)
	wantCDN(t, rawGet(t, target), "STALE", "target 3")
}
