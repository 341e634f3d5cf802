package host_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
)

// The Node.js handler shape, export default function handler(req, res),
// and @vercel/functions (testdata/js/api/node, api/vercel).

func TestJSNodeShape(t *testing.T) {
	h, srv, logs := serve(t, host.Config{Dir: "../testdata/js"})
	for _, fn := range h.Functions() {
		if (strings.HasPrefix(fn.Source, "api/node/") || strings.HasPrefix(fn.Source, "api/vercel/")) && fn.Err != nil {
			t.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	url := srv.URL

	t.Run("stream", func(t *testing.T) {
		resp, err := http.Get(url + "/api/node/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.TransferEncoding == nil || resp.TransferEncoding[0] != "chunked" {
			t.Errorf("Transfer-Encoding = %v, want chunked (res.write streams)", resp.TransferEncoding)
		}
		if v := resp.Header.Values("X-Multi"); len(v) != 2 || v[0] != "a" || v[1] != "b" {
			t.Errorf("X-Multi = %q", v)
		}
		var lines []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if strings.Join(lines, ",") != "one,two,three" {
			t.Errorf("body lines = %q", lines)
		}
		// HEAD: the same head, no body.
		if r := do(t, "HEAD", url+"/api/node/stream", nil); r.status != 200 || r.body != "" || len(r.header.Values("X-Multi")) != 2 {
			t.Errorf("HEAD = %d %q %v", r.status, r.body, r.header)
		}
	})

	t.Run("writeHead", func(t *testing.T) {
		r := do(t, "GET", url+"/api/node/head?a=1", nil, "X-Test", "hi")
		if r.status != 202 || r.body != "GET /api/node/head?a=1 hi" || r.header.Get("X-Seen") != "set true x-before" || r.header.Get("X-Before") != "set" {
			t.Errorf("GET = %d %q %v", r.status, r.body, r.header)
		}
	})

	t.Run("redirect", func(t *testing.T) {
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for path, want := range map[string]int{"/api/node/redirect": 307, "/api/node/redirect?permanent=1": 308} {
			resp, err := noFollow.Get(url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want || resp.Header.Get("Location") != "/elsewhere" {
				t.Errorf("%s = %d, Location %q; want %d /elsewhere", path, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
	})

	t.Run("commonjs", func(t *testing.T) {
		r := do(t, "POST", url+"/api/node/cjs", strings.NewReader("x"))
		if r.status != 201 || r.body != `{"shape":"commonjs","method":"POST"}` || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("POST = %d %q %q", r.status, r.body, r.header.Get("Content-Type"))
		}
	})

	t.Run("send", func(t *testing.T) {
		for _, tt := range []struct{ kind, body, ctype string }{
			{"", "<p>hi</p>", "text/html; charset=utf-8"},
			{"typed", "typed", "text/plain; charset=utf-8"},
			{"bytes", "hi", "application/octet-stream"},
			{"number", "42", "application/json; charset=utf-8"},
		} {
			r := get(t, url+"/api/node/send?kind="+tt.kind)
			if r.status != 200 || r.body != tt.body || r.header.Get("Content-Type") != tt.ctype {
				t.Errorf("send %q = %d %q %q; want %q %q", tt.kind, r.status, r.body, r.header.Get("Content-Type"), tt.body, tt.ctype)
			}
		}
		if r := get(t, url+"/api/node/send?kind=none"); r.status != 204 || r.body != "" {
			t.Errorf("send 204 = %d %q", r.status, r.body)
		}
	})

	t.Run("bad", func(t *testing.T) {
		wantError(t, get(t, url+"/api/node/returns"), 500, host.CodeInvocationFailed)
		r := get(t, url+"/api/node/throws")
		wantError(t, r, 500, host.CodeInvocationFailed)
		id := r.header.Get("X-Vercel-Id")
		if r := get(t, url+"/api/node/after"); r.status != 200 || r.body != "ended" {
			t.Errorf("after = %d %q", r.status, r.body)
		}
		eventually(t, "the reasons in the log", func() bool {
			s := logs.String()
			return strings.Contains(s, "it returned an object (Response) without ending the response") &&
				strings.Contains(s, "Uncaught exception: Error: boom from a Node.js handler") && strings.Contains(s, "id="+id) &&
				strings.Contains(s, "Uncaught exception after the response ended: Error: thrown after the end")
		})
		wantError(t, get(t, url+"/api/node/never"), 504, host.CodeInvocationTimeout)
		if r := get(t, url+"/api/node/cjs"); r.status != 201 {
			t.Errorf("after the failures, GET /api/node/cjs = %d", r.status)
		}
	})
}

// TestJSNodeEchoExample sends bodies of each type to the Node.js-shaped
// echo example and checks what Vercel's helpers would have parsed.
func TestJSNodeEchoExample(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: tsExamples(t)})
	url := srv.URL
	type echo struct {
		Body    any               `json:"body"`
		Query   map[string]any    `json:"query"`
		Cookies map[string]string `json:"cookies"`
	}
	send := func(body, ctype string, header ...string) (response, echo) {
		t.Helper()
		h := append([]string{"Content-Type", ctype}, header...)
		if ctype == "" {
			h = header
		}
		r := do(t, "POST", url+"/api/ts/echo?a=1&a=2&b=x+y", strings.NewReader(body), h...)
		var e echo
		if r.status == 200 {
			if err := json.Unmarshal([]byte(r.body), &e); err != nil {
				t.Fatalf("%q: %v", r.body, err)
			}
		}
		return r, e
	}
	r, e := send(`{"n":[1,2]}`, "application/json; charset=utf-8", "Cookie", `s=1; t="q%20r"; s=2`)
	if r.header.Get("X-Method") != "POST" || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("headers = %v", r.header)
	}
	if b, _ := json.Marshal(e.Body); string(b) != `{"n":[1,2]}` {
		t.Errorf("JSON body = %s", b)
	}
	if q, _ := json.Marshal(e.Query); string(q) != `{"a":["1","2"],"b":"x y"}` {
		t.Errorf("query = %s", q)
	}
	if e.Cookies["s"] != "1" || e.Cookies["t"] != "q r" || len(e.Cookies) != 2 {
		t.Errorf("cookies = %v", e.Cookies)
	}
	if _, e := send("k=v&k=w&z=%41", "application/x-www-form-urlencoded"); e.Body.(map[string]any)["z"] != "A" {
		t.Errorf("urlencoded body = %v", e.Body)
	} else if k, _ := json.Marshal(e.Body.(map[string]any)["k"]); string(k) != `["v","w"]` {
		t.Errorf("urlencoded k = %s", k)
	}
	if _, e := send("plain text", "text/plain"); e.Body != "plain text" {
		t.Errorf("text body = %v", e.Body)
	}
	if _, e := send("\x00\x01\x02", "application/octet-stream"); e.Body.(map[string]any)["bytes"] != float64(3) {
		t.Errorf("bytes body = %v", e.Body)
	}
	if _, e := send("<x/>", "application/xml"); e.Body != nil {
		t.Errorf("xml body = %v, want undefined", e.Body)
	}
	if _, e := send("", "application/json"); e.Body == nil {
		t.Errorf("empty JSON body = %v, want {}", e.Body)
	}
	if r, _ := send("{bad", "application/json"); r.status != 400 || r.body != "Invalid JSON" {
		t.Errorf("bad JSON = %d %q, want 400 Invalid JSON", r.status, r.body)
	}
}

func TestJSVercelFunctions(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/js"})
	url := srv.URL

	t.Run("waitUntil", func(t *testing.T) {
		r := get(t, url+"/api/vercel/waituntil")
		var got struct {
			N                int
			Ran              bool
			DeadlineInFuture bool
		}
		if err := json.Unmarshal([]byte(r.body), &got); err != nil || !got.Ran || !got.DeadlineInFuture {
			t.Fatalf("GET = %d %q (%v): want the task run before the response and a deadline ahead", r.status, r.body, err)
		}
		id, n := r.header.Get("X-Vercel-Id"), itoa(got.N)
		eventually(t, "each rejection logged on its own, the other tasks done", func() bool {
			return logHas(logs, "waitUntil: a promise rejected: Error: first rejects "+n, id) &&
				logHas(logs, "waitUntil: a promise rejected: Error: second rejects "+n, id) &&
				logHas(logs, "third task done "+n, id) && logHas(logs, "nested task done "+n, id)
		})
		// The instance is healthy: the next request is served by it.
		if r := get(t, url+"/api/vercel/waituntil"); r.status != 200 {
			t.Errorf("second GET = %d %q", r.status, r.body)
		}
	})

	t.Run("maxDuration", func(t *testing.T) {
		r := get(t, url+"/api/vercel/forever")
		if r.status != 200 || r.body != "sent" {
			t.Fatalf("GET = %d %q, want the response before the work ends", r.status, r.body)
		}
		id := r.header.Get("X-Vercel-Id")
		eventually(t, "the work stopped at maxDuration", func() bool {
			return logHas(logs, "waitUntil task failed", id) && logHas(logs, "max_duration=1s", id)
		})
	})

	t.Run("module scope getCache", func(t *testing.T) {
		// getCache was called when the instance initialised; its methods,
		// called during requests, reach the Runtime Cache.
		key := "m" + itoa(freshID())
		want := `{"before":null,"after":{"at":"module scope"}}`
		if r := get(t, url+"/api/vercel/modcache?key="+key); r.status != 200 || r.body != want {
			t.Fatalf("GET = %d %s, want %s", r.status, r.body, want)
		}
		want = `{"before":{"at":"module scope"},"after":{"at":"module scope"}}`
		if r := get(t, url+"/api/vercel/modcache?key="+key); r.status != 200 || r.body != want {
			t.Errorf("second GET = %d %s, want %s", r.status, r.body, want)
		}
	})

	t.Run("context", func(t *testing.T) {
		r := do(t, "GET", url+"/api/vercel/context", nil, "X-Test", "ctx")
		want := `{"keys":["addCacheTag","cache","deadline","headers","purge","waitUntil"],"header":"ctx","deadline":"string"}`
		if r.status != 200 || r.body != want {
			t.Errorf("GET = %d %s, want %s", r.status, r.body, want)
		}
	})

	t.Run("cache", func(t *testing.T) {
		key := "k" + itoa(freshID())
		op := func(q string) string {
			t.Helper()
			r := get(t, url+"/api/vercel/cache?key="+key+"&"+q)
			if r.status != 200 {
				t.Fatalf("%s = %d %q", q, r.status, r.body)
			}
			return r.body
		}
		if got := op("op=get"); got != `{"got":null}` {
			t.Fatalf("before set: %s", got)
		}
		if got := op("op=set&v=one"); got != `{"got":{"v":"one"}}` {
			t.Fatalf("after set: %s", got)
		}
		if got := op("op=delete"); got != `{"got":null}` {
			t.Fatalf("after delete: %s", got)
		}
		op("op=set&v=two")
		if got := op("op=expire&tag=x,t2"); got != `{"got":null}` {
			t.Fatalf("after expireTag [x, t2]: %s", got)
		}
		if got := op("op=purge"); got != `{"got":null}` {
			t.Fatalf("purge: %s", got)
		}
		// dangerouslyDeleteByTag deletes the CDN's entries of the tag: the
		// next request runs the function again before it is answered
		// (REVALIDATED, Vercel's state for a tag-based deletion; not STALE).
		tag := "del-" + itoa(freshID())
		tagged := func() (string, string) {
			t.Helper()
			r := get(t, url+"/api/vercel/tagged?tag="+tag)
			return r.header.Get("X-Vercel-Cache"), r.body
		}
		c1, b1 := tagged()
		if c2, b2 := tagged(); c1 != "MISS" || c2 != "HIT" || b2 != b1 {
			t.Fatalf("tagged: %s %s then %s %s, want a MISS then a HIT of it", c1, b1, c2, b2)
		}
		if r := get(t, url+"/api/vercel/cache?op=deletetag&tag="+tag); r.status != 200 || r.body != "deleted" {
			t.Fatalf("deletetag = %d %q", r.status, r.body)
		}
		if c3, b3 := tagged(); c3 != "REVALIDATED" || b3 != `{"runs":2}` {
			t.Errorf("after dangerouslyDeleteByTag: %s %s, want REVALIDATED {\"runs\":2}", c3, b3)
		}
		if r := get(t, url+"/api/vercel/cache?op=badtag"); r.status != 400 || !strings.Contains(r.body, "cdn_add_cache_tag: EINVAL") {
			t.Errorf("an empty tag = %d %q, want 400 naming cdn_add_cache_tag: EINVAL", r.status, r.body)
		}
	})

	t.Run("srcImage", func(t *testing.T) {
		// An image path the CDN caches; invalidateBySrcImage, called by
		// a JS function, marks it stale: the next request is served the
		// stale image while the function refreshes it in the background.
		// dangerouslyDeleteBySrcImage deletes it: the next request runs
		// the function before it is answered.
		src := "/api/vercel/img/" + itoa(freshID()) + ".png"
		image := func() string {
			t.Helper()
			r := get(t, url+src)
			if r.status != 200 || r.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(r.body, "\x89PNG") {
				t.Fatalf("GET %s = %d %q %q, want the PNG", src, r.status, r.header.Get("Content-Type"), r.body)
			}
			return r.header.Get("X-Vercel-Cache") + " " + r.header.Get("X-Runs")
		}
		call := func(op, want string) {
			t.Helper()
			if r := get(t, url+"/api/vercel/cache?op="+op+"&src="+src); r.status != 200 || r.body != want {
				t.Fatalf("%s = %d %q, want 200 %q", op, r.status, r.body, want)
			}
		}
		first := image()
		runs := strings.TrimPrefix(first, "MISS ")
		if first == runs || image() != "HIT "+runs {
			t.Fatalf("the image is not cached: %s, then not a HIT of it", first)
		}
		call("invalidatesrc", "invalidated")
		if got := image(); got != "STALE "+runs {
			t.Fatalf("after invalidateBySrcImage: %s, want STALE %s", got, runs)
		}
		var refreshed string
		eventually(t, "the stale image refreshed", func() bool {
			got := image()
			refreshed = strings.TrimPrefix(got, "HIT ")
			return got != refreshed && refreshed != runs
		})
		call("deletesrc", "deleted")
		if got := image(); !strings.HasPrefix(got, "REVALIDATED ") || got == "REVALIDATED "+refreshed {
			t.Fatalf("after dangerouslyDeleteBySrcImage: %s, want REVALIDATED by a new run (not %s)", got, refreshed)
		}
		if got := image(); !strings.HasPrefix(got, "HIT ") {
			t.Errorf("after the deletion's revalidation: %s, want a HIT", got)
		}
	})
}

// realPackageFunction uses Vercel's npm package @vercel/functions. The
// package reads process.env when it loads: _process.ts gives it one where
// the runtime has none yet (process.env is the Web APIs' part of issue 13),
// and does nothing where it has.
const realPackageFunction = `import './_process';
import { waitUntil, getCache, addCacheTag, invalidateByTag, dangerouslyDeleteByTag, getDeadline } from '@vercel/functions';

// At module scope: the instance initialises before any request.
const cache = getCache({ namespace: 'real' });

export default {
  async fetch(request: Request) {
    const q = new URL(request.url).searchParams;
    const before = await cache.get(q.get('key')!);
    await cache.set(q.get('key')!, { n: 1 }, { ttl: 60, tags: ['real-tag'] });
    const after = await cache.get(q.get('key')!);
    await cache.expireTag('real-tag');
    const expired = await cache.get(q.get('key')!);
    await addCacheTag('real-a');
    await invalidateByTag(['real-b']);
    await dangerouslyDeleteByTag('real-c', { revalidationDeadlineSeconds: 5 });
    waitUntil(Promise.reject(new Error('real package task rejects')));
    waitUntil(Promise.resolve().then(() => console.log('real package task done')));
    return Response.json({ before, after, expired, deadline: getDeadline() instanceof Date });
  },
};
`

// TestJSVercelFunctionsPackage bundles the real npm package
// @vercel/functions with a function: it reads the request context the
// runtime installs. The function is first bundled without the package
// (wfn's own module), then with it once installed: the cached bundle of
// the first run is not reused.
func TestJSVercelFunctionsPackage(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "api", "real.ts"), []byte(realPackageFunction), 0o644); err != nil {
		t.Fatal(err)
	}
	shim := "(globalThis as any).process ??= { env: {} };\n"
	if err := os.WriteFile(filepath.Join(dir, "api", "_process.ts"), []byte(shim), 0o644); err != nil {
		t.Fatal(err)
	}
	bundles := func(marker string) int {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(cache, "build-js", "*.js"))
		n := 0
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), marker) {
				n++
			}
		}
		return n
	}
	check := func(what string) {
		t.Helper()
		_, srv, logs := serve(t, host.Config{Dir: dir, CacheDir: cache})
		key := "key" + itoa(freshID())
		r := get(t, srv.URL+"/api/real?key="+key)
		if want := `{"before":null,"after":{"n":1},"expired":null,"deadline":true}`; r.status != 200 || r.body != want {
			t.Fatalf("%s: GET = %d %q, want %s", what, r.status, r.body, want)
		}
		id := r.header.Get("X-Vercel-Id")
		eventually(t, what+": the tasks in the log", func() bool {
			return logHas(logs, "waitUntil: a promise rejected: Error: real package task rejects", id) && logHas(logs, "real package task done", id)
		})
		// The package's getCache, called at module scope, found the
		// runtime's cache when its methods ran, not its in-memory one.
		if strings.Contains(logs.String(), "in-memory cache") {
			t.Errorf("%s: the package fell back to its in-memory cache:\n%s", what, logs)
		}
	}

	check("wfn's own module")
	if n := bundles("wfn:@vercel/functions"); n != 1 {
		t.Fatalf("%d bundles with wfn's own module, want 1", n)
	}
	npmInstall(t, dir, "@vercel/functions@3.9.9")
	check("the npm package")
	if n := bundles("@vercel/request-context"); n != 1 {
		t.Fatalf("%d bundles with the npm package, want 1", n)
	}
}
