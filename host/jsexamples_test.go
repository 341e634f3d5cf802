package host_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// The TypeScript examples under guests/api/ts, ported from the seed
// documents, served beside the Go examples.

// tsExamples copies guests/api/ts and guests/vercel.json into a directory
// of their own: tests of the TypeScript examples serve it rather than
// ../guests, whose Go functions take minutes to build and compile.
func tsExamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "api", "ts"), os.DirFS("../guests/api/ts")); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile("../guests/vercel.json")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "vercel.json"), cfg, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestJSExamplesRequestContext(t *testing.T) {
	requireGo(t)
	_, srv, logs := serve(t, host.Config{Dir: "../guests", Region: "sfo1"})
	url := srv.URL
	if r := get(t, url+"/api/ts/region"); r.body != "Hello from sfo1" {
		t.Errorf("region = %d %q", r.status, r.body)
	}
	if r := get(t, url+"/api/ts/ip"); r.body != "Your ip is 127.0.0.1" {
		t.Errorf("ip = %d %q", r.status, r.body)
	}
	r := get(t, url+"/api/ts/geo")
	var geo map[string]any
	if err := json.Unmarshal([]byte(r.body), &geo); err != nil || geo["region"] != "sfo1" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("geo = %d %q (%s)", r.status, r.body, r.header.Get("Content-Type"))
	}
	for path, want := range map[string]string{"/api/ts/greet/Ada": "Hello Ada!", "/api/ts/greet/Ada%20Lovelace": "Hello Ada Lovelace!"} {
		if r := get(t, url+path); r.status != 200 || r.body != want || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s = %d %q %q, want %q", path, r.status, r.body, r.header.Get("Content-Type"), want)
		}
	}
	r = get(t, url+"/api/ts/after")
	if r.status != 200 || r.body != "scheduled" {
		t.Fatalf("after = %d %q", r.status, r.body)
	}
	eventually(t, "the task's log line", func() bool {
		return logHas(logs, "after-task done for /api/ts/after", r.header.Get("X-Vercel-Id"))
	})
	// The Go examples of the same names are untouched.
	if r := get(t, url+"/api/greet/Ada"); r.body != "Hello Ada!" {
		t.Errorf("Go greet = %q", r.body)
	}
}

func TestJSExamplesRuntimeCache(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: tsExamples(t)})
	expire := func() {
		t.Helper()
		if r := get(t, srv.URL+"/api/ts/expire?tag=example-tag"); r.status != 200 || r.body != `{"expired":"example-tag"}` {
			t.Fatalf("/api/ts/expire = %d %q", r.status, r.body)
		}
	}
	fetch := func() cacheAnswer {
		t.Helper()
		r := get(t, srv.URL+"/api/ts/cache")
		var a cacheAnswer
		if r.status != 200 || json.Unmarshal([]byte(r.body), &a) != nil {
			t.Fatalf("/api/ts/cache = %d %q", r.status, r.body)
		}
		return a
	}
	expire() // the Runtime Cache is shared by the tests of this binary
	first := fetch()
	if first.Hit {
		t.Fatalf("first request was a hit: %+v", first)
	}
	if second := fetch(); !second.Hit || string(second.Value) != string(first.Value) {
		t.Fatalf("second request = %+v, want a hit of %s", second, first.Value)
	}
	expire()
	if third := fetch(); third.Hit || string(third.Value) == string(first.Value) {
		t.Fatalf("after expireTag: %+v, want a miss with a new value", third)
	}
	if r := get(t, srv.URL+"/api/ts/expire"); r.status != 400 {
		t.Errorf("expire without a tag = %d %q", r.status, r.body)
	}
}

func TestJSExamplesCDN(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: tsExamples(t)})
	fetch := func(id int) product {
		t.Helper()
		r := get(t, fmt.Sprintf("%s/api/ts/product?id=%d", srv.URL, id))
		var p product
		if r.status != 200 || json.Unmarshal([]byte(r.body), &p) != nil || p.ID != id {
			t.Fatalf("/api/ts/product?id=%d = %d %q", id, r.status, r.body)
		}
		if r.header.Get("Vercel-CDN-Cache-Control") != "" {
			t.Errorf("Vercel-CDN-Cache-Control reached the client: %v", r.header)
		}
		p.Cache = r.header.Get("X-Vercel-Cache")
		return p
	}
	want := func(p product, cache string, runs int) {
		t.Helper()
		if p.Cache != cache || p.Runs != runs {
			t.Fatalf("got %s with runs %d, want %s with runs %d", p.Cache, p.Runs, cache, runs)
		}
	}
	one, two := freshID(), freshID()
	want(fetch(one), "MISS", 1)
	want(fetch(one), "HIT", 1)
	want(fetch(two), "MISS", 1)
	// invalidateByTag of the tag addCacheTag set: stale once, then
	// refreshed in the background.
	if r := get(t, srv.URL+fmt.Sprintf("/api/ts/revalidate?tag=product-%d", one)); r.status != 200 || !strings.Contains(r.body, "revalidated") {
		t.Fatalf("/api/ts/revalidate = %d %q", r.status, r.body)
	}
	want(fetch(one), "STALE", 1)
	eventually(t, "the background refresh", func() bool {
		p := fetch(one)
		return p.Cache == "HIT" && p.Runs == 2
	})
	want(fetch(two), "HIT", 1)
	// The second tag of the list: every product.
	if r := get(t, srv.URL+"/api/ts/revalidate?tag=products"); r.status != 200 {
		t.Fatalf("/api/ts/revalidate = %d %q", r.status, r.body)
	}
	want(fetch(two), "STALE", 1)
	if r := do(t, http.MethodGet, srv.URL+"/api/ts/product?id=x", nil); r.status != 400 {
		t.Errorf("a bad id = %d %q", r.status, r.body)
	}
}

