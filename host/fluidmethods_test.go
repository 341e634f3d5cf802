package host_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// testdata/fluidmethods serves api/methods, guests/api/methods' per-method
// exports (GET, POST, no catch-all) written as for ABI version 1, which
// wfn.json's "fluid": true builds for version 2 (gobuild.TagFluid). The
// host registers each export's handler once per instance and serves every
// method as version 1 does: GET, HEAD from GET, POST, 405 with Allow for
// the others; many GETs are held at once on one instance.
func TestFluidMethodExports(t *testing.T) {
	requireGo(t)
	h, srv, _ := serve(t, host.Config{Dir: "../testdata/fluidmethods"})
	url := srv.URL + "/api/methods"
	call := func(method, query string) response {
		t.Helper()
		return do(t, method, url+query, nil)
	}

	for _, tc := range []struct {
		method string
		status int
		body   string
		allow  string
	}{
		{http.MethodGet, 200, "GET ok", ""},
		{http.MethodPost, 200, "POST ok", ""},
		{http.MethodHead, 200, "", ""},
		{http.MethodPut, 405, "", "GET, HEAD, POST"},
		{http.MethodDelete, 405, "", "GET, HEAD, POST"},
	} {
		r := call(tc.method, "")
		if r.status != tc.status || (tc.status == 200 && r.body != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.method, r.status, r.body, tc.status, tc.body)
		}
		// HEAD has GET's Content-Length (RFC 9110 section 9.3.2).
		if cl := r.header.Get("Content-Length"); tc.method == http.MethodHead && cl != "6" {
			t.Errorf("HEAD: Content-Length %q, want GET's 6", cl)
		}
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s: Allow %q, want %q", tc.method, got, tc.allow)
		}
	}

	// Many GETs held at once, on one instance; each URL differs, or the
	// CDN cache would collapse them into one.
	const n = 30
	var wg sync.WaitGroup
	results := make([]string, n)
	release := sync.OnceFunc(func() { call(http.MethodGet, "?op=release") })
	t.Cleanup(func() { release(); wg.Wait() }) // when the test fails early
	for i := range n {
		wg.Go(func() {
			_, body, err := testkit.Get(context.Background(), fmt.Sprintf("%s?op=hold&i=%d", url, i))
			if err != nil {
				body = err.Error()
			}
			results[i] = body
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := call(http.MethodGet, "?op=held").body
		if body == fmt.Sprint(n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s invocations held, want %d", body, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A POST among them is served at once.
	if r := call(http.MethodPost, ""); r.status != 200 || r.body != "POST ok" {
		t.Errorf("POST while %d GETs are held: %d %q", n, r.status, r.body)
	}
	release()
	wg.Wait()
	for i, r := range results {
		if r != "released" {
			t.Errorf("held GET %d: %q, want released", i, r)
		}
	}

	// Each export ran once, at the registration of the one instance.
	if body := call(http.MethodGet, "?op=registered").body; body != "GET 1 POST 1" {
		t.Errorf("registrations: %q, want \"GET 1 POST 1\"", body)
	}

	// A panic fails its invocation only, as under version 1: the platform's
	// 500 before the head, a cut response after it.
	if r := call(http.MethodGet, "?op=panic"); r.status != 500 || r.header.Get("X-Wfn-Error") != "FUNCTION_INVOCATION_FAILED" {
		t.Errorf("panic: %d %q (x-wfn-error %q), want 500 FUNCTION_INVOCATION_FAILED", r.status, r.body, r.header.Get("X-Wfn-Error"))
	}
	if code, body, err := testkit.Get(t.Context(), url+"?op=streampanic"); err == nil {
		t.Errorf("panic while streaming: %d %q, want a cut response", code, body)
	}
	if r := call(http.MethodGet, ""); r.status != 200 || r.body != "GET ok" {
		t.Errorf("after the panics: %d %q", r.status, r.body)
	}
	for _, fs := range h.Stats().Functions {
		if strings.HasPrefix(fs.Source, "api/methods") && fs.ColdStarts != 1 {
			t.Errorf("%s: %d instances made, want 1", fs.Source, fs.ColdStarts)
		}
	}
}

// api/mixed, a GET export beside a catch-all (catchall's wfn_handle),
// built for ABI version 2: each method reaches the handler version 1
// would call, and none is answered 405.
func TestFluidMethodExportsWithCatchAll(t *testing.T) {
	requireGo(t)
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/fluidmethods"})
	for _, tc := range []struct{ method, body string }{
		{http.MethodGet, "GET export"},
		{http.MethodHead, ""},
		{http.MethodPut, "catch-all PUT"},
		{http.MethodDelete, "catch-all DELETE"},
	} {
		r := do(t, tc.method, srv.URL+"/api/mixed", nil)
		if r.status != 200 || r.body != tc.body {
			t.Errorf("%s: %d %q, want 200 %q", tc.method, r.status, r.body, tc.body)
		}
	}
}
