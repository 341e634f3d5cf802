package host_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

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