// TestJSExamplesProxy: the seed's proxy, abort-controller and
// cancel-with-cleanup examples relay a backend (BACKEND_URL) and, when the
// client goes away in the middle of the body, close the backend request;
// cancel-with-cleanup then tells the backend, under waitUntil.
func TestJSExamplesProxy(t *testing.T) {
	cancelled := make(chan struct{}, 8)
	gone := make(chan struct{}, 8)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/cancel" && r.Method == "POST":
			cancelled <- struct{}{}
			return
		case r.Header.Get("Authorization") != "Bearer hold":
			w.Header().Set("X-Backend", "yes")
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, "backend body, "+r.Header.Get("Authorization"))
			return
		}
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		gone <- struct{}{}
	})
	_, srv, _ := serve(t, host.Config{Dir: tsExamples(t), Env: map[string]string{"BACKEND_URL": up, "AUTH_TOKEN": "tok"}})
	for _, name := range []string{"proxy", "abort-controller", "cancel-with-cleanup"} {
		t.Run(name, func(t *testing.T) {
			r := get(t, srv.URL+"/api/ts/"+name)
			if r.status != 202 || r.body != "backend body, Bearer tok" || r.header.Get("X-Backend") != "yes" {
				t.Errorf("GET = %d %q %v", r.status, r.body, r.header)
			}
		})
	}
	// The same with a backend that holds its body back (for the token
	// "hold"): the client leaves after the first part.
	_, held, logs := serve(t, host.Config{Dir: tsExamples(t), Env: map[string]string{"BACKEND_URL": up, "AUTH_TOKEN": "hold"}})
	for _, name := range []string{"proxy", "abort-controller", "cancel-with-cleanup"} {
		t.Run(name+" cancelled", func(t *testing.T) {
			leaveAfter(t, held.URL+"/api/ts/"+name, "first")
			select {
			case <-gone:
			case <-time.After(30 * time.Second):
				t.Fatal("the backend request was not closed after the client left")
			}
			if name != "cancel-with-cleanup" {
				return
			}
			select {
			case <-cancelled:
			case <-time.After(30 * time.Second):
				t.Fatal("the cleanup did not reach the backend")
			}
		})
	}
	eventually(t, "the abort listeners' lines", func() bool {
		s := logs.String()
		return strings.Contains(s, "request aborted") && strings.Contains(s, "request aborted, cancelling pending task")
	})
}

// TestJSExamplesStream: the streamed example's lines come as a chunked
// body, in order.
func TestJSExamplesStream(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: tsExamples(t)})
	resp, err := http.Get(srv.URL + "/api/ts/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
	}
	body := bufio.NewReader(resp.Body)
	first, err := body.ReadString('\n')
	if err != nil || first != "chunk 1\n" {
		t.Fatalf("first line = %q, %v", first, err)
	}
	if resp.TransferEncoding == nil {
		t.Errorf("the response has a Content-Length, want it streamed")
	}
	rest, err := io.ReadAll(body)
	if err != nil || string(rest) != "chunk 2\nchunk 3\nchunk 4\nchunk 5\n" {
		t.Errorf("rest = %q, %v", rest, err)
	}
}

// Without BACKEND_URL, the TypeScript proxy examples answer 500 with a body
// that names the variable, as the Go proxy example does.
func TestJSExamplesProxyNoBackend(t *testing.T) {
	dir := t.TempDir()
	names := []string{"proxy", "abort-controller", "cancel-with-cleanup"}
	for _, f := range append([]string{"_backend"}, names...) {
		mustCopy(t, filepath.Join("..", "guests", "api", "ts", f+".ts"), filepath.Join(dir, "api", f+".ts"))
	}
	_, srv, _ := serve(t, host.Config{Dir: dir})
	for _, name := range names {
		r := get(t, srv.URL+"/api/"+name)
		if r.status != 500 || !strings.Contains(r.body, "BACKEND_URL is not set") {
			t.Errorf("GET /api/%s without BACKEND_URL = %d %q, want 500 naming BACKEND_URL", name, r.status, r.body)
		}
	}
}
