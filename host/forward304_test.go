package host_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
