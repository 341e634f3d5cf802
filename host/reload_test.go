package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// TestReload drives Host.Reload as an embedding program would, with .wasm
// functions (cli's TestDev drives it through wfn dev's watcher).
func TestReload(t *testing.T) {
	dir := t.TempDir()
	wat := func(name string) string { return filepath.Join("..", "testdata", "wat", name+".wasm") }
	mustCopy(t, wat("hello"), filepath.Join(dir, "api", "hello.wasm"))
	h, srv, _ := serve(t, host.Config{Dir: dir, LoadInBackground: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	expect := func(path string, status int, body string) {
		t.Helper()
		if s, b := get(path); s != status || !strings.Contains(b, body) {
			t.Errorf("GET %s = %d %q, want %d with %q", path, s, b, status, body)
		}
	}
	reload := func(changed ...string) {
		t.Helper()
		if err := h.Reload(ctx, changed...); err != nil {
			t.Fatalf("Reload(%q): %v", changed, err)
		}
	}
	fn := func(source string) host.Function {
		t.Helper()
		for _, f := range h.Functions() {
			if f.Source == source {
				return f
			}
		}
		t.Fatalf("no function %s in %+v", source, h.Functions())
		return host.Function{}
	}

	// A request waits for its own function while the host loads.
	expect("/api/hello", 200, "Hello from wfn!")
	if err := h.Loaded(ctx); err != nil {
		t.Fatal(err)
	}

	// Edit: the same path, new code.
	mustCopy(t, wat("drain"), filepath.Join(dir, "api", "hello.wasm"))
	reload("api/hello.wasm")
	expect("/api/hello", 200, "drained")

	// Add one, by absolute path; a change elsewhere leaves hello as it is.
	mustCopy(t, wat("hello"), filepath.Join(dir, "api", "new.wasm"))
	reload(filepath.Join(dir, "api", "new.wasm"))
	expect("/api/new", 200, "Hello from wfn!")
	expect("/api/hello", 200, "drained")

	// Break one: its former version serves, and Functions says why.
	if err := os.WriteFile(filepath.Join(dir, "api", "hello.wasm"), []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	reload("api/hello.wasm")
	expect("/api/hello", 200, "drained")
	if f := fn("api/hello.wasm"); f.Err != nil || f.ReloadErr == nil {
		t.Errorf("broken hello: Err %v, ReloadErr %v; want nil and the compile error", f.Err, f.ReloadErr)
	}
	// A broken function with no former version answers 500.
	if err := os.WriteFile(filepath.Join(dir, "api", "bad.wasm"), []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	reload("api/bad.wasm")
	expect("/api/bad", 500, "failed to load")
	if f := fn("api/bad.wasm"); f.Err == nil {
		t.Errorf("bad.wasm loaded")
	}

	// Fix it.
	mustCopy(t, wat("hello"), filepath.Join(dir, "api", "hello.wasm"))
	reload("api/hello.wasm")
	expect("/api/hello", 200, "Hello from wfn!")
	if f := fn("api/hello.wasm"); f.Err != nil || f.ReloadErr != nil {
		t.Errorf("fixed hello: Err %v, ReloadErr %v; want none", f.Err, f.ReloadErr)
	}

	// Delete one.
	if err := os.Remove(filepath.Join(dir, "api", "new.wasm")); err != nil {
		t.Fatal(err)
	}
	reload("api/new.wasm")
	expect("/api/new", 404, "NOT_FOUND")

	// vercel.json: a reload with no paths reads everything again.
	if err := os.WriteFile(filepath.Join(dir, "vercel.json"), []byte(`{"redirects": [{"source": "/old", "destination": "/api/hello"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	reload()
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(srv.URL + "/old")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusPermanentRedirect {
		t.Errorf("GET /old after adding a redirect = %d, want a redirect", resp.StatusCode)
	}
	// An invalid one keeps the former configuration, and says so.
	if err := os.WriteFile(filepath.Join(dir, "vercel.json"), []byte(`{"nosuchkey": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(ctx, "vercel.json"); !errors.Is(err, host.ErrConfig) {
		t.Errorf("Reload with an invalid vercel.json = %v, want ErrConfig", err)
	}
	expect("/api/hello", 200, "Hello from wfn!")
}

// TestTieredReload reloads with Config.TieredReload: a function whose code
// is new is served at once from wazero's interpreter, with the same
// responses, and its compiled version takes its place when ready, while
// an invocation in flight on the interpreter ends there. Code compiled
// before goes straight to the compiler.
func TestTieredReload(t *testing.T) {
	if e := os.Getenv("WFN_TEST_ENGINE"); e != "" && e != "wazero" {
		t.Skipf("skipping: TieredReload is wazero's (WFN_TEST_ENGINE=%s)", e)
	}
	dir := t.TempDir()
	wat := func(name string) string { return filepath.Join("..", "testdata", "wat", name+".wasm") }
	mustCopy(t, wat("hello"), filepath.Join(dir, "api", "fn.wasm"))
	gate := make(chan struct{})
	h, srv, logs := serve(t, host.WithTierGate(host.Config{Dir: dir, TieredReload: true}, gate))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	interpreted := func() bool {
		t.Helper()
		fns := h.Functions()
		if len(fns) != 1 || fns[0].Err != nil {
			t.Fatalf("Functions() = %+v, want api/fn.wasm loaded", fns)
		}
		return fns[0].Interpreted
	}
	if r := get(t, srv.URL+"/api/fn"); r.body != "Hello from wfn!" || interpreted() {
		t.Fatalf("at start: GET /api/fn = %q, interpreted %v; want hello, compiled", r.body, interpreted())
	}

	// New code: hold answers "done" once the request body ends.
	mustCopy(t, wat("hold"), filepath.Join(dir, "api", "fn.wasm"))
	if err := h.Reload(ctx, "api/fn.wasm"); err != nil {
		t.Fatal(err)
	}
	if !interpreted() {
		t.Fatal("after an edit: the function is compiled already, want it on the interpreter while the gate is shut")
	}
	if r := get(t, srv.URL+"/api/fn"); r.status != 200 || r.body != "done" {
		t.Errorf("on the interpreter: GET /api/fn = %d %q, want 200 done", r.status, r.body)
	}
	// An invocation in flight on the interpreter: head sent, body open.
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/fn", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	close(gate)
	for end := time.Now().Add(time.Minute); interpreted(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("still on the interpreter a minute after the gate opened; log:\n%s", logs)
		}
	}
	if !strings.Contains(logs.String(), "function compiled") {
		t.Errorf("the log does not say the compiled code took over:\n%s", logs)
	}
	if r := get(t, srv.URL+"/api/fn"); r.status != 200 || r.body != "done" {
		t.Errorf("compiled: GET /api/fn = %d %q, want 200 done", r.status, r.body)
	}
	pw.Close()
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "done" {
		t.Errorf("the invocation in flight on the interpreter ended %q (%v), want done", b, err)
	}

	// Code this host compiled before (hello, at start) is compiled at
	// once, from the compilation cache.
	mustCopy(t, wat("hello"), filepath.Join(dir, "api", "fn.wasm"))
	if err := h.Reload(ctx, "api/fn.wasm"); err != nil {
		t.Fatal(err)
	}
	if r := get(t, srv.URL+"/api/fn"); r.body != "Hello from wfn!" || interpreted() {
		t.Errorf("back to hello: GET /api/fn = %q, interpreted %v; want hello, compiled", r.body, interpreted())
	}
}

// TestReloadWaits checks that a request for a function that Reload is
// rebuilding waits for the new code (wfn dev: save, then the next request
// gets the new code) rather than getting the former one meanwhile.
func TestReloadWaits(t *testing.T) {
	dir := t.TempDir()
	wat := func(name string) string { return filepath.Join("..", "testdata", "wat", name+".wasm") }
	mustCopy(t, wat("hello"), filepath.Join(dir, "api", "hello.wasm"))
	built, release := make(chan struct{}, 1), make(chan struct{})
	gate := func() {
		built <- struct{}{}
		<-release
	}
	h, srv, _ := serve(t, host.WithReloadGate(host.Config{Dir: dir}, gate))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	mustCopy(t, wat("drain"), filepath.Join(dir, "api", "hello.wasm"))
	reloaded := make(chan error, 1)
	go func() { reloaded <- h.Reload(ctx, "api/hello.wasm") }()
	<-built // the new code is built, not yet swapped in
	// The swap goes ahead a moment later; a request that did not wait
	// has its answer from the former code by then.
	time.AfterFunc(200*time.Millisecond, func() { release <- struct{}{} })
	resp, err := http.Get(srv.URL + "/api/hello")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "drained") {
		t.Errorf("GET /api/hello during its rebuild = %d %q, want 200 from the new code (drained)", resp.StatusCode, b)
	}
	if err := <-reloaded; err != nil {
		t.Fatal(err)
	}

	// A function being added: a request for it waits too, rather than
	// getting a 404.
	mustCopy(t, wat("hello"), filepath.Join(dir, "api", "new.wasm"))
	go func() { reloaded <- h.Reload(ctx, "api/new.wasm") }()
	<-built
	time.AfterFunc(200*time.Millisecond, func() { release <- struct{}{} })
	resp, err = http.Get(srv.URL + "/api/new")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Hello from wfn!") {
		t.Errorf("GET /api/new while it is added = %d %q, want 200 from it", resp.StatusCode, b)
	}
	if err := <-reloaded; err != nil {
		t.Fatal(err)
	}
}

// A directory with no functions serves (a static site is valid), and the
// log warns that it has none, naming the directory.
func TestNoFunctionsWarns(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>static</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, srv, logs := serve(t, host.Config{Dir: dir})
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET / = %d, want 200 from index.html", resp.StatusCode)
	}
	want := "no functions found in " + filepath.Join(dir, "api")
	if log := logs.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, want) {
		t.Errorf("log has no warning %q:\n%s", want, log)
	}
}

// TestReloadScripts checks that a Reload rebuilds the script functions a
// change goes into and no others: a function's own file, a module only one
// imports; and every one when it must: a new file that an import now
// resolves to, a file removed, a module a failed function needs.
func TestReloadScripts(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"api/a.ts":      `import { n } from "../lib/shared"; export function GET() { return new Response("a1:" + n); }`,
		"api/b.js":      `export function GET() { return new Response("b1"); }`,
		"api/c.ts":      `import { kind } from "../lib/util"; export function GET() { return new Response("c:" + kind); }`,
		"lib/shared.ts": `export const n: number = 1;`,
		"lib/util.js":   `export const kind = "js";`,
	})
	logs := &syncBuffer{}
	h, srv, _ := serve(t, host.Config{Dir: dir, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	expect := func(path, body string) {
		t.Helper()
		if r := get(t, srv.URL+path); r.status != http.StatusOK || r.body != body {
			t.Errorf("GET %s = %d %q, want 200 %q", path, r.status, r.body, body)
		}
	}
	// reload writes files, reloads with their paths and checks which
	// functions the Reload's log line says it rebuilt.
	reload := func(files map[string]string, rebuilt ...string) {
		t.Helper()
		var changed []string
		for p, src := range files {
			changed = append(changed, p)
			if src == "" {
				if err := os.Remove(filepath.Join(dir, p)); err != nil {
					t.Fatal(err)
				}
				delete(files, p)
			}
		}
		testkit.WriteFiles(t, dir, files)
		mark := len(logs.String())
		if err := h.Reload(ctx, changed...); err != nil {
			t.Fatalf("Reload(%q): %v", changed, err)
		}
		var got []string
		for _, line := range strings.Split(logs.String()[mark:], "\n") {
			var l struct{ Msg, Rebuilt string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "reloaded" && l.Rebuilt != "" {
				got = strings.Split(l.Rebuilt, ",")
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, rebuilt) {
			t.Errorf("Reload(%q) rebuilt %q, want %q", changed, got, rebuilt)
		}
	}
	if err := h.Loaded(ctx); err != nil {
		t.Fatal(err)
	}
	expect("/api/a", "a1:1")
	expect("/api/c", "c:js")

	reload(map[string]string{"api/a.ts": `import { n } from "../lib/shared"; export function GET() { return new Response("a2:" + n); }`}, "api/a.ts")
	expect("/api/a", "a2:1")
	reload(map[string]string{"api/b.js": `export function GET() { return new Response("b2"); }`}, "api/b.js")
	expect("/api/b", "b2")
	reload(map[string]string{"lib/shared.ts": `export const n: number = 2;`}, "api/a.ts")
	expect("/api/a", "a2:2")

	// A new file the import of c now resolves to (.ts before .js).
	reload(map[string]string{"lib/util.ts": `export const kind: string = "ts";`}, "api/a.ts", "api/b.js", "api/c.ts")
	expect("/api/c", "c:ts")
	// Removed, the import goes back to the .js.
	reload(map[string]string{"lib/util.ts": ""}, "api/a.ts", "api/b.js", "api/c.ts")
	expect("/api/c", "c:js")

	// b fails to build on a name lib/shared.js does not export yet; the
	// change that exports it, to a file only a's bundle was made of,
	// rebuilds b too.
	reload(map[string]string{"api/b.js": `import { m } from "../lib/shared"; export function GET() { return new Response("b3:" + m); }`})
	expect("/api/b", "b2")
	reload(map[string]string{"lib/shared.ts": `export const n: number = 2; export const m: number = 3;`}, "api/a.ts", "api/b.js")
	expect("/api/b", "b3:3")
	expect("/api/a", "a2:2")
}
