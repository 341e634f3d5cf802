package host_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/internal/jsruntime"
)

// JavaScript and TypeScript functions (testdata/js), bundled with esbuild
// and run by the embedded QuickJS runtime: only Go is needed.

func TestJSExampleHello(t *testing.T) {
	url := examples(t)
	r := get(t, url+"/api/ts/hello")
	if r.status != 200 || r.body != "Hello from Vercel!" || r.header.Get("Content-Type") != "text/plain;charset=UTF-8" {
		t.Errorf("GET /api/ts/hello = %d %q %q", r.status, r.body, r.header.Get("Content-Type"))
	}
	r = do(t, "POST", url+"/api/ts/hello", strings.NewReader("x"))
	if r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /api/ts/hello = %d, Allow %q; want 405, GET, HEAD", r.status, r.header.Get("Allow"))
	}
	// The Go hello beside it is untouched.
	if r := get(t, url+"/api/hello"); r.status != 200 || strings.TrimSpace(r.body) != "Hello from wfn!" {
		t.Errorf("GET /api/hello = %d %q", r.status, r.body)
	}
}

func TestJSHandlerShapes(t *testing.T) {
	h, srv, logs := serve(t, host.Config{Dir: "../testdata/js"})
	for _, fn := range h.Functions() {
		if strings.HasPrefix(fn.Source, "api/shapes/") && fn.Err != nil {
			t.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}

	// export function GET: status, headers, two Set-Cookie values, and
	// module scope kept by the warm instance between invocations.
	r := get(t, srv.URL+"/api/shapes/methods")
	if r.status != 201 || r.body != "GET 1" || r.header.Get("X-Greeting") != "hello GET" {
		t.Errorf("GET = %d %q %v", r.status, r.body, r.header)
	}
	if c := r.header.Values("Set-Cookie"); len(c) != 2 || c[0] != "a=1; Path=/" || c[1] != "b=2; Path=/" {
		t.Errorf("Set-Cookie = %q, want both values", c)
	}
	if r := get(t, srv.URL+"/api/shapes/methods"); r.body != "GET 2" {
		t.Errorf("second GET = %q, want GET 2 (the same warm instance)", r.body)
	}

	// HEAD is answered from GET, without a body.
	r = do(t, "HEAD", srv.URL+"/api/shapes/methods", nil)
	if r.status != 201 || r.body != "" || r.header.Get("X-Greeting") != "hello GET" {
		t.Errorf("HEAD = %d %q %v", r.status, r.body, r.header)
	}

	// An async POST reading a JSON body; Response.json.
	r = do(t, "POST", srv.URL+"/api/shapes/methods", strings.NewReader(`{"n":[1,2,3]}`), "Content-Type", "application/json")
	var got struct {
		Got  struct{ N []int }
		Type string
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || len(got.Got.N) != 3 || got.Type != "application/json" {
		t.Errorf("POST = %d %q (%v)", r.status, r.body, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" || r.header.Get("X-Method") != "POST" {
		t.Errorf("POST headers = %v", r.header)
	}

	// Methods not exported: 405 with Allow.
	for _, m := range []string{"PUT", "DELETE", "PATCH", "OPTIONS"} {
		r := do(t, m, srv.URL+"/api/shapes/methods", nil)
		if r.status != 405 || r.header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("%s = %d, Allow %q; want 405, GET, HEAD, POST", m, r.status, r.header.Get("Allow"))
		}
	}

	// export default { async fetch(request) }: any method; URL,
	// URLSearchParams, text(), TextEncoder, TextDecoder, queueMicrotask.
	text := "héllo wörld ✓"
	r = do(t, "PUT", srv.URL+"/api/shapes/fetch?q=a%20b", strings.NewReader(text), "User-Agent", "wfn-test")
	var f struct {
		Method, Path, Q, Agent string
		Bytes                  int
		Same                   bool
	}
	if err := json.Unmarshal([]byte(r.body), &f); err != nil {
		t.Fatalf("fetch = %d %q: %v", r.status, r.body, err)
	}
	if f.Method != "PUT" || f.Path != "/api/shapes/fetch" || f.Q != "a b" || f.Agent != "wfn-test" || f.Bytes != len(text) || !f.Same {
		t.Errorf("fetch = %+v", f)
	}
	// export const config = { runtime: "edge" } with a default function:
	// a Web handler (an Edge Function), every method, not (req, res).
	for _, m := range []string{"GET", "POST", "DELETE"} {
		r := do(t, m, srv.URL+"/api/shapes/edge?q=1", strings.NewReader("hi"))
		want := m + " /api/shapes/edge?q=1 hi"
		if m == "GET" {
			want = "GET /api/shapes/edge?q=1 "
		}
		if r.status != 200 || r.body != want || r.header.Get("X-Runtime") != "edge" {
			t.Errorf("%s edge = %d %q %v, want 200 %q", m, r.status, r.body, r.header, want)
		}
	}

	// A .tsx file is a function too (Vercel's api/**/*.tsx), its JSX compiled.
	if r := get(t, srv.URL+"/api/shapes/page?name=Ada"); r.status != 200 || r.body != `<p class="greeting">Hello Ada!</p>` {
		t.Errorf("GET /api/shapes/page = %d %q", r.status, r.body)
	}

	// console.log and console.error are log lines of the invocation.
	id := r.header.Get("X-Vercel-Id")
	eventually(t, "console lines in the log", func() bool {
		s := logs.String()
		return strings.Contains(s, `msg="fetch PUT /api/shapes/fetch { q: \"a b\" }"`) && strings.Contains(s, "msg=\"to stderr\"") && strings.Contains(s, id)
	})
}

// TestJSRandom checks that instances started from one snapshot do not
// share Math.random's sequence, and crypto's shapes.
func TestJSRandom(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/js", Isolation: host.IsolationInvocation})
	type sample struct {
		AtLoad, Random float64
		UUID           string
		Values         []uint32
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[float64]bool{}
	seenUUID, seenValues := map[string]bool{}, map[string]bool{}
	for i := 0; i < 3; i++ {
		r := get(t, srv.URL+"/api/shapes/random")
		var s sample
		if err := json.Unmarshal([]byte(r.body), &s); err != nil {
			t.Fatalf("GET = %d %q: %v", r.status, r.body, err)
		}
		if seen[s.Random] {
			t.Errorf("Math.random() = %v twice from fresh instances", s.Random)
		}
		seen[s.Random] = true
		// crypto's randomness is the host's (WASI random_get): no state
		// of the snapshot's is shared either.
		values := fmt.Sprint(s.Values)
		if seenUUID[s.UUID] || seenValues[values] {
			t.Errorf("crypto gave %s or %s twice from fresh instances", s.UUID, values)
		}
		seenUUID[s.UUID], seenValues[values] = true, true
		if s.Random < 0 || s.Random >= 1 || !uuid.MatchString(s.UUID) || len(s.Values) != 4 {
			t.Errorf("sample = %+v", s)
		}
	}
}

// TestJSBadFunctions serves testdata/jsbad: the bad input, each
// failing alone while its neighbour (api/ok.ts) serves on.
func TestJSBadFunctions(t *testing.T) {
	// ShowBuildErrors, as wfn dev sets it: the error page shows why a
	// function failed to load.
	h, srv, logs := serve(t, host.Config{Dir: "../testdata/jsbad", ShowBuildErrors: true})
	loadErrors := map[string]string{
		// A syntax error is a load error with file:line:col (esbuild's).
		"api/bad/syntax.ts": `api/bad/syntax.ts:2:30: Expected ")" but found ";"`,
		// An exception at module scope: the runtime evaluates the bundle
		// when the function loads, and the host tells its position in
		// the user's files (the helper that threw, in another file), the
		// message, and the stack.
		"api/bad/loadthrow.ts": "cannot load api/bad/loadthrow.ts:\n" +
			"api/bad/_required.ts:3:38: Error: thrown at load: WFN_UNSET_SETTING is not set\n" +
			"    at required (api/bad/_required.ts:3:38)\n" +
			"    at <anonymous> (api/bad/loadthrow.ts:5:22)",
		// A module without a handler, a top-level await that never
		// settles, an infinite loop and a top-level await on a 10-minute
		// timer at module scope (both stopped at the function's
		// maxDuration).
		"api/bad/nohandler.ts": "api/bad/nohandler.ts: TypeError: the module exports no handler",
		// A file with only a comment, and an empty one, as a new file is
		// while it is being written: esbuild bundles them into nothing.
		"api/bad/empty.ts":       "cannot load api/bad/empty.ts:\napi/bad/empty.ts: TypeError: the module exports no handler",
		"api/bad/blank.ts":       "cannot load api/bad/blank.ts:\napi/bad/blank.ts: TypeError: the module exports no handler",
		"api/bad/loadpending.ts": "api/bad/loadpending.ts: its top-level await never settles",
		"api/bad/loadloop.ts":    "cannot load api/bad/loadloop.ts: evaluating its module took longer than its maxDuration (1s)",
		"api/bad/loadsleep.ts":   "cannot load api/bad/loadsleep.ts: evaluating its module took longer than its maxDuration (1s)",
	}
	for _, fn := range h.Functions() {
		want, bad := loadErrors[fn.Source]
		switch {
		case !bad && fn.Err != nil:
			t.Errorf("%s: %v", fn.Source, fn.Err)
		case bad && (fn.Err == nil || !strings.Contains(fn.Err.Error(), want)):
			t.Errorf("%s: err = %v, want it to hold %q", fn.Source, fn.Err, want)
		}
		var le *jsruntime.LoadError
		if fn.Source == "api/bad/loadthrow.ts" && (!errors.As(fn.Err, &le) || le.Position != "api/bad/_required.ts:3:38") {
			t.Errorf("loadthrow.ts: err = %#v, want a *jsruntime.LoadError at api/bad/_required.ts:3:38", fn.Err)
		}
	}
	for fn, want := range loadErrors {
		r := get(t, srv.URL+"/"+strings.TrimSuffix(fn, ".ts"))
		wantError(t, r, 500, host.CodeInvocationFailed)
		if want = strings.SplitN(want, "\n", 3)[1%len(strings.SplitN(want, "\n", 3))]; !strings.Contains(r.body, want) {
			t.Errorf("the error page of %s does not show %q:\n%s", fn, want, r.body)
		}
	}
	eventually(t, "the load errors in the log", func() bool {
		return logHas(logs, "function failed to load", "api/bad/_required.ts:3:38: Error: thrown at load")
	})
	// A partial start is a warning, not news.
	eventually(t, "the summary of a partial start at level WARN", func() bool {
		return logHas(logs, "level=WARN", `msg="functions loaded"`, "failed=")
	})
	okRuns := 0
	ok := func(after string) {
		t.Helper()
		okRuns++
		if r := get(t, srv.URL+"/api/ok"); r.status != 200 || r.body != "ok "+itoa(okRuns) {
			t.Errorf("after %s, GET /api/ok = %d %q, want ok %d from the warm instance", after, r.status, r.body, okRuns)
		}
	}
	ok("the load errors")

	// An exception in a handler: 500, and the JS stack in the log with
	// the request id, its frames in the user's file.
	r := get(t, srv.URL+"/api/bad/throws")
	wantError(t, r, 500, host.CodeInvocationFailed)
	id := r.header.Get("X-Vercel-Id")
	eventually(t, "the stack trace in the log", func() bool {
		return logHas(logs, "Uncaught exception: Error: boom from a handler", id) &&
			logHas(logs, "at deep (api/bad/throws.ts:2:26)", id) &&
			logHas(logs, "at GET (api/bad/throws.ts:7:3)", id) &&
			logHas(logs, "level=ERROR", "invocation failed: uncaught exception", id)
	})
	// The runtime's abort after the exception is no news to a JS author.
	if logHas(logs, "level=ERROR", "wasm", id) {
		t.Errorf("the invocation's error line names the runtime's wasm trap:\n%s", logs)
	}
	if strings.Contains(logs.String(), "bundle.js:") {
		t.Errorf("the log names positions in the bundle, not in the user's files:\n%s", logs)
	}

	// A handler that returns something else than a Response: 500, and
	// the log says so.
	r = get(t, srv.URL+"/api/bad/notresponse")
	wantError(t, r, 500, host.CodeInvocationFailed)
	eventually(t, "the reason in the log", func() bool {
		return logHas(logs, "the GET handler returned an object (Object), not a Response", r.header.Get("X-Vercel-Id"))
	})

	// Runaway recursion: a 500, and the host serves on. Either QuickJS's
	// own check throws a catchable InternalError first, logged with a
	// short stack, or the host's call stack limit (1 MiB, as the host
	// counts frames: engine.MaxStack) traps the instance first, logged as
	// a stack overflow; today the host's limit comes first on both engines.
	wantError(t, get(t, srv.URL+"/api/bad/recurse"), 500, host.CodeInvocationFailed)
	eventually(t, "the stack overflow in the log", func() bool {
		s := logs.String()
		return strings.Contains(s, "InternalError: stack overflow") && strings.Contains(s, "more frames") ||
			strings.Contains(s, "invocation failed: stack overflow")
	})
	if n := strings.Count(logs.String(), "at down (api/bad/recurse.ts"); n > 30 {
		t.Errorf("the log holds %d frames of the recursion, want it cut short", n)
	}
	// The instance that overflowed is discarded, and its memory with it.
	eventually(t, "the overflowed instance closed", func() bool {
		for _, fs := range h.Stats().Functions {
			if fs.Source == "api/bad/recurse.ts" {
				return fs.Live == 0 && fs.MemoryBytes == 0
			}
		}
		return false
	})
	ok("the recursion")

	// An infinite loop and a promise that never settles: 504 at
	// maxDuration (1 s in testdata/jsbad/vercel.json).
	wantError(t, get(t, srv.URL+"/api/bad/loop"), 504, host.CodeInvocationTimeout)
	wantError(t, get(t, srv.URL+"/api/bad/pending"), 504, host.CodeInvocationTimeout)
	ok("the timeouts")
}

// TestJSBundleCache checks that a bundle is reused while its files are
// unchanged, and rebuilt when an imported file changes.
func TestJSBundleCache(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, "api", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("v.ts", `import { v } from "./_v"; export const GET = () => new Response(v);`)
	write("_v.ts", `export const v: string = "one";`)
	cache := t.TempDir()
	_, srv, _ := serve(t, host.Config{Dir: dir, CacheDir: cache})
	if r := get(t, srv.URL+"/api/v"); r.body != "one" {
		t.Fatalf("GET /api/v = %d %q", r.status, r.body)
	}
	bundles := func() int {
		m, _ := filepath.Glob(filepath.Join(cache, "build-js", "*.js"))
		return len(m)
	}
	if n := bundles(); n != 1 {
		t.Fatalf("%d bundles cached, want 1", n)
	}

	// Unchanged: the cached bundle serves; changed import: a new bundle.
	_, srv, _ = serve(t, host.Config{Dir: dir, CacheDir: cache})
	if r := get(t, srv.URL+"/api/v"); r.body != "one" || bundles() != 1 {
		t.Errorf("unchanged: GET = %q with %d bundles, want one and 1", r.body, bundles())
	}
	write("_v.ts", `export const v: string = "two";`)
	_, srv, _ = serve(t, host.Config{Dir: dir, CacheDir: cache})
	if r := get(t, srv.URL+"/api/v"); r.body != "two" || bundles() != 2 {
		t.Errorf("changed: GET = %q with %d bundles, want two and 2", r.body, bundles())
	}
}

// TestJSAllocationBomb: a handler that allocates without end gets a 500
// (QuickJS's out-of-memory InternalError once the 128 MB limit refuses
// to grow the memory, logged as uncaught with the request id), the
// instance is discarded and its memory comes back, and the function and
// its neighbour serve on.
func TestJSAllocationBomb(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, "api/bomb.ts", `
let kept: string[] = [];
export function GET(request: Request) {
  if (new URL(request.url).searchParams.has("ok")) return new Response("ok " + kept.length);
  let s = "x".repeat(1 << 20);
  for (;;) kept.push(s + kept.length); // 1 MiB more each time, all kept
}
`)
	writeConfig(t, dir, "api/ok.ts", `export const GET = () => new Response("fine");`)
	writeConfig(t, dir, "vercel.json", `{"functions": {"api/bomb.ts": {"memory": 128}}}`)
	h, srv, logs := serve(t, host.Config{Dir: dir})
	r := get(t, srv.URL+"/api/bomb")
	wantError(t, r, 500, host.CodeInvocationFailed)
	eventually(t, "the out-of-memory failure in the log", func() bool {
		return logHas(logs, "Uncaught exception: InternalError: out of memory", r.header.Get("X-Vercel-Id"))
	})
	bombMemory := func() uint64 {
		for _, fs := range h.Stats().Functions {
			if fs.Source == "api/bomb.ts" {
				return fs.MemoryBytes
			}
		}
		t.Fatal("api/bomb.ts is not in Stats")
		return 0
	}
	if r := get(t, srv.URL+"/api/bomb?ok"); r.status != 200 || r.body != "ok 0" {
		t.Errorf("after the bomb, GET /api/bomb?ok = %d %q, want a fresh instance", r.status, r.body)
	}
	if r := get(t, srv.URL+"/api/ok"); r.status != 200 || r.body != "fine" {
		t.Errorf("after the bomb, GET /api/ok = %d %q", r.status, r.body)
	}
	// The bombed instance is gone: what the function holds now is one
	// fresh instance's memory, far below the 128 MB it reached.
	if m := bombMemory(); m == 0 || m > 32<<20 {
		t.Errorf("api/bomb.ts holds %d bytes after the bomb, want the fresh instance's only (over 0, under 32 MiB)", m)
	}
}

// TestJSReloadThrowsAtLoad: a function edited to throw at module load
// fails to load on Reload as a syntax error does: its former version
// serves on, and Functions reports the new version's error with the
// file:line:col in the user's file; fixed, it serves again.
func TestJSReloadThrowsAtLoad(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, "api/v.ts", `export const GET = () => new Response("one");`)
	h, srv, _ := serve(t, host.Config{Dir: dir})
	if r := get(t, srv.URL+"/api/v"); r.body != "one" {
		t.Fatalf("GET /api/v = %d %q", r.status, r.body)
	}
	reload := func(src string) host.Function {
		t.Helper()
		writeConfig(t, dir, "api/v.ts", src)
		if err := h.Reload(t.Context(), "api/v.ts"); err != nil {
			t.Fatal(err)
		}
		for _, fn := range h.Functions() {
			if fn.Source == "api/v.ts" {
				return fn
			}
		}
		t.Fatal("api/v.ts is gone")
		return host.Function{}
	}
	fn := reload("const n: number = 2;\nif (n > 1) throw new RangeError(`n is ${n}`);\nexport const GET = () => new Response('two');\n")
	if fn.Err != nil || fn.ReloadErr == nil || !strings.Contains(fn.ReloadErr.Error(), "api/v.ts:2:22: RangeError: n is 2") {
		t.Errorf("after a throwing edit: Err %v, ReloadErr %v; want the former version serving and api/v.ts:2:22", fn.Err, fn.ReloadErr)
	}
	if r := get(t, srv.URL+"/api/v"); r.body != "one" {
		t.Errorf("after a throwing edit, GET /api/v = %d %q, want the former version's one", r.status, r.body)
	}
	if fn := reload(`export const GET = () => new Response("three");`); fn.Err != nil || fn.ReloadErr != nil {
		t.Errorf("fixed: Err %v, ReloadErr %v", fn.Err, fn.ReloadErr)
	}
	if r := get(t, srv.URL+"/api/v"); r.body != "three" {
		t.Errorf("fixed, GET /api/v = %d %q, want three", r.status, r.body)
	}
}

// TestJSNoContentTypeSniffing: a JavaScript response without a
// Content-Type goes out without one, as Node.js and the Fetch Standard
// send it (a string body gets Fetch's text/plain), fresh and from the CDN
// cache. net/http would sniff "text/html" from the first bytes, and a
// browser would run the body as a page.
func TestJSNoContentTypeSniffing(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	const page = "<html><script>alert(1)</script>"
	writeConfig(t, dir, "api/node.js", `export default function (req, res) { res.end("`+page+`"); }`)
	writeConfig(t, dir, "api/bytes.ts", `export function GET() {
  return new Response(new TextEncoder().encode("`+page+`"), { headers: { "Cache-Control": "s-maxage=60" } });
}`)
	writeConfig(t, dir, "api/stream.ts", `export const config = { runtime: "edge" };
export default function () {
  return new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("`+page+`")); c.close(); } }));
}`)
	writeConfig(t, dir, "api/text.ts", `export const GET = () => new Response("`+page+`");`)
	writeConfig(t, dir, "api/typed.ts", `export const GET = () => new Response("`+page+`", { headers: { "Content-Type": "text/html" } });`)
	_, srv, _ := serve(t, host.Config{Dir: dir})
	for _, c := range []struct{ path, want string }{
		{"/api/node", ""},
		{"/api/bytes", ""},
		{"/api/bytes", ""}, // a HIT
		{"/api/stream", ""},
		{"/api/text", "text/plain;charset=UTF-8"},
		{"/api/typed", "text/html"},
	} {
		r := get(t, srv.URL+c.path)
		got, sent := r.header["Content-Type"]
		if r.status != 200 || r.body != page || c.want == "" && sent || c.want != "" && (len(got) != 1 || got[0] != c.want) {
			t.Errorf("GET %s = %d %q, Content-Type %q (sent: %v), want 200, the page and Content-Type %q (%q: none)",
				c.path, r.status, r.body, got, sent, c.want, "")
		}
	}
	if r := get(t, srv.URL+"/api/bytes"); r.header.Get("X-Vercel-Cache") != "HIT" {
		t.Errorf("GET /api/bytes a third time: X-Vercel-Cache %q, want HIT (the test covers the CDN cache's copy)", r.header.Get("X-Vercel-Cache"))
	}
}

// TestJSNodeEnv: a JavaScript function's NODE_ENV is Config.NodeEnv,
// production by default as on Vercel's deployments, unless its
// environment sets it (.env, Config.Env, the function's env). Other
// guests get none (TestEnvironmentLayers).
func TestJSNodeEnv(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    host.Config
		dotenv string
		fnEnv  string
		want   string
	}{
		{name: "default", want: "production"},
		{name: "development", cfg: host.Config{NodeEnv: "development"}, want: "development"},
		{name: ".env", cfg: host.Config{NodeEnv: "development"}, dotenv: "NODE_ENV=test\n", want: "test"},
		{name: "Env", cfg: host.Config{Env: map[string]string{"NODE_ENV": "staging"}}, want: "staging"},
		{name: "function env", fnEnv: "preview", want: "preview"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeConfig(t, dir, "api/env.ts", "export function GET() { return new Response(String(process.env.NODE_ENV)); }\n")
			if tc.dotenv != "" {
				writeConfig(t, dir, ".env", tc.dotenv)
			}
			if tc.fnEnv != "" {
				writeConfig(t, dir, "vercel.json", `{"functions": {"api/env.ts": {"env": {"NODE_ENV": "`+tc.fnEnv+`"}}}}`)
			}
			tc.cfg.Dir = dir
			_, srv, _ := serve(t, tc.cfg)
			if r := get(t, srv.URL+"/api/env"); r.status != 200 || r.body != tc.want {
				t.Errorf("NODE_ENV = %d %q, want %q", r.status, r.body, tc.want)
			}
		})
	}
}
